import { randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { child, children, parseXml, type XmlElement } from '../shared/xml.ts';

/**
 * ONVIF WS-Discovery probes written by us: the `onvif` library only multicasts, and a recording
 * server on a court's intranet must be able to probe the addresses an admin typed, one by one.
 */

const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
} as const;

export const WS_DISCOVERY_PORT = 3702;
export const WS_DISCOVERY_MULTICAST = '239.255.255.250';
const MAX_TARGETS = 1024;

export interface DiscoveredCamera {
  /** The address probed as given (unicast), or the sender's address (multicast). */
  address: string;
  /** Device service URLs the camera announces. */
  xaddrs: string[];
  scopes: string[];
  /** The camera's stable identity, `urn:uuid:…`. */
  endpoint: string;
  /** From the onvif://www.onvif.org/name/… scope, decoded. */
  name?: string;
  /** From the onvif://www.onvif.org/hardware/… scope, decoded. */
  hardware?: string;
}

export interface ProbeMatch {
  endpoint: string;
  xaddrs: string[];
  scopes: string[];
  types: string[];
}

/** A Probe for ONVIF NetworkVideoTransmitters (what ONVIF Core §7.3 asks a client to send). */
export function buildProbe(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<s:Envelope xmlns:s="${NS.env}" xmlns:a="${NS.wsa}" xmlns:d="${NS.wsd}" xmlns:dn="${NS.dn}">` +
    '<s:Header>' +
    `<a:Action s:mustUnderstand="1">${NS.wsd}/Probe</a:Action>` +
    `<a:MessageID>${messageId}</a:MessageID>` +
    `<a:ReplyTo><a:Address>${NS.wsa}/role/anonymous</a:Address></a:ReplyTo>` +
    '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>' +
    '</s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>' +
    '</s:Envelope>'
  );
}

/** Reads a ProbeMatches message; null when the datagram is anything else. */
export function parseProbeMatches(xml: string): { relatesTo: string; matches: ProbeMatch[] } | null {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch {
    return null;
  }
  const header = child(root, 'Header', NS.env);
  const relatesTo = child(header, 'RelatesTo', NS.wsa)?.text;
  const probeMatches = child(child(root, 'Body', NS.env), 'ProbeMatches', NS.wsd);
  if (!relatesTo || !probeMatches) return null;
  const list = (element: XmlElement, name: string) => (child(element, name, NS.wsd)?.text ?? '').split(/\s+/).filter(Boolean);
  const matches = children(probeMatches, 'ProbeMatch', NS.wsd)
    .map((m) => ({
      endpoint: child(child(m, 'EndpointReference', NS.wsa), 'Address', NS.wsa)?.text ?? '',
      xaddrs: list(m, 'XAddrs'),
      scopes: list(m, 'Scopes'),
      types: list(m, 'Types'),
    }))
    .filter((m) => m.endpoint !== '');
  return { relatesTo, matches };
}

/** The decoded value of an `onvif://www.onvif.org/<kind>/<value>` scope, if present. */
export function scopeValue(scopes: string[], kind: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${kind}/`;
  const scope = scopes.find((s) => s.toLowerCase().startsWith(prefix.toLowerCase()));
  if (!scope) return undefined;
  const raw = scope.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function toDiscovered(address: string, match: ProbeMatch): DiscoveredCamera {
  const name = scopeValue(match.scopes, 'name');
  const hardware = scopeValue(match.scopes, 'hardware');
  return {
    address,
    xaddrs: match.xaddrs,
    scopes: match.scopes,
    endpoint: match.endpoint,
    ...(name !== undefined ? { name } : {}),
    ...(hardware !== undefined ? { hardware } : {}),
  };
}

/** `host` or `host:port` (IPv4 literal or name, `[v6]:port`) → host and port. */
export function parseTarget(address: string): { host: string; port: number } {
  const trimmed = address.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  const [host, port] = v6 ? [v6[1]!, v6[2]] : trimmed.includes(':') && isIP(trimmed) !== 6 ? trimmed.split(':') : [trimmed, undefined];
  const portNumber = port === undefined ? WS_DISCOVERY_PORT : Number(port);
  if (!host || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new TypeError(`not a host or host:port: ${address}`);
  }
  return { host, port: portNumber };
}

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '::1';

/**
 * Sends one Probe to each address from one UDP socket and collects the ProbeMatches that relate to
 * them until `timeoutMs` has passed. Silent addresses are simply absent from the result.
 */
export async function probeUnicast(
  addresses: string[],
  options: { timeoutMs: number; bindAddress?: string },
): Promise<DiscoveredCamera[]> {
  if (addresses.length > MAX_TARGETS) throw new TypeError(`at most ${MAX_TARGETS} addresses per probe`);
  const targets = addresses.map((address) => ({ address, ...parseTarget(address), messageId: `urn:uuid:${randomUUID()}` }));
  if (targets.length === 0) return [];
  const family = targets.some((t) => isIP(t.host) === 6) ? 'udp6' : 'udp4';
  // Only loopback targets: stay off the other interfaces altogether.
  const bindAddress =
    options.bindAddress ?? (targets.every((t) => isLoopback(t.host)) ? (family === 'udp6' ? '::1' : '127.0.0.1') : undefined);
  const byMessageId = new Map(targets.map((t) => [t.messageId, t.address]));
  return collect(family, bindAddress, options.timeoutMs, (socket) => {
    for (const target of targets) {
      socket.send(buildProbe(target.messageId), target.port, target.host, () => {
        // Unreachable targets are the normal case of a probe; they just stay silent.
      });
    }
    return (relatesTo) => byMessageId.get(relatesTo);
  });
}

/**
 * Production discovery: one Probe to 239.255.255.250:3702 out of the given interface, answers
 * collected until `timeoutMs`. Never used by tests or the demo (they stay on loopback).
 */
export async function probeMulticast(options: { interfaceAddress: string; timeoutMs: number }): Promise<DiscoveredCamera[]> {
  const messageId = `urn:uuid:${randomUUID()}`;
  return collect('udp4', options.interfaceAddress, options.timeoutMs, (socket) => {
    socket.setMulticastInterface(options.interfaceAddress);
    socket.setMulticastTTL(1); // ONVIF: discovery stays in the local subnet
    socket.send(buildProbe(messageId), WS_DISCOVERY_PORT, WS_DISCOVERY_MULTICAST, () => {});
    return (relatesTo, remote) => (relatesTo === messageId ? remote.address : undefined);
  });
}

/**
 * Opens a socket, lets `send` probe and return who an answer is from (undefined: not ours),
 * gathers matches until the timeout, one entry per (address, endpoint).
 */
function collect(
  family: 'udp4' | 'udp6',
  bindAddress: string | undefined,
  timeoutMs: number,
  send: (socket: Socket) => (relatesTo: string, remote: RemoteInfo) => string | undefined,
): Promise<DiscoveredCamera[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: family });
    const found = new Map<string, DiscoveredCamera>();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve([...found.values()]);
    };
    socket.once('error', (error) => finish(error));
    socket.bind(0, bindAddress, () => {
      let sourceOf: (relatesTo: string, remote: RemoteInfo) => string | undefined;
      try {
        sourceOf = send(socket);
      } catch (error) {
        finish(error as Error);
        return;
      }
      socket.on('message', (message, remote) => {
        const parsed = parseProbeMatches(message.toString('utf8'));
        if (!parsed) return;
        const address = sourceOf(parsed.relatesTo, remote);
        if (address === undefined) return;
        for (const match of parsed.matches) found.set(`${address} ${match.endpoint}`, toDiscovered(address, match));
      });
      timer = setTimeout(() => finish(), timeoutMs);
    });
  });
}
