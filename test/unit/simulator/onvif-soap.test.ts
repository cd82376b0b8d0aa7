import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseXml, XmlParseError } from '../../../server/src/shared/xml.ts';
import { HttpDigestAuth } from '../../../server/src/simulator/onvif/http-digest.ts';
import { envelope, FAULTS, faultEnvelope, faultStatus, NS, parseSoapRequest, SoapParseError } from '../../../server/src/simulator/onvif/soap.ts';

const require = createRequire(import.meta.url);
const { parseSOAPString } = require('onvif/lib/utils.js') as {
  parseSOAPString: (xml: string, callback: (error: Error | null, body: unknown) => void, statusCode: number) => void;
};
const { Cam } = require('onvif/lib/cam.js') as {
  Cam: new (o: { hostname: string; username: string; password: string; autoconnect: false }) => {
    digestAuth(challenges: string[], request: { method: string; path: string }): string;
  };
};

describe('XML reading', () => {
  it('resolves any prefix, and default namespaces, to the same namespace URI', () => {
    const a = parseXml('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"><SOAP-ENV:Body/></SOAP-ENV:Envelope>');
    const b = parseXml('<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>');
    expect([a.name, a.ns, a.children[0]!.ns]).toEqual(['Envelope', NS.env, NS.env]);
    expect([b.name, b.ns, b.children[0]!.ns]).toEqual(['Envelope', NS.env, NS.env]);
  });

  it('decodes entities, character references and CDATA, and skips comments and declarations', () => {
    const root = parseXml('<?xml version="1.0"?><!-- c --><a x="1 &amp; 2"><b>&lt;&#x4e2d;&#25991;&gt;</b><c><![CDATA[<raw & kept>]]></c></a>');
    expect(root.attributes.x).toBe('1 & 2');
    expect(root.children.map((c) => c.text)).toEqual(['<中文>', '<raw & kept>']);
  });

  it.each([
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b/>'],
    ['an undeclared prefix', '<x:a/>'],
    ['a DTD (no entity expansion attacks)', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
    ['two roots', '<a/><b/>'],
    ['nothing', '   '],
  ])('rejects %s', (_what, xml) => {
    expect(() => parseXml(xml)).toThrow(XmlParseError);
  });

  it('tolerates undeclared prefixes when asked (XML the onvif library stripped)', () => {
    expect(parseXml('<env:Envelope><env:Body/></env:Envelope>', { lenientPrefixes: true }).children[0]!.name).toBe('Body');
  });
});

describe('SOAP requests and faults', () => {
  it('selects the action from the first Body element with its namespace', () => {
    const { action } = parseSoapRequest(
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>' +
        '<trt:GetStreamUri xmlns:trt="http://www.onvif.org/ver10/media/wsdl"><trt:ProfileToken>sub</trt:ProfileToken></trt:GetStreamUri>' +
        '</s:Body></s:Envelope>',
    );
    expect([action.name, action.ns, action.children[0]!.text]).toEqual(['GetStreamUri', NS.trt, 'sub']);
  });

  it.each([
    ['SOAP 1.1', '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><A/></s:Body></s:Envelope>'],
    ['an empty body', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'],
    ['malformed XML', '<s:Envelope'],
  ])('refuses %s', (_what, xml) => {
    expect(() => parseSoapRequest(xml)).toThrow(SoapParseError);
  });

  it('builds a NotAuthorized fault that is well-formed SOAP 1.2, HTTP 400, and that the onvif library reports', async () => {
    const xml = faultEnvelope(FAULTS.notAuthorized);
    const root = parseXml(xml);
    const code = root.children[1]!.children[0]!.children[0]!;
    expect(code.children.map((c) => c.text)).toEqual(['env:Sender', '']);
    expect(code.children[1]!.children[0]!.text).toBe('ter:NotAuthorized');
    expect(faultStatus(FAULTS.notAuthorized)).toBe(400);
    expect(faultStatus(FAULTS.actionNotSupported)).toBe(500);
    const error = await new Promise<Error | null>((resolve) => parseSOAPString(xml, (e) => resolve(e), 400));
    expect(error?.message).toBe('ONVIF SOAP Fault: Sender not Authorized');
  });

  it('declares every prefix it uses in the envelope', () => {
    expect(() => parseXml(envelope('<tds:A><tt:B/><trt:C/><timg:D/><tptz:E/><ter:F/></tds:A>'))).not.toThrow();
  });
});

describe('HTTP digest for the snapshot', () => {
  const credentials = { username: 'admin', password: 'Cam-Pass.1' };

  it('accepts the onvif library\'s answer to its challenge, for that URI only', () => {
    const auth = new HttpDigestAuth('IP Camera');
    const cam = new Cam({ hostname: 'camera', ...credentials, autoconnect: false });
    const header = cam.digestAuth([auth.challenge()], { method: 'GET', path: '/onvif/snapshot.jpg' });
    expect(auth.verify(header, 'GET', '/onvif/snapshot.jpg', credentials)).toBe('ok');
    expect(auth.verify(header, 'GET', '/other.jpg', credentials)).toBe('denied');
    expect(auth.verify(header, 'GET', '/onvif/snapshot.jpg', { ...credentials, password: 'other' })).toBe('denied');
    expect(auth.verify(undefined, 'GET', '/onvif/snapshot.jpg', credentials)).toBe('denied');
  });

  it('refuses a nonce it did not issue', () => {
    const ours = new HttpDigestAuth('IP Camera');
    const theirs = new HttpDigestAuth('IP Camera');
    const cam = new Cam({ hostname: 'camera', ...credentials, autoconnect: false });
    const header = cam.digestAuth([theirs.challenge()], { method: 'GET', path: '/s.jpg' });
    expect(ours.verify(header, 'GET', '/s.jpg', credentials)).toBe('denied');
  });

  it('calls an expired nonce stale so the client can retry without asking the user', () => {
    const auth = new HttpDigestAuth('IP Camera', -1);
    const cam = new Cam({ hostname: 'camera', ...credentials, autoconnect: false });
    const header = cam.digestAuth([auth.challenge()], { method: 'GET', path: '/s.jpg' });
    expect(auth.verify(header, 'GET', '/s.jpg', credentials)).toBe('stale');
  });
});
