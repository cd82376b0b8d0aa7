import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { child, children, parseXml, path, XmlParseError, type XmlElement } from '../shared/xml.ts';
import {
  OnvifError,
  type OnvifClock,
  type OnvifConnectOptions,
  type OnvifDeviceInformation,
  type OnvifProfile,
  type OnvifPtzPreset,
} from './onvif-client.types.ts';

export * from './onvif-client.types.ts';

/**
 * The part of the `onvif` package's callback `Cam` we use, typed by reading lib/cam.js, media.js and
 * ptz.js (its own declarations type everything as `any`). Every method callback gets
 * `(error, linerased data, xml)`; we ignore the data and parse `xml` ourselves, because the library's
 * `linerase` turns digit-only strings into numbers (a serial number "0012" becomes 12, firmware
 * "5.50" becomes 5.5) and strips every xmlns declaration (so only local names are meaningful).
 */
type LibCallback = (error: Error | null, data: unknown, xml?: string) => void;

interface LibCamOptions {
  hostname: string;
  port: number;
  path: string;
  username: string;
  password: string;
  timeout: number;
  useSecure: boolean;
  autoconnect: false;
  preserveAddress: true;
}

interface LibCam {
  /** Camera clock minus process.uptime(), set once by GetSystemDateAndTime; dates WS-Security `Created`. */
  timeShift: number | undefined;
  /** Service paths learnt from GetServices / GetCapabilities, e.g. `uri.media.path`. */
  uri: Record<string, { path?: string | null } | undefined> | undefined;
  getSystemDateAndTime(callback: LibCallback): void;
  getServices(includeCapability: boolean, callback: LibCallback): void;
  getCapabilities(callback: LibCallback): void;
  getDeviceInformation(callback: LibCallback): void;
  getProfiles(callback: LibCallback): void;
  getStreamUri(options: { protocol: string; stream: string; profileToken: string }, callback: LibCallback): void;
  getSnapshotUri(options: { profileToken: string }, callback: LibCallback): void;
  getPresets(options: { profileToken: string }, callback: LibCallback): void;
  digestAuth(challenges: string[], request: { method: string; path: string }): string;
}

const require = createRequire(import.meta.url);
// The one untyped edge: lib/cam.js is CommonJS with `module.exports = { Cam }`.
const { Cam } = require('onvif/lib/cam.js') as { Cam: new (options: LibCamOptions) => LibCam };

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);
const DEFAULT_SNAPSHOT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The product's one adapter over the `onvif` package: a typed, time-bounded ONVIF Profile S client
 * (device and media services, PTZ presets). It never uses the library's Discovery (multicast) nor
 * its `connect()`, which also calls GetProfiles and GetVideoSources, swallows their errors as
 * warnings, and can throw from inside a socket callback ("Unrecognized configuration") when a
 * profile's source token matches no video source — that would crash the server.
 */
export class OnvifClient {
  private constructor(
    private readonly cam: LibCam,
    private readonly endpoint: string,
    private readonly options: OnvifConnectOptions,
  ) {}

