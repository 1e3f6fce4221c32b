// `hash`: an opaque, fixed-length stand-in: lower-case hex of a keyed BLAKE2b of the value.
// The same value gives the same hash in every table under one key (ColumnContext.secret), so
// joins still match; without the key nobody can test a guess. A rule's `domain:` goes into the
// hashed message, so columns in other domains get unrelated hashes.
// Always the first `length` characters of one 64-byte digest, so a column cut shorter to fit
// varchar(n) holds a prefix of what a longer column holds for the same value. The mask says how
// many bits that leaves (collisionBits), so masking can warn when a table has rows enough for
// two values to share a hash.

import { PgcloakError } from '../errors.js';
import { sodium } from '../sodium.js';
import { checkDomainParam, DOMAIN_PARAMETER, isTextOrTextArray, requireSecret, textOrTextArrayMask } from './pseudonym.js';
import type { ResolvedType } from '../schema/types.js';
import type { StrategyDefinition } from './strategy.js';

export const DEFAULT_HASH_LENGTH = 32;
const MAX_HASH_LENGTH = 128; // the whole 64-byte digest in hex
// Below 64 bits, values of a large table may start to share a hash.
const SHORT_HASH_WARNING = 16;
// Domain separation of the keyed BLAKE2b calls (pseudonym.ts uses 'F', 'L', 'X', 'S').
const TAG_HASH = Buffer.from('H');
const TAG_DOMAIN_HASH = 0x44; // 'D', then the u16 length and UTF-8 bytes of the domain, then the value

/** The first `length` hex characters of the keyed BLAKE2b-512 of `value` (in `domain`, if given). */
export function hashText(value: string, secret: Buffer, length: number, domain?: string): string {
  const out = Buffer.alloc(64);
  sodium.crypto_generichash(out, Buffer.concat([domain === undefined ? TAG_HASH : domainPrefix(domain), Buffer.from(value, 'utf8')]), secret);
  return out.toString('hex', 0, Math.ceil(length / 2)).slice(0, length);
}

function domainPrefix(domain: string): Buffer {
  const bytes = Buffer.from(domain, 'utf8');
  const out = Buffer.alloc(3 + bytes.length);
  out[0] = TAG_DOMAIN_HASH;
  out.writeUInt16BE(bytes.length, 1);
  bytes.copy(out, 3);
  return out;
}

/** The hex characters the rule asks for, and those written: fewer when varchar(n)/char(n) holds fewer. */
function hashLength(type: ResolvedType, params: Readonly<Record<string, unknown>>): { wanted: number; length: number } {
  const wanted = typeof params['length'] === 'number' ? params['length'] : DEFAULT_HASH_LENGTH;
  const max = type.kind === 'array' ? type.element?.maxLength : type.maxLength;
  return { wanted, length: max !== undefined && max < wanted ? max : wanted };
}

export const hashStrategy: StrategyDefinition = {
  name: 'hash',
  description: `opaque keyed hash: lower-case hex of BLAKE2b, ${DEFAULT_HASH_LENGTH} characters unless \`length\` says otherwise, cut to fit varchar(n)/char(n); the same value gives the same hash in every table of a run (in one \`domain\`), and in every run with the same persistent key`,
  accepts: 'text types, arrays of them',
  parameters: [{ name: 'length', description: `hex characters to write, 1 to ${MAX_HASH_LENGTH} (default ${DEFAULT_HASH_LENGTH})`, required: false }, DOMAIN_PARAMETER],
  keyed: true,
  checkParams(params) {
    const problems = checkDomainParam(params);
    const length = params['length'];
    if (length !== undefined && (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > MAX_HASH_LENGTH)) {
      problems.push(`'length' must be an integer from 1 to ${MAX_HASH_LENGTH}`);
    }
    return problems;
  },
  // One to one but for the chance of two values sharing a hash, which prepare warns of (collisionBits).
  distinctness: (type, params) =>
    isTextOrTextArray(type) ? { kind: 'value', fn: `hash length=${hashLength(type, params).length} domain=${JSON.stringify(params['domain'] ?? null)}` } : undefined,
  prepare(column, params) {
    const secret = requireSecret(column, 'hash');
    const { wanted, length } = hashLength(column.type, params);
    if (length < wanted && length < SHORT_HASH_WARNING) {
      column.warn(`${column.path}: hashes cut to ${length} characters to fit ${column.type.display}: different values may get the same hash`);
    }
    const domain = typeof params['domain'] === 'string' ? params['domain'] : undefined;
    const mask = textOrTextArrayMask(column.type, (value) => hashText(value, secret, length, domain));
    if (mask?.kind === 'value') return { ...mask, collisionBits: 4 * length };
    throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'hash' does not fit type ${column.type.display} (it takes text types and arrays of them)`, {
      table: column.table,
      column: column.column,
    });
  },
};
