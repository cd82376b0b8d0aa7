import { describe, expect, it } from 'vitest';
import { buildProbe, parseProbeMatches, parseTarget, scopeValue } from '../../../server/src/cameras/discovery.ts';
import { parseProbe } from '../../../server/src/simulator/onvif/discovery-responder.ts';

// A ProbeMatches as a Hikvision camera sends it (prefixes and layout of real firmware).
const HIKVISION_PROBE_MATCHES = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:soapenc="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:wsadis="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
<env:Header>
<wsadis:MessageID>urn:uuid:58f8a2c4-1dd2-11b2-8a0c-c056e3b63ee4</wsadis:MessageID>
<wsadis:RelatesTo>urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a</wsadis:RelatesTo>
<wsadis:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsadis:To>
<wsadis:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsadis:Action>
<d:AppSequence InstanceId="1712345678" MessageNumber="3"></d:AppSequence>
</env:Header>
<env:Body>
<d:ProbeMatches>
<d:ProbeMatch>
<wsadis:EndpointReference><wsadis:Address>urn:uuid:3fa1fe68-b915-4053-a3e1-c056e3b63ee4</wsadis:Address></wsadis:EndpointReference>
<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/name/HIKVISION%20DS-2CD2T47G2-L onvif://www.onvif.org/location/city/hangzhou onvif://www.onvif.org/hardware/DS-2CD2T47G2-L</d:Scopes>
<d:XAddrs>http://192.168.1.64/onvif/device_service http://[fe80::c256:e3ff:feb6:3ee4]/onvif/device_service</d:XAddrs>
<d:MetadataVersion>10</d:MetadataVersion>
</d:ProbeMatch>
</d:ProbeMatches>
</env:Body>
</env:Envelope>`;

describe('WS-Discovery messages', () => {
  it('builds a Probe for NetworkVideoTransmitters that a responder reads back', () => {
    const xml = buildProbe('urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a');
    expect(parseProbe(xml)).toEqual({
      messageId: 'urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a',
      types: ['{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter'],
      scopes: [],
    });
    expect(xml).toContain('<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>');
    expect(xml).toContain('<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>');
  });

  it('reads a camera\'s ProbeMatches whatever its prefixes', () => {
    expect(parseProbeMatches(HIKVISION_PROBE_MATCHES)).toEqual({
      relatesTo: 'urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a',
      matches: [
        {
          endpoint: 'urn:uuid:3fa1fe68-b915-4053-a3e1-c056e3b63ee4',
          types: ['dn:NetworkVideoTransmitter', 'tds:Device'],
          xaddrs: ['http://192.168.1.64/onvif/device_service', 'http://[fe80::c256:e3ff:feb6:3ee4]/onvif/device_service'],
          scopes: [
            'onvif://www.onvif.org/type/video_encoder',
            'onvif://www.onvif.org/Profile/Streaming',
            'onvif://www.onvif.org/name/HIKVISION%20DS-2CD2T47G2-L',
            'onvif://www.onvif.org/location/city/hangzhou',
            'onvif://www.onvif.org/hardware/DS-2CD2T47G2-L',
          ],
        },
      ],
    });
  });

  it('ignores datagrams that are not ProbeMatches', () => {
    expect(parseProbeMatches(buildProbe('urn:uuid:x'))).toBeNull();
    expect(parseProbeMatches('not xml <')).toBeNull();
    expect(parseProbeMatches(HIKVISION_PROBE_MATCHES.replace(/<wsadis:RelatesTo>.*<\/wsadis:RelatesTo>/, ''))).toBeNull();
  });

  it('decodes name and hardware scopes', () => {
    const scopes = parseProbeMatches(HIKVISION_PROBE_MATCHES)!.matches[0]!.scopes;
    expect(scopeValue(scopes, 'name')).toBe('HIKVISION DS-2CD2T47G2-L');
    expect(scopeValue(scopes, 'hardware')).toBe('DS-2CD2T47G2-L');
    expect(scopeValue(scopes, 'nothing')).toBeUndefined();
  });

  it.each([
    ['192.168.1.64', { host: '192.168.1.64', port: 3702 }],
    ['127.0.0.11:13702', { host: '127.0.0.11', port: 13702 }],
    ['cam-1.court.local', { host: 'cam-1.court.local', port: 3702 }],
    ['[fe80::1]:3702', { host: 'fe80::1', port: 3702 }],
    ['::1', { host: '::1', port: 3702 }],
  ])('reads the target %s', (address, expected) => {
    expect(parseTarget(address)).toEqual(expected);
  });

  it.each(['', '127.0.0.1:0', '127.0.0.1:70000', 'a:b:c'])('refuses the target %j', (address) => {
    expect(() => parseTarget(address)).toThrow(TypeError);
  });
});
