import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.ts';
import { child, children, escapeXml, type XmlElement } from '../../shared/xml.ts';
import type { FaultSettings } from '../faults.ts';
import { HttpDigestAuth } from './http-digest.ts';
import {
  dateTimeXml,
  envelope,
  FAULTS,
  faultEnvelope,
  faultStatus,
  NS,
  parseSoapRequest,
  SoapParseError,
  type SoapFault,
} from './soap.ts';
import { UsernameTokenVerifier } from './ws-security.ts';
import type {
  OnvifDeviceEvents,
  OnvifDeviceOptions,
  OnvifProfileToken,
  OnvifRequestRecord,
} from './onvif-device.types.ts';

export type * from './onvif-device.types.ts';

export const DEVICE_PATH = '/onvif/device_service';
export const MEDIA_PATH = '/onvif/media_service';
export const SNAPSHOT_PATH = '/onvif/snapshot.jpg';
export const FAULTS_PATH = '/simulator/faults';

const MAX_BODY_BYTES = 256 * 1024;
/** Hikvision's digest realm; clients must not depend on it. */
const SNAPSHOT_REALM = 'IP Camera';

const faultChange = z.strictObject({
  unresponsive: z.boolean(),
  wrongPassword: z.boolean(),
  clockSkewS: z.number().finite().min(-366 * 86400).max(366 * 86400),
  stallMedia: z.boolean(),
  silentAudio: z.boolean(),
}).partial() satisfies z.ZodType<Partial<FaultSettings>>;

interface ProfileSpec {
  token: OnvifProfileToken;
  name: string;
  width: number;
  height: number;
  bitrateKbps: number;
}

const PROFILES: readonly ProfileSpec[] = [
  { token: 'main', name: 'mainStream', width: 1280, height: 720, bitrateKbps: 2048 },
  { token: 'sub', name: 'subStream', width: 640, height: 360, bitrateKbps: 512 },
];

type Handler = (action: XmlElement) => string | SoapFault;

/**
 * The ONVIF device and media services of one simulated camera (Profile S, Media1 only, no PTZ) over
 * SOAP 1.2, with WS-Security UsernameToken digest auth, a snapshot behind HTTP digest auth, and a
 * loopback control API to switch the camera's faults at run time.
 *
 * A wrong or missing UsernameToken is answered with HTTP 400 and the fault env:Sender /
 * ter:NotAuthorized, as ONVIF Core §5.12 and the SOAP 1.2 HTTP binding say (some Hikvision firmware
 * answers 401 instead; clients must accept both). We send no WWW-Authenticate with it, so clients
 * are not led into HTTP digest on the SOAP endpoint.
 */
export class OnvifDevice extends EventEmitter<OnvifDeviceEvents> {
  private readonly log: Logger;
  private readonly verifier: UsernameTokenVerifier;
  private readonly snapshotAuth = new HttpDigestAuth(SNAPSHOT_REALM);
  private readonly handlers: Map<string, Handler>;
  private server: Server | null = null;
  private closing: Promise<void> | null = null;
  private boundPort = 0;

  constructor(private readonly options: OnvifDeviceOptions) {
    super();
    this.log = options.log.child({ part: 'onvif-device', host: options.host });
    this.verifier = new UsernameTokenVerifier({ now: () => options.faults.cameraNow() });
    this.handlers = this.buildHandlers();
  }

  get port(): number {
    return this.boundPort || this.options.port;
  }

  /** The device service XAddr, what discovery announces and clients connect to. */
  get serviceUrl(): string {
    return this.url(DEVICE_PATH);
  }

  get mediaServiceUrl(): string {
    return this.url(MEDIA_PATH);
  }

  get snapshotUrl(): string {
    return this.url(SNAPSHOT_PATH);
  }

