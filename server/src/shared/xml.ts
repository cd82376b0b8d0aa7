/**
 * A small namespace-aware XML reader and escaping helpers for the SOAP messages of ONVIF and
 * WS-Discovery. Those messages are small, element-only documents: no DTDs, no mixed content that
 * matters. We resolve prefixes to namespace URIs because cameras use any prefix they like (`tds:`,
 * `d:`, default namespaces…), so only (namespace, local name) identifies an element.
 */

export interface XmlElement {
  /** The local name, without prefix. */
  name: string;
  /** The namespace URI, '' when none. */
  ns: string;
  /** Attributes by their local name (prefixes dropped; `xmlns` declarations left out). */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The concatenated, trimmed, entity-decoded text directly inside this element. */
  text: string;
}

export class XmlParseError extends Error {
  override readonly name = 'XmlParseError';
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}

interface OpenElement {
  element: XmlElement;
  qname: string;
  scope: Map<string, string>;
  text: string[];
}

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
const MAX_DEPTH = 64;

export interface ParseXmlOptions {
  /**
   * Give elements with an undeclared prefix the namespace '' instead of failing. For documents
   * whose declarations someone else stripped (the `onvif` library hands out such XML); match
   * those by local name only.
   */
  lenientPrefixes?: boolean;
}

/** Parses a document and returns its root element; throws XmlParseError on malformed input. */
export function parseXml(source: string, options: ParseXmlOptions = {}): XmlElement {
  const stack: OpenElement[] = [];
  let root: XmlElement | null = null;
  let i = 0;
  const rootScope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);

  while (i < source.length) {
    const lt = source.indexOf('<', i);
    if (lt === -1) break;
    if (lt > i && stack.length > 0) stack[stack.length - 1]!.text.push(source.slice(i, lt));
    if (source.startsWith('<?', lt)) {
      i = endOf(source, '?>', lt);
    } else if (source.startsWith('<!--', lt)) {
      i = endOf(source, '-->', lt);
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt);
      if (end === -1) throw new XmlParseError('unterminated CDATA section');
      // Pre-escape so the common decode below leaves CDATA content as written.
      stack[stack.length - 1]?.text.push(escapeXml(source.slice(lt + 9, end)));
      i = end + 3;
    } else if (source.startsWith('<!', lt)) {
      throw new XmlParseError('DTDs are not accepted');
    } else if (source.startsWith('</', lt)) {
      const gt = source.indexOf('>', lt);
      if (gt === -1) throw new XmlParseError('unterminated end tag');
      const qname = source.slice(lt + 2, gt).trim();
      const open = stack.pop();
      if (!open || open.qname !== qname) throw new XmlParseError(`unexpected </${qname}>`);
      open.element.text = decodeEntities(open.text.join('')).trim();
      if (stack.length === 0) root = open.element;
      i = gt + 1;
    } else {
      const gt = findTagEnd(source, lt);
      const selfClosing = source[gt - 1] === '/';
      const inner = source.slice(lt + 1, selfClosing ? gt - 1 : gt);
      const qname = /^[^\s/>]+/.exec(inner)?.[0];
      if (!qname) throw new XmlParseError('element without a name');
      if (root !== null) throw new XmlParseError('content after the root element');
      const parentScope = stack[stack.length - 1]?.scope ?? rootScope;
      const scope = new Map(parentScope);
      const raw: [string, string][] = [];
      for (const match of inner.slice(qname.length).matchAll(ATTRIBUTE)) {
        const key = match[1]!;
        const value = decodeEntities(match[3] ?? match[4] ?? '');
        if (key === 'xmlns') scope.set('', value);
        else if (key.startsWith('xmlns:')) scope.set(key.slice(6), value);
        else raw.push([key, value]);
      }
      const attributes: Record<string, string> = {};
      for (const [key, value] of raw) attributes[localName(key)] = value;
      const prefix = qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '';
      const ns = scope.get(prefix);
      if (ns === undefined && prefix !== '' && !options.lenientPrefixes) throw new XmlParseError(`undeclared prefix ${prefix}`);
      const element: XmlElement = { name: localName(qname), ns: ns ?? '', attributes, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.element.children.push(element);
      if (selfClosing) {
        if (!parent) root = element;
      } else {
        if (stack.length >= MAX_DEPTH) throw new XmlParseError('document nested too deeply');
        stack.push({ element, qname, scope, text: [] });
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) throw new XmlParseError(`unclosed <${stack[stack.length - 1]!.qname}>`);
  if (!root) throw new XmlParseError('no root element');
  return root;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon === -1 ? qname : qname.slice(colon + 1);
}

function endOf(source: string, terminator: string, from: number): number {
  const end = source.indexOf(terminator, from);
  if (end === -1) throw new XmlParseError(`unterminated ${source.slice(from, from + 4)}`);
  return end + terminator.length;
}

/** The `>` that ends the tag starting at `lt`, skipping quoted attribute values. */
function findTagEnd(source: string, lt: number): number {
  let quote: string | null = null;
  for (let j = lt + 1; j < source.length; j++) {
    const c = source[j];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j;
    }
  }
  throw new XmlParseError('unterminated start tag');
}

/** The first child with this local name (and namespace, when given). */
export function child(element: XmlElement | undefined, name: string, ns?: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name && (ns === undefined || c.ns === ns));
}

/** All children with this local name (and namespace, when given). */
export function children(element: XmlElement | undefined, name: string, ns?: string): XmlElement[] {
  return element?.children.filter((c) => c.name === name && (ns === undefined || c.ns === ns)) ?? [];
}

/** Follows a path of local names from `element`; undefined when any step is missing. */
export function path(element: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let current = element;
  for (const name of names) current = child(current, name);
  return current;
}
