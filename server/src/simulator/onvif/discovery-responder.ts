import { createHash, randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../../shared/logger.ts';
import { child, escapeXml, parseXml, type XmlElement } from '../../shared/xml.ts';
import type { CameraFaults } from '../faults.ts';

/** WS-Discovery as ONVIF uses it: the 2005/04 draft over SOAP 1.2 with 2004/08 addressing. */
export const WSD = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
} as const;

const PROBE_ACTION = `${WSD.wsd}/Probe`;
const PROBE_MATCHES_ACTION = `${WSD.wsd}/ProbeMatches`;
const ANONYMOUS = `${WSD.wsa}/role/anonymous`;

export interface DiscoveryResponderOptions {
  /** The loopback address to bind, e.g. 127.0.0.11. The socket never joins a multicast group. */
  host: string;
  /** 3702 is the WS-Discovery port; 0 picks a free one (tests), see `port` after `start()`. */
  port?: number;
  /** The device service URL(s) to announce. */
  xaddrs: string[];
  /** Announced as onvif://www.onvif.org/name/<name>. */
  name: string;
  /** Announced as onvif://www.onvif.org/hardware/<hardware>. */
  hardware: string;
  /** Announced as onvif://www.onvif.org/location/<location>; default 'hearing-room'. */
  location?: string;
  /** `urn:uuid:…` of this camera; default derived from host and name, so stable across restarts. */
  endpoint?: string;
  faults: CameraFaults;
  log: Logger;
}

/** What a Probe asks for: the types and scopes a device must have to answer. */
export interface ParsedProbe {
  messageId: string;
  /** Expanded QNames `{namespace}local`. */
  types: string[];
  scopes: string[];
}

/** Reads a WS-Discovery Probe; null when the datagram is something else. */
export function parseProbe(xml: string): ParsedProbe | null {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch {
    return null;
  }
  const header = child(root, 'Header', WSD.env);
  const probe = child(child(root, 'Body', WSD.env), 'Probe', WSD.wsd);
  const action = child(header, 'Action', WSD.wsa)?.text;
  const messageId = child(header, 'MessageID', WSD.wsa)?.text;
  if (!probe || !messageId || (action !== undefined && action !== PROBE_ACTION)) return null;
  const typesText = child(probe, 'Types', WSD.wsd)?.text ?? '';
  // QNames in text content: resolve their prefixes against the declarations in the probe.
  const declared = namespaceDeclarations(xml);
  const types = typesText
    .split(/\s+/)
    .filter(Boolean)
    .map((qname) => {
      const colon = qname.indexOf(':');
      const prefix = colon === -1 ? '' : qname.slice(0, colon);
      return `{${declared.get(prefix) ?? ''}}${qname.slice(colon + 1)}`;
    });
  const scopes = (child(probe, 'Scopes', WSD.wsd)?.text ?? '').split(/\s+/).filter(Boolean);
  return { messageId, types, scopes };
}

function namespaceDeclarations(xml: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const match of xml.matchAll(/xmlns(?::([\w.-]+))?\s*=\s*["']([^"']*)["']/g)) {
    if (!map.has(match[1] ?? '')) map.set(match[1] ?? '', match[2]!);
  }
  return map;
}

