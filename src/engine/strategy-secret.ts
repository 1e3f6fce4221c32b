// The secret of keyed strategies (pseudonym, hash): one 32-byte key for the whole run, so that
// the same original gets the same pseudonym in every table of the dump. Where it comes from:
//
//   --pseudonym-key FILE  a BLAKE2b subkey of that key file: the same in every run and every
//                         vault, so pseudonyms match across dumps. Whoever holds the file can
//                         invert every pseudonym and test guesses against hashes.
//   --key-file (vault)    a BLAKE2b subkey of the vault's key file (never the vault key itself):
//                         the same in every run with that key file, which opens the vault anyway.
//   otherwise             (a passphrase or --recipient vault) 32 random bytes made for this run,
//                         kept only inside the vault's encrypted metadata: nobody without the
//                         vault's passphrase or secret key can compute or invert a pseudonym,
//                         not even the host that masked. Pseudonyms then match across the
//                         tables of one run, not across runs.
//
// A passphrase stretched with a fixed salt would let anyone holding the masked dump test
// passphrase guesses against its pseudonyms offline, and a public key cannot be a secret: so
// neither is ever a pseudonym key.
//
// The vault's metadata records, under `strategySecret`, where the secret came from, a one-way
// fingerprint of it, the pseudonym algorithm, and, for a key made for the run, the key itself.
// unmask, which masks every row again to check it, takes the key from there or reports a
// missing or wrong persistent key at once.

import { PgcloakError } from '../errors.js';
import type { RuleSet } from '../rules/rules-file.js';
import { forgetShuffles } from '../strategies/small-domain.js';
import { PSEUDONYM_VERSION, PSEUDONYM_VERSIONS } from '../strategies/pseudonym.js';
import { KEY_BYTES, type KeySource } from '../vault/key.js';
import { sodium } from '../sodium.js';

export type SecretOrigin = 'key-file' | 'pseudonym-key' | 'run';

export interface SecretRecord {
  from: SecretOrigin;
  id: string;
  /** The pseudonym algorithm the run masked with (absent in vaults of pgcloak 0.1.0: 1). */
  pseudonymVersion: number;
  /** from 'run': the key itself, base64 (the metadata frame is encrypted with the vault). */
  key?: string;
}

export interface StrategySecret {
  key: Buffer;
  pseudonymVersion: number;
  /** What the vault's metadata records under `strategySecret`. */
  record: SecretRecord;
}

const SUBKEY_CONTEXT = Buffer.from('pgcloak strategy secret v1');
const ID_CONTEXT = Buffer.from('pgcloak strategy secret id v1');
const ID_BYTES = 16;

/** The 32-byte strategy secret derived from a 32-byte key. */
export function strategySubkey(key: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new PgcloakError('KEY_INVALID', `a pseudonym key is ${KEY_BYTES} bytes, got ${key.length}`);
  const out = Buffer.alloc(KEY_BYTES);
  sodium.crypto_generichash(out, SUBKEY_CONTEXT, key);
  return out;
}

/** A fingerprint of the secret (one-way), for the vault's metadata. */
export function secretId(secret: Buffer): string {
  const out = Buffer.alloc(ID_BYTES);
  sodium.crypto_generichash(out, ID_CONTEXT, secret);
  return out.toString('hex');
}

/** Rules-file paths of the columns a keyed strategy masks. */
export function keyedRulePaths(rules: RuleSet): string[] {
  const paths: string[] = [];
  for (const table of rules.tables.values()) {
    for (const column of table.columns.values()) if (column.strategy.keyed) paths.push(column.path);
  }
  return paths;
}

function secretFrom(key: Buffer, from: SecretOrigin): StrategySecret {
  const secret = strategySubkey(key);
  return { key: secret, pseudonymVersion: PSEUDONYM_VERSION, record: { from, id: secretId(secret), pseudonymVersion: PSEUDONYM_VERSION } };
}