  /**
   * Reads the camera clock (which WS-Security needs to date its tokens) and the service addresses.
   * Only the paths of the announced service URLs are used: host and port stay those of `url`, so a
   * camera behind NAT that announces its private address still works.
   */
  static async connect(options: OnvifConnectOptions): Promise<OnvifClient> {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(`not a URL: ${options.url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`an ONVIF device service URL is http: or https:, not ${parsed.protocol}`);
    }
    if (!(options.timeoutMs > 0)) throw new TypeError('timeoutMs must be positive');
    // The library pastes the user name into its XML unescaped and hashes the password as 'ascii'
    // (lib/cam.js _envelopeHeader, _passwordDigest): such credentials would fail as "wrong password".
    if (/[<>&"']/.test(options.username)) throw new TypeError('an ONVIF user name with < > & " or \' is not supported');
    if (/[^\x20-\x7e]/.test(options.password)) throw new TypeError('an ONVIF password must be printable ASCII');
    const secure = parsed.protocol === 'https:';
    const port = parsed.port ? Number(parsed.port) : secure ? 443 : 80;
    const cam = new Cam({
      hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      path: `${parsed.pathname}${parsed.search}` || '/onvif/device_service',
      username: options.username,
      password: options.password,
      // The library's socket idle timeout, so a hung request also ends on its side.
      timeout: options.timeoutMs,
      useSecure: secure,
      autoconnect: false,
      preserveAddress: true,
    });
    const client = new OnvifClient(cam, `${parsed.hostname}:${port}`, options);
    await client.call('GetSystemDateAndTime', (cb) => cam.getSystemDateAndTime(cb));
    try {
      await client.call('GetServices', (cb) => cam.getServices(false, cb));
    } catch (error) {
      // Cameras from before ONVIF 2.0 lack GetServices; GetCapabilities gives the same addresses.
      if (!(error instanceof OnvifError) || error.kind !== 'protocol') throw error;
      await client.call('GetCapabilities', (cb) => cam.getCapabilities(cb));
    }
    if (!cam.uri?.media) throw new OnvifError('protocol', `${client.endpoint} announces no ONVIF media service (Profile S)`);
    return client;
  }

  async deviceInformation(): Promise<OnvifDeviceInformation> {
    const response = await this.call('GetDeviceInformation', (cb) => this.cam.getDeviceInformation(cb));
    const text = (name: string) => child(response, name)?.text ?? '';
    return {
      manufacturer: text('Manufacturer'),
      model: text('Model'),
      firmwareVersion: text('FirmwareVersion'),
      serialNumber: text('SerialNumber'),
      hardwareId: text('HardwareId'),
    };
  }

  async profiles(): Promise<OnvifProfile[]> {
    const response = await this.call('GetProfiles', (cb) => this.cam.getProfiles(cb));
    return children(response, 'Profiles').map((profile) => {
      const video = child(profile, 'VideoEncoderConfiguration');
      const audio = child(profile, 'AudioEncoderConfiguration');
      const width = numberOrNull(path(video, 'Resolution', 'Width')?.text);
      const height = numberOrNull(path(video, 'Resolution', 'Height')?.text);
      const encoding = child(video, 'Encoding')?.text;
      return {
        token: profile.attributes.token ?? '',
        name: child(profile, 'Name')?.text ?? '',
        video:
          encoding && width !== null && height !== null
            ? {
                encoding,
                width,
                height,
                framerate: numberOrNull(path(video, 'RateControl', 'FrameRateLimit')?.text),
                bitrateKbps: numberOrNull(path(video, 'RateControl', 'BitrateLimit')?.text),
              }
            : null,
        audio: audio
          ? {
              encoding: child(audio, 'Encoding')?.text ?? '',
              sampleRateKhz: numberOrNull(child(audio, 'SampleRate')?.text),
              bitrateKbps: numberOrNull(child(audio, 'Bitrate')?.text),
            }
          : null,
        ptz: child(profile, 'PTZConfiguration') !== undefined,
      };
    });
  }

  /** The RTSP URL of a profile, for RTP over the RTSP TCP connection (interleaved). */
  async streamUri(profileToken: string): Promise<string> {
    const response = await this.call('GetStreamUri', (cb) =>
      this.cam.getStreamUri({ protocol: 'RTSP', stream: 'RTP-Unicast', profileToken }, cb),
    );
    return this.requireUri(response, 'GetStreamUri');
  }

  async snapshotUri(profileToken: string): Promise<string> {
    const response = await this.call('GetSnapshotUri', (cb) => this.cam.getSnapshotUri({ profileToken }, cb));
    return this.requireUri(response, 'GetSnapshotUri');
  }

  /** One JPEG from the profile's snapshot URI, with HTTP digest (or basic) auth as cameras ask. */
  async snapshot(profileToken: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const uri = await this.snapshotUri(profileToken);
    return this.bounded('snapshot', this.fetchSnapshot(uri, options.maxBytes ?? DEFAULT_SNAPSHOT_MAX_BYTES));
  }

  /**
   * The camera's clock against ours. ONVIF carries whole seconds, so the result is within about
   * ±0.5 s plus half the round trip: plenty to flag a camera whose clock is off, too coarse for
   * sub-second alignment (use RTCP sender reports for that).
   */
  async systemDateAndTime(): Promise<OnvifClock> {
    const sent = Date.now();
    const response = await this.call('GetSystemDateAndTime', (cb) => this.cam.getSystemDateAndTime(cb));
    const received = Date.now();
    const utc = path(response, 'SystemDateAndTime', 'UTCDateTime');
    const field = (...names: string[]) => numberOrNull(path(utc, ...names)?.text);
    const parts = [
      field('Date', 'Year'),
      field('Date', 'Month'),
      field('Date', 'Day'),
      field('Time', 'Hour'),
      field('Time', 'Minute'),
      field('Time', 'Second'),
    ];
    if (parts.some((p) => p === null)) {
      throw new OnvifError('protocol', `${this.endpoint} did not report its UTC time (GetSystemDateAndTime without UTCDateTime)`);
    }
    const [year, month, day, hour, minute, second] = parts as number[];
    const cameraTime = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!) + 500);
    // The library dates WS-Security tokens from a shift it sets only once; keep it following a camera
    // whose clock was changed since (same formula as lib/cam.js getSystemDateAndTime).
    this.cam.timeShift = cameraTime.getTime() - process.uptime() * 1000;
    return { cameraTime, offsetMs: cameraTime.getTime() - (sent + received) / 2, roundTripMs: received - sent };
  }

  /** The PTZ presets of a profile; [] for a camera without PTZ (no PTZ service announced). */
  async ptzPresets(profileToken: string): Promise<OnvifPtzPreset[]> {
    if (!this.cam.uri?.ptz) return [];
    const response = await this.call('GetPresets', (cb) => this.cam.getPresets({ profileToken }, cb));
    return children(response, 'Preset').map((preset) => ({
      token: preset.attributes.token ?? '',
      name: child(preset, 'Name')?.text ?? '',
    }));
  }

  private requireUri(response: XmlElement, action: string): string {
    const uri = path(response, 'MediaUri', 'Uri')?.text;
    if (!uri) throw new OnvifError('protocol', `${this.endpoint} answered ${action} without a URI`);
    return uri;
  }

  /**
   * One library call, bounded by the timeout, its error mapped to an OnvifError, and its answer
   * returned as the Body's first element (e.g. GetProfilesResponse).
   */
  private call(action: string, invoke: (callback: LibCallback) => void): Promise<XmlElement> {
    const work = new Promise<XmlElement>((resolve, reject) => {
      try {
        invoke((error, _data, xml) => {
          if (error) return reject(this.mapError(action, error, xml));
          try {
            const root = parseXml(xml ?? '', { lenientPrefixes: true });
            const response = child(child(root, 'Body'), `${action}Response`);
            if (!response) throw new XmlParseError(`no ${action}Response in the answer`);
            resolve(response);
          } catch (parseError) {
            reject(new OnvifError('protocol', `${this.endpoint} answered ${action} with something other than ONVIF: ${(parseError as Error).message}`, { cause: parseError }));
          }
        });
      } catch (error) {
        // The library throws synchronously for some bad states (e.g. a missing callback).
        reject(new OnvifError('protocol', `${action} could not be sent: ${(error as Error).message}`, { cause: error }));
      }
    });
    return this.bounded(action, work);
  }

  private bounded<T>(action: string, work: Promise<T>): Promise<T> {
    const { timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new OnvifError('timeout', `${this.endpoint} did not answer ${action} within ${timeoutMs} ms: the camera may be hung or overloaded; check it, and power-cycle it if it stays silent`)),
        timeoutMs,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private mapError(action: string, error: Error, xml: string | undefined): OnvifError {
    const code = (error as NodeJS.ErrnoException).code;
    const text = `${error.message} ${xml ?? ''}`;
    if (/not ?authori[sz]ed|unauthori[sz]ed|authentication failed|AccessDenied/i.test(text)) {
      return new OnvifError(
        'unauthorized',
        `${this.endpoint} refused the user name or password (${action}): check the credentials configured for this camera, and that its clock is within 5 minutes of the server's (ONVIF rejects stale tokens)`,
        { cause: error },
      );
    }
    if (code && UNREACHABLE_CODES.has(code)) {
      return new OnvifError('unreachable', `cannot reach ${this.endpoint} (${code}): check that the camera is powered, its address and ONVIF port, and the network`, { cause: error });
    }
    if (code === 'ETIMEDOUT' || error.message === 'Network timeout') {
      return new OnvifError('timeout', `${this.endpoint} did not answer ${action} within ${this.options.timeoutMs} ms: the camera may be hung or overloaded`, { cause: error });
    }
    return new OnvifError('protocol', `${this.endpoint} answered ${action} in a way we do not understand: ${error.message}`, { cause: error });
  }

  private async fetchSnapshot(uri: string, maxBytes: number): Promise<Buffer> {
    const first = await this.get(uri, undefined);
    let response = first;
    if (first.status === 401) {
      const challenges = first.challenges.filter((c) => /^Digest /i.test(c));
      const target = new URL(uri);
      const requestPath = `${target.pathname}${target.search}`;
      let authorization: string | undefined;
      if (challenges.length > 0) authorization = this.cam.digestAuth(challenges, { method: 'GET', path: requestPath });
      else if (first.challenges.some((c) => /^Basic /i.test(c))) {
        authorization = `Basic ${Buffer.from(`${this.options.username}:${this.options.password}`).toString('base64')}`;
      }
      if (authorization) response = await this.get(uri, authorization);
    }
    if (response.status === 401 || response.status === 403) {
      throw new OnvifError('unauthorized', `${this.endpoint} refused the credentials for its snapshot (HTTP ${response.status}): check the user name and password`);
    }
    if (response.status === 503) {
      throw new OnvifError('protocol', `${this.endpoint} has no picture yet (HTTP 503): try again in a moment`);
    }
    if (response.status !== 200) throw new OnvifError('protocol', `${this.endpoint} answered the snapshot with HTTP ${response.status}`);
    const body = await response.body(maxBytes);
    if (body === null) throw new OnvifError('protocol', `${this.endpoint} sent a snapshot larger than ${maxBytes} bytes`);
    return body;
  }

  /** A GET whose every WWW-Authenticate header is kept (Hikvision sends one per algorithm). */
  private get(
    uri: string,
    authorization: string | undefined,
  ): Promise<{ status: number; challenges: string[]; body: (maxBytes: number) => Promise<Buffer | null> }> {
    return new Promise((resolve, reject) => {
      const target = new URL(uri);
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(target, {
        method: 'GET',
        headers: authorization ? { authorization } : {},
        timeout: this.options.timeoutMs,
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('Network timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => reject(this.mapError('snapshot', error, undefined)));
      req.on('response', (res: IncomingMessage) => {
        const challenges: string[] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1]!);
        }
        const status = res.statusCode ?? 0;
        if (status !== 200) res.resume();
        resolve({
          status,
          challenges,
          body: (maxBytes) =>
            new Promise<Buffer | null>((done, fail) => {
              const chunks: Buffer[] = [];
              let size = 0;
              res.on('data', (chunk: Buffer) => {
                size += chunk.length;
                if (size > maxBytes) {
                  res.destroy();
                  done(null);
                } else chunks.push(chunk);
              });
              res.on('end', () => done(Buffer.concat(chunks)));
              res.on('error', (error) => fail(this.mapError('snapshot', error, undefined)));
            }),
        });
      });
      req.end();
    });
  }
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