/** A stable `urn:uuid:` (name-based, SHA-1, RFC 4122 version 5 layout) from any seed. */
export function stableEndpoint(seed: string): string {
  const h = createHash('sha1').update(`hearing-recorder-camera:${seed}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Answers unicast WS-Discovery Probes for one simulated camera with a ProbeMatches naming its
 * device service, as an ONVIF NetworkVideoTransmitter does. Honours `unresponsive` by staying
 * silent.
 */
export class DiscoveryResponder {
  readonly endpoint: string;
  private socket: Socket | null = null;
  private closing: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly instanceId = Math.floor(Date.now() / 1000);
  private messageNumber = 0;

  constructor(private readonly options: DiscoveryResponderOptions) {
    this.endpoint = options.endpoint ?? stableEndpoint(`${options.host}/${options.name}`);
    this.log = options.log.child({ part: 'discovery-responder', host: options.host });
  }

  get port(): number {
    const address = this.socket?.address();
    return address ? address.port : (this.options.port ?? 3702);
  }

  get scopes(): string[] {
    const o = this.options;
    return [
      'onvif://www.onvif.org/type/video_encoder',
      'onvif://www.onvif.org/type/Network_Video_Transmitter',
      'onvif://www.onvif.org/Profile/Streaming',
      `onvif://www.onvif.org/name/${encodeURIComponent(o.name)}`,
      `onvif://www.onvif.org/hardware/${encodeURIComponent(o.hardware)}`,
      `onvif://www.onvif.org/location/${encodeURIComponent(o.location ?? 'hearing-room')}`,
    ];
  }

  async start(): Promise<void> {
    if (this.socket) throw new Error('DiscoveryResponder already started');
    if (this.closing) throw new Error('DiscoveryResponder is closed');
    const socket = createSocket({ type: 'udp4' });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port ?? 3702, this.options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (error) => this.log.warn({ err: error }, 'WS-Discovery socket error'));
    socket.on('message', (message, remote) => this.onMessage(message, remote));
    this.log.info({ port: this.port, endpoint: this.endpoint }, 'WS-Discovery responder listening');
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const socket = this.socket;
    this.closing = new Promise<void>((resolve) => (socket ? socket.close(() => resolve()) : resolve()));
    return this.closing;
  }

  /** Whether this device answers a probe asking for these types and scopes (WS-Discovery §5.1). */
  matches(probe: ParsedProbe): boolean {
    const ours = [`{${WSD.dn}}NetworkVideoTransmitter`, `{${WSD.tds}}Device`];
    if (!probe.types.every((t) => ours.includes(t))) return false;
    // The default rule, RFC 3986 prefix matching by whole segments: scheme and authority (the
    // first three segments of `onvif://host/…`) ignore case, the path does not.
    const segments = (uri: string) => uri.replace(/\/+$/, '').split('/');
    return probe.scopes.every((wanted) => {
      const w = segments(wanted);
      return this.scopes.some((scope) => {
        const s = segments(scope);
        return w.length <= s.length && w.every((part, i) => (i < 3 ? part.toLowerCase() === s[i]!.toLowerCase() : part === s[i]));
      });
    });
  }

  private onMessage(message: Buffer, remote: RemoteInfo): void {
    const probe = parseProbe(message.toString('utf8'));
    if (!probe) return;
    if (this.options.faults.current.unresponsive) {
      this.log.debug({ from: remote.address }, 'probe ignored: camera unresponsive');
      return;
    }
    if (!this.matches(probe)) return;
    const reply = Buffer.from(this.probeMatches(probe.messageId), 'utf8');
    this.socket?.send(reply, remote.port, remote.address, (error) => {
      if (error) this.log.warn({ err: error }, 'ProbeMatches not sent');
    });
  }

  private probeMatches(relatesTo: string): string {
    this.messageNumber += 1;
    return (
      '<?xml version="1.0" encoding="UTF-8"?>' +
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${WSD.env}" xmlns:wsa="${WSD.wsa}" xmlns:wsdd="${WSD.wsd}" ` +
      `xmlns:dn="${WSD.dn}" xmlns:tds="${WSD.tds}">` +
      '<SOAP-ENV:Header>' +
      `<wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID>` +
      `<wsa:RelatesTo>${escapeXml(relatesTo)}</wsa:RelatesTo>` +
      `<wsa:To SOAP-ENV:mustUnderstand="true">${ANONYMOUS}</wsa:To>` +
      `<wsa:Action SOAP-ENV:mustUnderstand="true">${PROBE_MATCHES_ACTION}</wsa:Action>` +
      `<wsdd:AppSequence InstanceId="${this.instanceId}" MessageNumber="${this.messageNumber}"/>` +
      '</SOAP-ENV:Header>' +
      '<SOAP-ENV:Body><wsdd:ProbeMatches><wsdd:ProbeMatch>' +
      `<wsa:EndpointReference><wsa:Address>${this.endpoint}</wsa:Address></wsa:EndpointReference>` +
      '<wsdd:Types>dn:NetworkVideoTransmitter tds:Device</wsdd:Types>' +
      `<wsdd:Scopes>${escapeXml(this.scopes.join(' '))}</wsdd:Scopes>` +
      `<wsdd:XAddrs>${escapeXml(this.options.xaddrs.join(' '))}</wsdd:XAddrs>` +
      '<wsdd:MetadataVersion>1</wsdd:MetadataVersion>' +
      '</wsdd:ProbeMatch></wsdd:ProbeMatches></SOAP-ENV:Body>' +
      '</SOAP-ENV:Envelope>'
    );
  }
}
