import { authorizationHeader, parseChallenge } from './digest-auth.ts';
import { CameraProbeError } from './rtsp-describe.types.ts';
import type { CameraCredentials } from './camera-probe.types.ts';

/**
 * GET from a camera's web server with digest or basic authentication when challenged (snapshots),
 * bounded in time and size.
 */
export async function fetchFromCamera(
  url: string,
  credentials: CameraCredentials | null,
  options: { timeoutMs: number; maxBytes: number },
): Promise<{ body: Buffer; contentType: string }> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const get = (authorization?: string) =>
    fetch(url, { signal, redirect: 'error', headers: authorization ? { authorization } : {} }).catch((err: Error) => {
      throw err.name === 'TimeoutError'
        ? new CameraProbeError('timeout', `no answer within ${options.timeoutMs} ms`)
        : new CameraProbeError('unreachable', `cannot fetch from the camera: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    });
  let response = await get();
  if (response.status === 401 && credentials) {
    const challenge = parseChallenge(response.headers.get('www-authenticate') ?? undefined);
    await response.body?.cancel();
    if (challenge) {
      const path = new URL(url);
      response = await get(authorizationHeader(challenge, credentials, 'GET', `${path.pathname}${path.search}`));
    }
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new CameraProbeError('unauthorized', 'the camera refused the user name or password');
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CameraProbeError('protocol', `the camera answered ${response.status}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > options.maxBytes) throw new CameraProbeError('protocol', `the answer is larger than ${options.maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return { body: Buffer.concat(chunks), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
}
