import { child, parseXml, type XmlElement } from '../../shared/xml.ts';

/** The namespaces a Hikvision or Dahua device service declares, with the prefixes they use. */
export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  tt: 'http://www.onvif.org/ver10/schema',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  timg: 'http://www.onvif.org/ver20/imaging/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  ter: 'http://www.onvif.org/ver10/error',
} as const;

export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

const DECLARATIONS = Object.entries(NS)
  .map(([prefix, uri]) => `xmlns:${prefix}="${uri}"`)
  .join(' ');

/** A complete SOAP 1.2 envelope around `body` (already serialised, using the prefixes of NS). */
export function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${DECLARATIONS}><env:Header/><env:Body>${body}</env:Body></env:Envelope>`;
}

export type FaultCode = 'env:Sender' | 'env:Receiver';

/** An ONVIF error: a SOAP 1.2 fault code, the `ter:` subcodes (outer first) and a reason. */
export interface SoapFault {
  code: FaultCode;
  subcodes: string[];
  reason: string;
}

export function faultEnvelope(fault: SoapFault): string {
  const subcodes = fault.subcodes.reduceRight(
    (inner, subcode) => `<env:Subcode><env:Value>${subcode}</env:Value>${inner}</env:Subcode>`,
    '',
  );
  return envelope(
    '<env:Fault>' +
      `<env:Code><env:Value>${fault.code}</env:Value>${subcodes}</env:Code>` +
      // xml:lang is required by SOAP 1.2, and the onvif library only reads the reason with it.
      `<env:Reason><env:Text xml:lang="en">${fault.reason}</env:Text></env:Reason>` +
      '</env:Fault>',
  );
}

/**
 * The SOAP 1.2 HTTP binding: a Sender fault is 400, a Receiver fault 500. ONVIF Core §5.12 uses the
 * same mapping, and ter:NotAuthorized is a Sender fault, hence 400.
 */
export function faultStatus(fault: SoapFault): number {
  return fault.code === 'env:Sender' ? 400 : 500;
}

export const FAULTS = {
  notAuthorized: {
    code: 'env:Sender',
    subcodes: ['ter:NotAuthorized'],
    reason: 'Sender not Authorized',
  },
  wellFormed: { code: 'env:Sender', subcodes: ['ter:WellFormed'], reason: 'XML not well-formed' },
  actionNotSupported: {
    code: 'env:Receiver',
    subcodes: ['ter:ActionNotSupported'],
    reason: 'Optional Action Not Implemented',
  },
  noSuchService: {
    code: 'env:Receiver',
    subcodes: ['ter:ActionNotSupported', 'ter:NoSuchService'],
    reason: 'The requested service is not supported',
  },
  noProfile: { code: 'env:Sender', subcodes: ['ter:InvalidArgVal', 'ter:NoProfile'], reason: 'Profile not exist' },
  invalidStreamSetup: {
    code: 'env:Sender',
    subcodes: ['ter:InvalidArgVal', 'ter:InvalidStreamSetup'],
    reason: 'Specification of StreamType or Transport part in StreamSetup is not supported',
  },
} as const satisfies Record<string, SoapFault>;

/** A parsed SOAP request: its header, and the first Body element (which names the action). */
export interface SoapRequest {
  header: XmlElement | undefined;
  action: XmlElement;
}

export class SoapParseError extends Error {
  override readonly name = 'SoapParseError';
}

export function parseSoapRequest(xml: string): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    throw new SoapParseError((error as Error).message);
  }
  if (root.name !== 'Envelope' || root.ns !== NS.env) throw new SoapParseError('not a SOAP 1.2 envelope');
  const body = child(root, 'Body', NS.env);
  const action = body?.children[0];
  if (!action) throw new SoapParseError('empty SOAP body');
  return { header: child(root, 'Header', NS.env), action };
}

/** A tt:DateTime's Time and Date fields: UTC, or Beijing local time (the zone, CST-8, we announce). */
export function dateTimeXml(date: Date, zone: 'utc' | 'local'): string {
  const d = zone === 'utc' ? date : new Date(date.getTime() + 8 * 3600_000);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute>` +
    `<tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month>` +
    `<tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}
