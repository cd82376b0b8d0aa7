import type { AudioStreamInfo, VideoStreamInfo } from '../media/media-source.types.ts';
import { profileLevelId } from '../media/h264-nal.ts';

export const VIDEO_PT = 96;
export const AAC_PT = 97;
export const PCMA_PT = 8;

/** The SDP of one stream path: H.264 as track 0 and, if present, audio as track 1. */
export function buildSdp(o: { host: string; sessionId: string; name: string; video: VideoStreamInfo; audio: AudioStreamInfo | null }): string {
  const { video, audio } = o;
  const lines = [
    'v=0',
    `o=- ${o.sessionId} 1 IN IP4 ${o.host}`,
    `s=${o.name}`,
    `c=IN IP4 0.0.0.0`,
    't=0 0',
    'a=control:*',
    'a=range:npt=now-',
    `m=video 0 RTP/AVP ${VIDEO_PT}`,
    `a=rtpmap:${VIDEO_PT} H264/90000`,
    `a=fmtp:${VIDEO_PT} packetization-mode=1;profile-level-id=${profileLevelId(video.sps)};sprop-parameter-sets=${video.sps.toString('base64')},${video.pps.toString('base64')}`,
    `a=framerate:${video.fps}`,
    `a=x-dimensions:${video.width},${video.height}`,
    'a=control:trackID=0',
  ];
  if (audio?.codec === 'aac') {
    if (!audio.config) throw new TypeError('AAC audio needs its AudioSpecificConfig');
    lines.push(
      `m=audio 0 RTP/AVP ${AAC_PT}`,
      `a=rtpmap:${AAC_PT} mpeg4-generic/${audio.sampleRate}/${audio.channels}`,
      `a=fmtp:${AAC_PT} streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=${audio.config.toString('hex').toUpperCase()}`,
      'a=control:trackID=1',
    );
  } else if (audio?.codec === 'pcma') {
    lines.push(`m=audio 0 RTP/AVP ${PCMA_PT}`, `a=rtpmap:${PCMA_PT} PCMA/8000`, 'a=control:trackID=1');
  }
  return lines.join('\r\n') + '\r\n';
}