/**
 * The secret for masking with these rules: undefined when no rule needs one. The caller wipes
 * it (wipeStrategySecret) once the run is over.
 */
export function secretForMask(rules: RuleSet, pseudonymKey: Buffer | undefined, vault: KeySource | undefined): StrategySecret | undefined {
  if (keyedRulePaths(rules).length === 0) return undefined;
  if (pseudonymKey !== undefined) return secretFrom(pseudonymKey, 'pseudonym-key');
  if (vault?.kind === 'key') return secretFrom(vault.key, 'key-file');
  const key = Buffer.alloc(KEY_BYTES);
  sodium.randombytes_buf(key);
  return {
    key,
    pseudonymVersion: PSEUDONYM_VERSION,
    record: { from: 'run', id: secretId(key), pseudonymVersion: PSEUDONYM_VERSION, key: key.toString('base64') },
  };
}

/**
 * The secret unmask needs to mask rows again exactly as masking did, checked against the
 * vault's record; undefined when the vault records none. The caller wipes it.
 */
export function secretForUnmask(metadata: Record<string, unknown>, pseudonymKey: Buffer | undefined, vault: KeySource): StrategySecret | undefined {
  const recorded = metadata['strategySecret'];
  if (recorded === undefined) return undefined;
  if (typeof recorded !== 'object' || recorded === null || !('from' in recorded) || !('id' in recorded) || typeof recorded.id !== 'string') {
    throw unknownRecord();
  }
  const version = 'pseudonymVersion' in recorded ? recorded.pseudonymVersion : 1;
  if (typeof version !== 'number' || !PSEUDONYM_VERSIONS.includes(version)) {
    throw new PgcloakError('VAULT_FORMAT', `the vault's pseudonyms are of algorithm ${String(version)}, which this pgcloak does not know (a newer one made it)`);
  }
  let secret: Buffer;
  if (recorded.from === 'run') {
    secret = runKey('key' in recorded ? recorded.key : undefined);
  } else if (recorded.from === 'pseudonym-key') {
    if (pseudonymKey === undefined) {
      throw new PgcloakError('KEY_MISSING', 'this vault was masked with --pseudonym-key: give the same file to unmask');
    }
    secret = strategySubkey(pseudonymKey);
  } else if (recorded.from === 'key-file' && vault.kind === 'key') {
    secret = strategySubkey(vault.key);
  } else {
    throw new PgcloakError('VAULT_FORMAT', 'the vault records a pseudonym key this run cannot derive');
  }
  if (secretId(secret) !== recorded.id) {
    const from = recorded.from;
    sodium.sodium_memzero(secret);
    if (from === 'run') throw new PgcloakError('VAULT_FORMAT', "the vault's pseudonym key does not match its fingerprint");
    throw new PgcloakError('VAULT_WRONG_KEY', 'the --pseudonym-key is not the one this vault was masked with');
  }
  return { key: secret, pseudonymVersion: version, record: recorded as SecretRecord };
}

/** The key a run made for itself, from the vault's metadata. */
function runKey(text: unknown): Buffer {
  const key = typeof text === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== KEY_BYTES) throw unknownRecord();
  return key;
}

function unknownRecord(): PgcloakError {
  return new PgcloakError('VAULT_FORMAT', 'the vault records its pseudonym key in a form this pgcloak does not know');
}

/** Zeroes the secret and every table made with it: the run is over. */
export function wipeStrategySecret(secret: StrategySecret | undefined): void {
  if (secret === undefined) return;
  forgetShuffles(secret.key);
  sodium.sodium_memzero(secret.key);
}

/** `strategySecret` as it may be shown (vault info): without the key a run made for itself. */
export function shownSecretRecord(recorded: unknown): unknown {
  if (typeof recorded !== 'object' || recorded === null || !('key' in recorded)) return recorded;
  const { key: _key, ...shown } = recorded as Record<string, unknown>;
  return shown;
}
