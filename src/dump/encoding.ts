// The dump's character encoding (`SET client_encoding = '...'`). UTF-8 is read and
// checked as UTF-8. Every single-byte encoding PostgreSQL supports is read byte for
// byte (Latin-1 in JavaScript strings), so no byte of an unmasked value can change and
// placeholders made from a row's own key bytes come out in the dump's encoding.
// Names (tables, columns) are decoded with the real charset to match the rules file,
// and constants from the rules are converted into it.
// https://www.postgresql.org/docs/current/multibyte.html#CHARSET-TABLE

import { PgcloakError } from '../errors.js';
import type { TextEncoding } from '../copy/text-field.js';

export interface DumpEncoding {
  /** PostgreSQL's name, normalised: UTF8, LATIN1, WIN1252, … */
  name: string;
  /** How field bytes are read: validated UTF-8, or byte for byte. */
  fields: TextEncoding;
  /** Decodes DDL text (identifiers) to real characters. */
  decodeText(bytes: Buffer): string;
  /** A string of real characters (a constant from the rules) in the byte-for-byte form; throws when it cannot be written. */
  fromUnicode(text: string): string;
}

/** PostgreSQL single-byte encodings → WHATWG labels for TextDecoder. */
const SINGLE_BYTE: Record<string, string> = {
  SQLASCII: 'latin1-exact',
  LATIN1: 'latin1-exact',
  ISO88591: 'latin1-exact',
  LATIN2: 'iso-8859-2',
  ISO88592: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  ISO88593: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  ISO88594: 'iso-8859-4',
  LATIN5: 'windows-1254', // ISO-8859-9: WHATWG maps it to windows-1254, identical on printable bytes
  ISO88599: 'windows-1254',
  LATIN6: 'iso-8859-10',
  ISO885910: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  ISO885913: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  ISO885914: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  ISO885915: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  ISO885916: 'iso-8859-16',
  ISO88595: 'iso-8859-5',
  ISO88596: 'iso-8859-6',
  ISO88597: 'iso-8859-7',
  ISO88598: 'iso-8859-8',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
};

export const UTF8_ENCODING: DumpEncoding = {
  name: 'UTF8',
  fields: 'utf8',
  decodeText: (bytes) => bytes.toString('utf8'),
  fromUnicode: (text) => text,
};

function normalise(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** The encoding a `client_encoding` names; undefined for a multi-byte encoding other than UTF-8. */
export function dumpEncoding(pgName: string): DumpEncoding | undefined {
  const name = normalise(pgName);
  if (name === 'UTF8' || name === 'UNICODE') return UTF8_ENCODING;
  const label = SINGLE_BYTE[name];
  if (label === undefined) return undefined;
  if (label === 'latin1-exact') {
    return {
      name,
      fields: 'latin1',
      decodeText: (bytes) => bytes.toString('latin1'),
      fromUnicode: (text) => {
        if (/[^\u0000-\u00ff]/.test(text)) throw new PgcloakError('RULES_SCHEMA', `a constant has characters ${name} cannot hold`);
        return text;
      },
    };
  }
  const decoder = new TextDecoder(label);
  // Byte → character and back, from the decoder itself.
  const toByte = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    const ch = decoder.decode(Uint8Array.of(b));
    if (ch !== '\ufffd' && !toByte.has(ch)) toByte.set(ch, b);
  }
  return {
    name,
    fields: 'latin1',
    decodeText: (bytes) => decoder.decode(bytes),
    fromUnicode: (text) => {
      let out = '';
      for (const ch of text) {
        const b = toByte.get(ch);
        if (b === undefined) throw new PgcloakError('RULES_SCHEMA', `a constant has characters ${name} cannot hold`);
        out += String.fromCharCode(b);
      }
      return out;
    },
  };
}
