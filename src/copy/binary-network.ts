// Network address types in binary COPY form and their text forms (network.c, mac.c,
// mac8.c, inet_net_ntop.c, inet_net_pton.c in PostgreSQL).
// inet/cidr: family byte (2 IPv4, 3 IPv6), prefix bits, is_cidr byte, address length,
// address bytes. macaddr: 6 bytes; macaddr8: 8 bytes.
// https://www.postgresql.org/docs/current/datatype-net-types.html

import { PgcloakError } from '../errors.js';

const PGSQL_AF_INET = 2;
const PGSQL_AF_INET6 = 3;

function invalidValue(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid ${type} value`);
}

function invalidInput(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid input syntax for type ${type}`);
}

// --- inet, cidr ---

export function readInet(buf: Buffer, start: number, end: number, cidr: boolean): string {
  const type = cidr ? 'cidr' : 'inet';
  if (end - start < 4) throw invalidValue(type);
  const family = buf[start]!;
  const bits = buf[start + 1]!;
  const size = buf[start + 3]!;
  const expected = family === PGSQL_AF_INET ? 4 : family === PGSQL_AF_INET6 ? 16 : -1;
  if (size !== expected || end - start !== 4 + size || bits > size * 8) throw invalidValue(type);
  const addr = buf.subarray(start + 4, end);
  if (cidr && !hostBitsZero(addr, bits)) throw invalidValue(type);
  const text = family === PGSQL_AF_INET ? [...addr].join('.') : ipv6Text(addr);
  // inet shows the prefix only when it is not the whole address; cidr always.
  return cidr || bits !== size * 8 ? `${text}/${bits}` : text;
}

/** inet_net_ntop_ipv6 (as in PostgreSQL 15): the longest run of two or more zero words is ::. */
function ipv6Text(addr: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(addr.readUInt16BE(i));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // An IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) address.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

function hostBitsZero(addr: Buffer, bits: number): boolean {
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff >> keep) & 0xff;
    if ((addr[i]! & mask) !== 0) return false;
  }
  return true;
}

export function writeInet(text: string, cidr: boolean): Buffer {
  const type = cidr ? 'cidr' : 'inet';
  let addr: number[];
  let bits: number;
  let family: number;
  if (text.includes(':')) {
    family = PGSQL_AF_INET6;
    const slash = text.indexOf('/');
    const parsed = parseIpv6(slash === -1 ? text : text.slice(0, slash));
    if (parsed === null) throw invalidInput(type);
    addr = parsed;
    bits = slash === -1 ? 128 : parseBits(text.slice(slash + 1), 128, type);
  } else {
    family = PGSQL_AF_INET;
    [addr, bits] = cidr ? parseCidrIpv4(text) : parseInetIpv4(text);
  }
  const out = Buffer.alloc(4 + addr.length);
  out[0] = family;
  out[1] = bits;
  out[2] = cidr ? 1 : 0;
  out[3] = addr.length;
  for (let i = 0; i < addr.length; i++) out[4 + i] = addr[i]!;
  if (cidr && !hostBitsZero(out.subarray(4), bits)) {
    throw new PgcloakError('COPY_VALUE', 'binary COPY: invalid cidr value: it has bits set to the right of the mask');
  }
  return out;
}

function parseBits(text: string, max: number, type: string): number {
  if (!/^\d{1,3}$/.test(text)) throw invalidInput(type);
  const bits = Number(text);
  if (bits > max) throw invalidInput(type);
  return bits;
}

/** Dotted decimal octets and an optional /bits, as inet_net_pton_ipv4 reads them. */
function ipv4Parts(text: string, type: string): { octets: number[]; bits: number | null } {
  const m = /^(\d+(?:\.\d+){0,3})(?:\/(\d+))?$/.exec(text);
  if (!m) throw invalidInput(type);
  const octets = m[1]!.split('.').map(Number);
  if (octets.some((o) => o > 255)) throw invalidInput(type);
  return { octets, bits: m[2] === undefined ? null : parseBits(m[2], 32, type) };
}