  /** The control API's base URL (`GET`/`POST` here; `/drop`, `/clear` below). */
  get faultsUrl(): string {
    return this.url(FAULTS_PATH);
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('OnvifDevice already started');
    if (this.closing) throw new Error('OnvifDevice is closed');
    const server = createServer((req, res) => this.onRequest(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.log.error({ err: error }, 'ONVIF device server error'));
    this.boundPort = (server.address() as AddressInfo).port;
    this.log.info({ url: this.serviceUrl }, 'ONVIF device listening');
  }

  /** Stops listening and drops every connection, including requests the camera is "hung" on. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const server = this.server;
    this.closing = new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.closing;
  }

  private url(path: string): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${this.port}${path}`;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://camera').pathname;
    if (path === FAULTS_PATH || path.startsWith(`${FAULTS_PATH}/`)) {
      void this.onControl(req, res, path);
    } else if (path === DEVICE_PATH || path === MEDIA_PATH) {
      void this.onSoap(req, res);
    } else if (path === SNAPSHOT_PATH) {
      this.onSnapshot(req, res);
    } else {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }

  // ---- SOAP ----------------------------------------------------------------------------------

  private async onSoap(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) {
      res.writeHead(413).end();
      return;
    }
    let parsed;
    try {
      parsed = parseSoapRequest(body);
    } catch (error) {
      if (!(error instanceof SoapParseError)) throw error;
      this.log.debug({ reason: error.message }, 'malformed SOAP request');
      if (this.playDead(res, { action: '(malformed)', auth: 'none', answered: false })) return;
      this.sendFault(res, FAULTS.wellFormed);
      return;
    }
    const { header, action } = parsed;
    const faults = this.options.faults.current;
    const open = action.name === 'GetSystemDateAndTime' && action.ns === NS.tds;
    let auth: OnvifRequestRecord['auth'] = 'none';
    if (!open) {
      const verdict = faults.wrongPassword
        ? ({ ok: false, reason: 'wrong-password fault' } as const)
        : this.verifier.verify(header, this.options.credentials);
      auth = verdict.ok ? 'ok' : 'rejected';
      if (!verdict.ok && !faults.unresponsive) {
        this.log.info({ action: action.name, reason: verdict.reason }, 'ONVIF request not authorized');
      }
    }
    if (this.playDead(res, { action: action.name, auth, answered: false })) return;

    if (auth === 'rejected') {
      this.sendFault(res, FAULTS.notAuthorized);
    } else {
      const handler = this.handlers.get(`${action.ns} ${action.name}`);
      const result = handler ? handler(action) : FAULTS.actionNotSupported;
      if (typeof result === 'string') {
        res.writeHead(200, { 'content-type': 'application/soap+xml; charset=utf-8' }).end(envelope(result));
      } else {
        this.sendFault(res, result);
      }
      this.log.debug({ action: action.name, ok: typeof result === 'string' }, 'ONVIF request');
    }
    this.emit('request', { action: action.name, auth, answered: true });
  }

  /**
   * The `unresponsive` fault: keep the connection and never answer, as a hung camera does. The
   * socket stays until the client gives up or `close()` ends it.
   */
  private playDead(res: ServerResponse, record: OnvifRequestRecord): boolean {
    if (!this.options.faults.current.unresponsive) return false;
    res.socket?.setTimeout(0);
    this.emit('request', record);
    return true;
  }

  private sendFault(res: ServerResponse, fault: SoapFault): void {
    res
      .writeHead(faultStatus(fault), { 'content-type': 'application/soap+xml; charset=utf-8' })
      .end(faultEnvelope(fault));
  }

  private buildHandlers(): Map<string, Handler> {
    const o = this.options;
    const frameRate = o.frameRate ?? 25;
    const deviceService = () => this.serviceUrl;
    const mediaService = () => this.mediaServiceUrl;

    const videoSourceConfiguration =
      '<tt:VideoSourceConfiguration token="VideoSourceConfigToken">' +
      '<tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>' +
      '<tt:SourceToken>VideoSource_1</tt:SourceToken>' +
      '<tt:Bounds x="0" y="0" width="1280" height="720"/>' +
      '</tt:VideoSourceConfiguration>';
    const audioSourceConfiguration =
      '<tt:AudioSourceConfiguration token="AudioSourceConfigToken">' +
      '<tt:Name>AudioSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>' +
      '<tt:SourceToken>AudioSource_1</tt:SourceToken>' +
      '</tt:AudioSourceConfiguration>';
    const noMulticast =
      '<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>' +
      '<tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>' +
      '<tt:SessionTimeout>PT60S</tt:SessionTimeout>';
    // AAC as Hikvision sends it (16 kHz mono); G.711 A-law is 8 kHz, 64 kbit/s by definition.
    const audio = o.audio === 'aac' ? { encoding: 'AAC', bitrate: 32, sampleRate: 16 } : { encoding: 'G711', bitrate: 64, sampleRate: 8 };
    const profileXml = (p: ProfileSpec, index: number) =>
      `<trt:Profiles token="${p.token}" fixed="true">` +
      `<tt:Name>${p.name}</tt:Name>` +
      videoSourceConfiguration +
      audioSourceConfiguration +
      `<tt:VideoEncoderConfiguration token="VideoEncoderToken_${index + 1}">` +
      `<tt:Name>VideoEncoder_${index + 1}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
      `<tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
      '<tt:Quality>4</tt:Quality>' +
      `<tt:RateControl><tt:FrameRateLimit>${frameRate}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
      `<tt:BitrateLimit>${p.bitrateKbps}</tt:BitrateLimit></tt:RateControl>` +
      `<tt:H264><tt:GovLength>${frameRate * 2}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>` +
      noMulticast +
      '</tt:VideoEncoderConfiguration>' +
      `<tt:AudioEncoderConfiguration token="AudioEncoderToken_${index + 1}">` +
      `<tt:Name>AudioEncoder_${index + 1}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>${audio.encoding}</tt:Encoding>` +
      `<tt:Bitrate>${audio.bitrate}</tt:Bitrate><tt:SampleRate>${audio.sampleRate}</tt:SampleRate>` +
      noMulticast +
      '</tt:AudioEncoderConfiguration>' +
      '</trt:Profiles>';
    const findProfile = (action: XmlElement): ProfileSpec | undefined => {
      const token = child(action, 'ProfileToken')?.text;
      return PROFILES.find((p) => p.token === token);
    };
    const mediaUri = (uri: string) =>
      `<trt:MediaUri><tt:Uri>${escapeXml(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
      '<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>';

    const deviceCapabilities = () =>
      '<tt:Device>' +
      `<tt:XAddr>${deviceService()}</tt:XAddr>` +
      '<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>' +
      '<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>' +
      '<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye>' +
      '<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>' +
      '<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>' +
      '<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>' +
      '<tt:IO><tt:InputConnectors>0</tt:InputConnectors><tt:RelayOutputs>0</tt:RelayOutputs></tt:IO>' +
      '<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2>' +
      '<tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig>' +
      '<tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken>' +
      '<tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security>' +
      '</tt:Device>';
    const mediaCapabilities = () =>
      '<tt:Media>' +
      `<tt:XAddr>${mediaService()}</tt:XAddr>` +
      '<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>' +
      '<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities>' +
      '<tt:Extension><tt:ProfileCapabilities><tt:MaximumNumberOfProfiles>2</tt:MaximumNumberOfProfiles>' +
      '</tt:ProfileCapabilities></tt:Extension>' +
      '</tt:Media>';
    const deviceServiceCapabilities =
      '<tds:Capabilities>' +
      '<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false" ' +
      'Dot11Configuration="false" HostnameFromDHCP="false" NTP="0"/>' +
      '<tds:Security TLS1.0="false" TLS1.1="false" TLS1.2="false" OnboardKeyGeneration="false" ' +
      'AccessPolicyConfig="false" DefaultAccessPolicy="false" Dot1X="false" RemoteUserHandling="false" ' +
      'X.509Token="false" SAMLToken="false" KerberosToken="false" UsernameToken="true" HttpDigest="false" RELToken="false"/>' +
      '<tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" ' +
      'SystemLogging="false" FirmwareUpgrade="false" HttpFirmwareUpgrade="false" HttpSystemBackup="false" ' +
      'HttpSystemLogging="false" HttpSupportInformation="false"/>' +
      '</tds:Capabilities>';
    const mediaServiceCapabilities =
      '<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">' +
      '<trt:ProfileCapabilities MaximumNumberOfProfiles="2"/>' +
      '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" ' +
      'NonAggregateControl="false" NoRTSPStreaming="false"/>' +
      '</trt:Capabilities>';
    const version = '<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>';
    const scopes = () =>
      [
        'onvif://www.onvif.org/type/video_encoder',
        'onvif://www.onvif.org/Profile/Streaming',
        `onvif://www.onvif.org/hardware/${encodeURIComponent(o.deviceInfo.model)}`,
        `onvif://www.onvif.org/name/${encodeURIComponent(o.deviceInfo.manufacturer)}`,
      ];
    const hostname = `cam-${o.deviceInfo.serialNumber.slice(-8).toLowerCase()}`;
    const mac = createHash('sha1')
      .update(o.deviceInfo.serialNumber)
      .digest()
      .subarray(0, 6)
      .map((b, i) => (i === 0 ? (b & 0xfe) | 0x02 : b)) // locally administered, unicast
      .reduce<string[]>((parts, b) => [...parts, b.toString(16).padStart(2, '0')], [])
      .join(':');

    const tds = (name: string) => `${NS.tds} ${name}`;
    const trt = (name: string) => `${NS.trt} ${name}`;
    const tptz = (name: string) => `${NS.tptz} ${name}`;

    return new Map<string, Handler>([
      [
        tds('GetSystemDateAndTime'),
        () => {
          const now = o.faults.cameraNow();
          return (
            '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>' +
            '<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>' +
            '<tt:TimeZone><tt:TZ>CST-8:00:00</tt:TZ></tt:TimeZone>' +
            `<tt:UTCDateTime>${dateTimeXml(now, 'utc')}</tt:UTCDateTime>` +
            `<tt:LocalDateTime>${dateTimeXml(now, 'local')}</tt:LocalDateTime>` +
            '</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>'
          );
        },
      ],
      [
        tds('GetDeviceInformation'),
        () => {
          const d = o.deviceInfo;
          return (
            '<tds:GetDeviceInformationResponse>' +
            `<tds:Manufacturer>${escapeXml(d.manufacturer)}</tds:Manufacturer><tds:Model>${escapeXml(d.model)}</tds:Model>` +
            `<tds:FirmwareVersion>${escapeXml(d.firmwareVersion)}</tds:FirmwareVersion>` +
            `<tds:SerialNumber>${escapeXml(d.serialNumber)}</tds:SerialNumber>` +
            `<tds:HardwareId>${escapeXml(d.hardwareId)}</tds:HardwareId>` +
            '</tds:GetDeviceInformationResponse>'
          );
        },
      ],
      [
        tds('GetCapabilities'),
        (action) => {
          const asked = children(action, 'Category').map((c) => c.text);
          const all = asked.length === 0 || asked.includes('All');
          const parts = [
            all || asked.includes('Device') ? deviceCapabilities() : '',
            all || asked.includes('Media') ? mediaCapabilities() : '',
          ].join('');
          if (!parts) return FAULTS.noSuchService;
          return `<tds:GetCapabilitiesResponse><tds:Capabilities>${parts}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
        },
      ],
      [
        tds('GetServices'),
        (action) => {
          const withCapabilities = child(action, 'IncludeCapability')?.text === 'true';
          const service = (namespace: string, xaddr: string, capabilities: string) =>
            `<tds:Service><tds:Namespace>${namespace}</tds:Namespace><tds:XAddr>${xaddr}</tds:XAddr>` +
            (withCapabilities ? `<tds:Capabilities>${capabilities}</tds:Capabilities>` : '') +
            `${version}</tds:Service>`;
          return (
            '<tds:GetServicesResponse>' +
            service(NS.tds, deviceService(), deviceServiceCapabilities) +
            service(NS.trt, mediaService(), mediaServiceCapabilities) +
            '</tds:GetServicesResponse>'
          );
        },
      ],
      [tds('GetServiceCapabilities'), () => `<tds:GetServiceCapabilitiesResponse>${deviceServiceCapabilities}</tds:GetServiceCapabilitiesResponse>`],
      [
        tds('GetScopes'),
        () =>
          '<tds:GetScopesResponse>' +
          scopes()
            .map((s) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${escapeXml(s)}</tt:ScopeItem></tds:Scopes>`)
            .join('') +
          '</tds:GetScopesResponse>',
      ],
      [
        tds('GetHostname'),
        () =>
          '<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>' +
          `<tt:Name>${hostname}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`,
      ],
      [
        tds('GetNetworkInterfaces'),
        () =>
          '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>' +
          `<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>${mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>` +
          '<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>' +
          `<tt:Address>${escapeXml(o.host)}</tt:Address><tt:PrefixLength>8</tt:PrefixLength>` +
          '</tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>' +
          '</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>',
      ],
      [trt('GetServiceCapabilities'), () => `<trt:GetServiceCapabilitiesResponse>${mediaServiceCapabilities}</trt:GetServiceCapabilitiesResponse>`],
      [trt('GetProfiles'), () => `<trt:GetProfilesResponse>${PROFILES.map(profileXml).join('')}</trt:GetProfilesResponse>`],
      [
        trt('GetProfile'),
        (action) => {
          const profile = findProfile(action);
          if (!profile) return FAULTS.noProfile;
          // GetProfileResponse names its element Profile, not Profiles.
          const xml = profileXml(profile, PROFILES.indexOf(profile)).replace(/^<trt:Profiles /, '<trt:Profile ').replace(/<\/trt:Profiles>$/, '</trt:Profile>');
          return `<trt:GetProfileResponse>${xml}</trt:GetProfileResponse>`;
        },
      ],
      [
        trt('GetVideoSources'),
        () =>
          '<trt:GetVideoSourcesResponse><trt:VideoSources token="VideoSource_1">' +
          `<tt:Framerate>${frameRate}</tt:Framerate>` +
          '<tt:Resolution><tt:Width>1280</tt:Width><tt:Height>720</tt:Height></tt:Resolution>' +
          '</trt:VideoSources></trt:GetVideoSourcesResponse>',
      ],
      [
        trt('GetStreamUri'),
        (action) => {
          const profile = findProfile(action);
          if (!profile) return FAULTS.noProfile;
          const setup = child(action, 'StreamSetup');
          const stream = child(setup, 'Stream')?.text ?? 'RTP-Unicast';
          const protocol = child(child(setup, 'Transport'), 'Protocol')?.text ?? 'RTSP';
          // One RTSP URL serves UDP, TCP and RTSP-interleaved alike; we do no multicast or HTTP tunnel.
          if (stream !== 'RTP-Unicast' || !['UDP', 'TCP', 'RTSP'].includes(protocol)) return FAULTS.invalidStreamSetup;
          return `<trt:GetStreamUriResponse>${mediaUri(o.streamUris[profile.token])}</trt:GetStreamUriResponse>`;
        },
      ],
      [
        trt('GetSnapshotUri'),
        (action) => {
          if (!findProfile(action)) return FAULTS.noProfile;
          return `<trt:GetSnapshotUriResponse>${mediaUri(this.snapshotUrl)}</trt:GetSnapshotUriResponse>`;
        },
      ],
      // No PTZ service is announced; a client that asks anyway learns there is nothing to move.
      [tptz('GetNodes'), () => '<tptz:GetNodesResponse/>'],
      [tptz('GetConfigurations'), () => '<tptz:GetConfigurationsResponse/>'],
      [tptz('GetPresets'), () => '<tptz:GetPresetsResponse/>'],
    ]);
  }

  // ---- snapshot ------------------------------------------------------------------------------

  private onSnapshot(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (this.options.faults.current.unresponsive) {
      res.socket?.setTimeout(0);
      return;
    }
    const verdict = this.options.faults.current.wrongPassword
      ? 'denied'
      : this.snapshotAuth.verify(req.headers.authorization, req.method, req.url ?? '', this.options.credentials);
    if (verdict !== 'ok') {
      res
        .writeHead(401, { 'www-authenticate': this.snapshotAuth.challenge(verdict === 'stale'), 'content-type': 'text/plain' })
        .end('Unauthorized');
      return;
    }
    const jpeg = this.options.snapshot();
    if (!jpeg) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('no picture yet');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : jpeg);
  }

  // ---- fault control API ---------------------------------------------------------------------

  private async onControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
    };
    const error = (status: number, code: string, message: string): void => json(status, { error: { code, message } });
    if (!isLoopback(req.socket.remoteAddress)) {
      req.resume();
      return error(403, 'forbidden', 'the fault control API answers loopback clients only');
    }
    const faults = this.options.faults;
    const route = `${req.method ?? ''} ${path}`;
    if (route === `GET ${FAULTS_PATH}`) return json(200, faults.current);
    if (route === `POST ${FAULTS_PATH}/drop`) {
      req.resume();
      faults.dropConnections();
      this.log.info('fault control: drop connections');
      return json(200, faults.current);
    }
    if (route === `POST ${FAULTS_PATH}/clear`) {
      req.resume();
      faults.clear();
      this.log.info('fault control: cleared');
      return json(200, faults.current);
    }
    if (route !== `POST ${FAULTS_PATH}`) {
      req.resume();
      return error(404, 'not_found', 'use GET or POST /simulator/faults, POST /simulator/faults/drop or /clear');
    }
    const body = await readBody(req, 16 * 1024);
    if (body === null) return error(413, 'too_large', 'the fault settings must be under 16 KiB');
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return error(400, 'invalid_json', 'the body must be JSON');
    }
    const parsed = faultChange.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      return error(400, 'invalid_faults', issues);
    }
    faults.set(parsed.data);
    this.log.info({ faults: parsed.data }, 'fault control: set');
    return json(200, faults.current);
  }
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

/** The request body as text, or null when it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}
