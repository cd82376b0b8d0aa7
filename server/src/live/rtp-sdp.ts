/**
 * The SDP ffmpeg reads to receive a camera's RTP over loopback UDP: the camera's own media
 * descriptions (payload types, rtpmap, fmtp with sprop-parameter-sets or the AAC config), each on a
 * local port, everything else dropped.
 */

export interface SdpMediaSection {
  kind: 'video' | 'audio' | 'other';
  /** The first payload type of the `m=` line. */
  payloadType: number;
  /** Encoding name from rtpmap, upper case (H264, H265, MPEG4-GENERIC, PCMA, …). */
  encoding: string;
  control: string;
  /** The `a=rtpmap` and `a=fmtp` lines of that payload type. */
  attributes: string[];
}

export function parseSdpSections(sdp: string): SdpMediaSection[] {
  const out: SdpMediaSection[] = [];
  for (const section of sdp.split(/\r?\n(?=m=)/).slice(1)) {
    const lines = section.split(/\r?\n/).filter(Boolean);
    const m = /^m=(\w+) \d+(?:\/\d+)? [\w/]+ (\d+)/.exec(lines[0] ?? '');
    if (!m) continue;
    const pt = Number(m[2]);
    const rtpmap = lines.find((l) => l.startsWith(`a=rtpmap:${pt} `));
    const fmtp = lines.find((l) => l.startsWith(`a=fmtp:${pt} `));
    const control = lines.find((l) => l.startsWith('a=control:'))?.slice('a=control:'.length).trim() ?? '';
    out.push({
      kind: m[1] === 'video' ? 'video' : m[1] === 'audio' ? 'audio' : 'other',
      payloadType: pt,
      encoding: (/^a=rtpmap:\d+ ([^/\s]+)/.exec(rtpmap ?? '')?.[1] ?? staticEncoding(pt)).toUpperCase(),
      control,
      attributes: [rtpmap, fmtp].filter((l): l is string => l !== undefined),
    });
  }
  return out;
}

/** Static payload types (RFC 3551) that need no rtpmap. */
function staticEncoding(pt: number): string {
  return pt === 0 ? 'PCMU' : pt === 8 ? 'PCMA' : '';
}

/** An SDP for ffmpeg with `sections[i]` received on `ports[i]` (RTCP on port + 1). */
export function buildLocalSdp(sections: readonly SdpMediaSection[], ports: readonly number[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=hearing-recorder live', 'c=IN IP4 127.0.0.1', 't=0 0'];
  sections.forEach((s, i) => {
    lines.push(`m=${s.kind} ${ports[i]} RTP/AVP ${s.payloadType}`, ...s.attributes);
  });
  return `${lines.join('\r\n')}\r\n`;
}

/** Which section an RTP packet of a track belongs to: by control, else the first of its kind. */
export function sectionIndexOf(sections: readonly SdpMediaSection[], track: { kind: string; control: string }): number {
  if (track.control) {
    const byControl = sections.findIndex((s) => s.control && (s.control === track.control || track.control.endsWith(`/${s.control}`) || s.control.endsWith(`/${track.control}`)));
    if (byControl >= 0) return byControl;
  }
  return sections.findIndex((s) => s.kind === track.kind);
}
