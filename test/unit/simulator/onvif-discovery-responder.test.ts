import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../server/src/shared/logger.ts';
import { CameraFaults } from '../../../server/src/simulator/faults.ts';
import { DiscoveryResponder, parseProbe, stableEndpoint } from '../../../server/src/simulator/onvif/discovery-responder.ts';

// A Probe as ONVIF Device Manager sends it: default namespaces, no dn: prefix on the envelope.
const probe = (types: string, scopes = '') =>
  '<?xml version="1.0" encoding="utf-8"?><Envelope xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns="http://www.w3.org/2003/05/soap-envelope">' +
  '<Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">uuid:84ede3de-7dec-11d0-c360-f01234567890</wsa:MessageID>' +
  '<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>' +
  '<wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header>' +
  `<Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>${types}</Types>${scopes ? `<Scopes>${scopes}</Scopes>` : ''}</Probe></Body></Envelope>`;

const responder = () =>
  new DiscoveryResponder({ host: '127.0.0.11', port: 0, xaddrs: ['http://127.0.0.11/onvif/device_service'], name: 'h1-wide', hardware: 'sim-720p', faults: new CameraFaults(), log: silentLogger() });

describe('WS-Discovery responder', () => {
  it('reads a Probe with default namespaces', () => {
    expect(parseProbe(probe('dn:NetworkVideoTransmitter'))).toEqual({
      messageId: 'uuid:84ede3de-7dec-11d0-c360-f01234567890',
      types: ['{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter'],
      scopes: [],
    });
    expect(parseProbe('<a/>')).toBeNull();
  });

  it.each([
    ['any type (empty Types)', probe(''), true],
    ['NetworkVideoTransmitter', probe('dn:NetworkVideoTransmitter'), true],
    ['a printer', probe('p:Printer').replace('<Envelope ', '<Envelope xmlns:p="http://example.com/print" '), false],
    ['our type scope', probe('', 'onvif://www.onvif.org/type/video_encoder'), true],
    ['our name scope, case-insensitive host', probe('', 'onvif://WWW.ONVIF.ORG/name/h1-wide'), true],
    ['a partial path segment', probe('', 'onvif://www.onvif.org/name/h1'), false],
    ['another location', probe('', 'onvif://www.onvif.org/location/elsewhere'), false],
  ])('answers a probe for %s: %s', (_what, xml, expected) => {
    expect(responder().matches(parseProbe(xml)!)).toBe(expected);
  });

  it('keeps a stable urn:uuid per camera', () => {
    expect(stableEndpoint('127.0.0.11/h1-wide')).toBe(stableEndpoint('127.0.0.11/h1-wide'));
    expect(stableEndpoint('127.0.0.11/h1-wide')).not.toBe(stableEndpoint('127.0.0.12/h1-wide'));
    expect(responder().endpoint).toBe(responder().endpoint);
  });

  it('closes twice without harm, even when never started', async () => {
    const r = responder();
    await r.close();
    await r.close();
  });
});
