import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseSoapRequest } from '../../../server/src/simulator/onvif/soap.ts';
import { passwordDigest, UsernameTokenVerifier } from '../../../server/src/simulator/onvif/ws-security.ts';

const require = createRequire(import.meta.url);
interface LibCam {
  timeShift: number | undefined;
  _passwordDigest(): { passdigest: string; nonce: string; timestamp: string };
  _envelopeHeader(): string;
  _envelopeFooter(): string;
}
const { Cam } = require('onvif/lib/cam.js') as {
  Cam: new (o: { hostname: string; username: string; password: string; autoconnect: false }) => LibCam;
};

const credentials = { username: 'admin', password: 'Cam-Pass.1' };
const DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const TEXT_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

function request(token: { username?: string; password: string; nonce: string; created: string; type?: string }) {
  const xml =
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>' +
    '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
    'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>' +
    `<wsse:Username>${token.username ?? credentials.username}</wsse:Username>` +
    `<wsse:Password Type="${token.type ?? DIGEST_TYPE}">${token.password}</wsse:Password>` +
    `<wsse:Nonce>${token.nonce}</wsse:Nonce><wsu:Created>${token.created}</wsu:Created>` +
    '</wsse:UsernameToken></wsse:Security></s:Header><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>';
  return parseSoapRequest(xml).header;
}

function signed(created: Date, password = credentials.password) {
  const nonce = randomBytes(16);
  const createdText = created.toISOString();
  return { password: passwordDigest(nonce, createdText, password), nonce: nonce.toString('base64'), created: createdText };
}

const at = (iso: string) => () => new Date(iso);

describe('WS-Security UsernameToken PasswordDigest', () => {
  it('computes the same digest as the onvif library and accepts its header', () => {
    const cam = new Cam({ hostname: 'camera', ...credentials, autoconnect: false });
    cam.timeShift = Date.now() - process.uptime() * 1000; // as after GetSystemDateAndTime
    const token = cam._passwordDigest();
    expect(passwordDigest(Buffer.from(token.nonce, 'base64'), token.timestamp, credentials.password)).toBe(token.passdigest);

    const xml = `${cam._envelopeHeader()}<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>${cam._envelopeFooter()}`;
    const verifier = new UsernameTokenVerifier({ now: () => new Date() });
    expect(verifier.verify(parseSoapRequest(xml).header, credentials)).toEqual({ ok: true, username: 'admin' });
  });

  it('matches a fixed vector: Base64(SHA1(nonce + created + password))', () => {
    // echo -n 'nonce-16-bytes!!2026-12-04T08:00:00.000Zsecret' | sha1sum | xxd -r -p | base64
    expect(passwordDigest(Buffer.from('nonce-16-bytes!!'), '2026-12-04T08:00:00.000Z', 'secret')).toBe('lr7nyWniIq+YXoA4bYVNXdZbQKA=');
  });

  it('accepts a fresh token judged by the camera clock, not the host clock', () => {
    const verifier = new UsernameTokenVerifier({ now: at('2030-01-01T00:00:00Z') });
    expect(verifier.verify(request(signed(new Date('2030-01-01T00:04:00Z'))), credentials).ok).toBe(true);
  });

  it.each([
    ['more than 5 min old', '2029-12-31T23:54:59Z'],
    ['more than 5 min ahead', '2030-01-01T00:05:01Z'],
  ])('rejects a token created %s as stale', (_what, created) => {
    const verifier = new UsernameTokenVerifier({ now: at('2030-01-01T00:00:00Z') });
    expect(verifier.verify(request(signed(new Date(created))), credentials)).toEqual({ ok: false, reason: 'stale' });
  });

  it('rejects a replayed nonce, but not a new one', () => {
    const verifier = new UsernameTokenVerifier({ now: () => new Date() });
    const token = signed(new Date());
    expect(verifier.verify(request(token), credentials).ok).toBe(true);
    expect(verifier.verify(request(token), credentials)).toEqual({ ok: false, reason: 'replayed' });
    expect(verifier.verify(request(signed(new Date())), credentials).ok).toBe(true);
  });

  it('does not let a forged token burn a nonce', () => {
    const verifier = new UsernameTokenVerifier({ now: () => new Date() });
    const token = signed(new Date());
    expect(verifier.verify(request({ ...token, password: signed(new Date(), 'guess').password }), credentials).ok).toBe(false);
    expect(verifier.verify(request(token), credentials).ok).toBe(true);
  });

  it.each([
    ['a wrong password', () => request(signed(new Date(), 'wrong')), 'bad-digest'],
    ['another user', () => request({ ...signed(new Date()), username: 'operator' }), 'unknown-user'],
    ['a plain-text password', () => request({ ...signed(new Date()), password: credentials.password, type: TEXT_TYPE }), 'not-digest'],
    ['no Security header', () => parseSoapRequest('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><X/></s:Body></s:Envelope>').header, 'missing'],
  ])('rejects %s', (_what, header, reason) => {
    const verifier = new UsernameTokenVerifier({ now: () => new Date() });
    expect(verifier.verify(header(), credentials)).toEqual({ ok: false, reason });
  });

  it('forgets the oldest nonces beyond its bound instead of growing without limit', () => {
    const verifier = new UsernameTokenVerifier({ now: () => new Date(), maxNonces: 2 });
    const first = signed(new Date());
    expect(verifier.verify(request(first), credentials).ok).toBe(true);
    expect(verifier.verify(request(signed(new Date())), credentials).ok).toBe(true);
    expect(verifier.verify(request(signed(new Date())), credentials).ok).toBe(true);
    // The first nonce fell out of the bounded memory: accepted again (the price of the bound).
    expect(verifier.verify(request(first), credentials).ok).toBe(true);
  });
});
