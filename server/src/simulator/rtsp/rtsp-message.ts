/** RTSP 1.0 message framing on a TCP stream: requests (or responses) and interleaved binary data. */

export interface RtspMessage {
  kind: 'message';
  /** Request: [method, uri, version]; response: ['RTSP/1.0', status, reason]. */
  startLine: [string, string, string];
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface InterleavedFrame {
  kind: 'interleaved';
  channel: number;
  data: Buffer;
}

export class RtspMessageError extends Error {
  override readonly name = 'RtspMessageError';
}

const MAX_HEADER_BYTES = 16 * 1024;

/** Incremental parser: push() bytes, get complete messages and interleaved frames back. */
export class RtspMessageParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): (RtspMessage | InterleavedFrame)[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: (RtspMessage | InterleavedFrame)[] = [];
    for (;;) {
      if (this.buf.length === 0) break;
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) break;
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) break;
        out.push({ kind: 'interleaved', channel: this.buf[1]!, data: Buffer.from(this.buf.subarray(4, 4 + len)) });
        this.buf = this.buf.subarray(4 + len);
        continue;
      }
      // Tolerate stray CRLFs between messages.
      if (this.buf[0] === 0x0d || this.buf[0] === 0x0a) {
        this.buf = this.buf.subarray(1);
        continue;
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buf.length > MAX_HEADER_BYTES) throw new RtspMessageError('RTSP header too large');
        break;
      }
      const lines = this.buf.toString('utf8', 0, end).split('\r\n');
      const parts = (lines[0] ?? '').split(' ');
      if (parts.length < 3) throw new RtspMessageError(`bad start line: ${lines[0]}`);
      const startLine: [string, string, string] = [parts[0]!, parts[1]!, parts.slice(2).join(' ')];
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (!Number.isFinite(length) || length < 0 || length > 1 << 20) throw new RtspMessageError('bad Content-Length');
      if (this.buf.length < end + 4 + length) break;
      out.push({ kind: 'message', startLine, headers, body: Buffer.from(this.buf.subarray(end + 4, end + 4 + length)) });
      this.buf = this.buf.subarray(end + 4 + length);
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return out;
  }
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function formatResponse(status: number, headers: Record<string, string | number>, body?: string | Buffer): Buffer {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  let head = `RTSP/1.0 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (b.length) head += `Content-Length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(head + '\r\n'), b]);
}
