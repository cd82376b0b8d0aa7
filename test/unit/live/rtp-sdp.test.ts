import { describe, expect, it } from 'vitest';
import { buildLocalSdp, parseSdpSections, sectionIndexOf } from '../../../server/src/live/rtp-sdp.ts';

const CAMERA_SDP = [
  'v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=cam', 'c=IN IP4 0.0.0.0', 't=0 0', 'a=control:*',
  'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=Z0LgH9oBQBbpUgAAAwACAAADAGQeMGVA,aM4xUg==', 'a=framerate:25', 'a=control:trackID=0',
  'm=audio 0 RTP/AVP 8', 'a=control:trackID=1',
  'm=application 0 RTP/AVP 107', 'a=rtpmap:107 vnd.onvif.metadata/90000', 'a=control:trackID=2',
].join('\r\n');

describe('the SDP ffmpeg reads a camera\'s RTP with', () => {
  const sections = parseSdpSections(CAMERA_SDP);

  it('keeps each media section\'s payload type, encoding and attributes', () => {
    expect(sections.map((s) => [s.kind, s.payloadType, s.encoding, s.control])).toEqual([
      ['video', 96, 'H264', 'trackID=0'],
      ['audio', 8, 'PCMA', 'trackID=1'],
      ['other', 107, 'VND.ONVIF.METADATA', 'trackID=2'],
    ]);
    expect(sections[0]!.attributes).toEqual(['a=rtpmap:96 H264/90000', expect.stringContaining('sprop-parameter-sets=')]);
  });

  it('puts each kept section on its loopback port, nothing else of the camera', () => {
    const sdp = buildLocalSdp([sections[0]!, sections[1]!], [30000, 30002]);
    expect(sdp.split('\r\n')).toEqual([
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=hearing-recorder live', 'c=IN IP4 127.0.0.1', 't=0 0',
      'm=video 30000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', sections[0]!.attributes[1],
      'm=audio 30002 RTP/AVP 8',
      '',
    ]);
  });

  it('finds a track\'s section by its control URL, else by kind', () => {
    expect(sectionIndexOf(sections, { kind: 'audio', control: 'rtsp://192.0.2.10/stream/trackID=1' })).toBe(1);
    expect(sectionIndexOf(sections, { kind: 'video', control: 'trackID=0' })).toBe(0);
    expect(sectionIndexOf(sections, { kind: 'video', control: '' })).toBe(0);
    expect(sectionIndexOf(sections, { kind: 'other', control: 'nope' })).toBe(2);
  });
});