/** inet: four octets, or fewer with a prefix that does not reach beyond them. */
function parseInetIpv4(text: string): [number[], number] {
  const { octets, bits } = ipv4Parts(text, 'inet');
  if (bits === null) {
    if (octets.length !== 4) throw invalidInput('inet');
    return [octets, 32];
  }
  if (Math.floor(bits / 8) > octets.length) throw invalidInput('inet');
  while (octets.length < 4) octets.push(0);
  return [octets, bits];
}

/** cidr: abbreviated networks, with the prefix imputed from the address class when omitted. */
function parseCidrIpv4(text: string): [number[], number] {
  const { octets, bits: given } = ipv4Parts(text, 'cidr');
  let bits = given;
  if (bits === null) {
    const first = octets[0]!;
    if (first >= 240) bits = 32;
    else if (first >= 224) bits = 4;
    else if (first >= 192) bits = 24;
    else if (first >= 128) bits = 16;
    else bits = 8;
    if (bits >= 8 && bits < octets.length * 8) bits = octets.length * 8;
  }
  while (octets.length < 4) octets.push(0);
  return [octets, bits];
}

/** inet_pton for IPv6: up to eight hex words, one '::', optionally a dotted IPv4 tail. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseWords = (part: string, allowIpv4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const bytes: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowIpv4Tail && i === groups.length - 1 && g.includes('.')) {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g);
        if (!m) return null;
        const octets = m.slice(1).map(Number);
        if (octets.some((o) => o > 255)) return null;
        bytes.push(...octets);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        const w = parseInt(g, 16);
        bytes.push(w >> 8, w & 0xff);
      }
    }
    return bytes;
  };
  if (halves.length === 1) {
    const bytes = parseWords(text, true);
    return bytes !== null && bytes.length === 16 ? bytes : null;
  }
  const head = parseWords(halves[0]!, false);
  const tail = parseWords(halves[1]!, true);
  if (head === null || tail === null || head.length + tail.length > 14) return null;
  return [...head, ...new Array<number>(16 - head.length - tail.length).fill(0), ...tail];
}

// --- macaddr, macaddr8 ---

export function readMacaddr(buf: Buffer, start: number, end: number, size: 6 | 8): string {
  if (end - start !== size) throw invalidValue(size === 6 ? 'macaddr' : 'macaddr8');
  const parts: string[] = [];
  for (let i = start; i < end; i++) parts.push(buf[i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

// macaddr_in's sscanf patterns: six 1-2 digit hex bytes separated by ':' or '-', or
// 3+3 bytes around ':' or '-', or 2+2+2 around '.' or '-', or twelve digits.
const MACADDR_FORMS = [
  /^([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2})$/i,
  /^([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})[:-]([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})[.-]([0-9a-f]{2})([0-9a-f]{2})[.-]([0-9a-f]{2})([0-9a-f]{2})$/i,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i,
];

export function writeMacaddr(text: string): Buffer {
  const t = text.trim();
  for (const form of MACADDR_FORMS) {
    const m = form.exec(t);
    if (m) return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
  }
  throw invalidInput('macaddr');
}

/**
 * macaddr8_in: pairs of hex digits, optionally separated by one kind of ':', '-' or '.';
 * six bytes become EUI-64 by inserting ff:fe in the middle.
 */
export function writeMacaddr8(text: string): Buffer {
  const t = text.trim();
  const bytes: number[] = [];
  let separator = '';
  let i = 0;
  while (i < t.length) {
    const pair = t.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) throw invalidInput('macaddr8');
    bytes.push(parseInt(pair, 16));
    i += 2;
    if (i < t.length && ':-.'.includes(t[i]!)) {
      if (separator === '') separator = t[i]!;
      else if (t[i] !== separator) throw invalidInput('macaddr8');
      i++;
      if (i === t.length) throw invalidInput('macaddr8');
    }
  }
  if (bytes.length === 6) bytes.splice(3, 0, 0xff, 0xfe);
  if (bytes.length !== 8) throw invalidInput('macaddr8');
  return Buffer.from(bytes);
}
