// `hash`: an opaque, fixed-length stand-in: lower-case hex of a keyed BLAKE2b of the value.
// The same value gives the same hash in every table and every run with the same key
// (ColumnContext.secret), so joins still match; without the key nobody can test a guess.
// Always the first `length` characters of one 64-byte digest, so a column cut shorter to fit
// varchar(n) holds a prefix of what a longer column holds for the same value.

import { PgcloakError } from '../errors.js';
import { sodium } from '../vault/sodium.js';
import { requireSecret, textOrTextArrayMask } from './pseudonym.js';
import type { StrategyDefinition } from './strategy.js';

export const DEFAULT_HASH_LENGTH = 32;
const MAX_HASH_LENGTH = 128; // the whole 64-byte digest in hex
// Below 64 bits, values of a large table may start to share a hash.
const SHORT_HASH_WARNING = 16;
const TAG_HASH = Buffer.from('H');

/** The first `length` hex characters of the keyed BLAKE2b-512 of `value`. */
export function hashText(value: string, secret: Buffer, length: number): string {
  const out = Buffer.alloc(64);
  sodium.crypto_generichash(out, Buffer.concat([TAG_HASH, Buffer.from(value, 'utf8')]), secret);
  return out.toString('hex', 0, Math.ceil(length / 2)).slice(0, length);
}

export const hashStrategy: StrategyDefinition = {
  name: 'hash',
  description: `opaque keyed hash: lower-case hex of BLAKE2b, ${DEFAULT_HASH_LENGTH} characters unless \`length\` says otherwise, cut to fit varchar(n)/char(n); the same value gives the same hash in every table and run with the same key`,
  accepts: 'text types, arrays of them',
  parameters: [{ name: 'length', description: `hex characters to write, 1 to ${MAX_HASH_LENGTH} (default ${DEFAULT_HASH_LENGTH})`, required: false }],
  keyed: true,
  checkParams(params) {
    const length = params['length'];
    if (length === undefined) return [];
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > MAX_HASH_LENGTH) {
      return [`'length' must be an integer from 1 to ${MAX_HASH_LENGTH}`];
    }
    return [];
  },
  prepare(column, params) {
    const secret = requireSecret(column, 'hash');
    const wanted = typeof params['length'] === 'number' ? params['length'] : DEFAULT_HASH_LENGTH;
    const max = column.type.kind === 'array' ? column.type.element?.maxLength : column.type.maxLength;
    const length = max !== undefined && max < wanted ? max : wanted;
    if (length < wanted && length < SHORT_HASH_WARNING) {
      column.warn(`${column.path}: hashes cut to ${length} characters to fit ${column.type.display}: different values may get the same hash`);
    }
    const mask = textOrTextArrayMask(column.type, (value) => hashText(value, secret, length));
    if (mask) return mask;
    throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'hash' does not fit type ${column.type.display} (it takes text types and arrays of them)`, {
      table: column.table,
      column: column.column,
    });
  },
};
