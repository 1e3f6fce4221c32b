// The secret of keyed strategies (pseudonym, hash). It must stay the same from run to run, so
// that the same original gets the same pseudonym in every table, dump and run: it is a BLAKE2b
// subkey of a 32-byte key, the --pseudonym-key file if one is given, else the vault's key file.
// The vault key itself is never used directly, so pseudonyms reveal nothing about it.
//
// A passphrase vault's key changes with every vault (a fresh Argon2id salt), and a secret
// stretched from the passphrase with a fixed salt would let anyone holding the masked dump test
// passphrase guesses against its pseudonyms offline; a recipient vault leaves no secret at home
// at all. Both need --pseudonym-key.
//
// The vault's metadata records where the secret came from and a fingerprint of it, so unmask,
// which masks every row again to check it, reports a missing or wrong key at once.

import { PgcloakError } from '../errors.js';
import type { RuleSet } from '../rules/rules-file.js';
import { KEY_BYTES, type KeySource } from '../vault/key.js';
import { sodium } from '../vault/sodium.js';

export type SecretOrigin = 'key-file' | 'pseudonym-key';

export interface StrategySecret {
  key: Buffer;
  /** What the vault's metadata records under `strategySecret`. */
  record: { from: SecretOrigin; id: string };
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
  return { key: secret, record: { from, id: secretId(secret) } };
}

/**
 * The secret for masking with these rules: undefined when no rule needs one, an error naming
 * the first such rule when the run has no key to derive it from.
 */
export function secretForMask(rules: RuleSet, pseudonymKey: Buffer | undefined, vault: KeySource | undefined): StrategySecret | undefined {
  const keyed = keyedRulePaths(rules);
  if (keyed.length === 0) return undefined;
  if (pseudonymKey !== undefined) return secretFrom(pseudonymKey, 'pseudonym-key');
  if (vault?.kind === 'key') return secretFrom(vault.key, 'key-file');
  const why =
    vault?.kind === 'passphrase'
      ? 'a passphrase gives no key that stays the same from run to run'
      : vault?.kind === 'recipient'
        ? 'with --recipient this host holds no secret key'
        : 'the run has no key file';
  throw new PgcloakError(
    'KEY_MISSING',
    `${keyed[0]}: pseudonym and hash need a secret key, and ${why}: give --pseudonym-key FILE (made by \`pgcloak keygen\`), and the same file to unmask`,
  );
}

/** The secret unmask needs to mask rows again exactly as masking did, checked against the vault's record. */
export function secretForUnmask(metadata: Record<string, unknown>, pseudonymKey: Buffer | undefined, vault: KeySource): Buffer | undefined {
  const recorded = metadata['strategySecret'];
  if (recorded === undefined) return undefined;
  if (typeof recorded !== 'object' || recorded === null || !('from' in recorded) || !('id' in recorded) || typeof recorded.id !== 'string') {
    throw new PgcloakError('VAULT_FORMAT', 'the vault records its pseudonym key in a form this pgcloak does not know');
  }
  let base: Buffer | undefined;
  if (recorded.from === 'pseudonym-key') {
    if (pseudonymKey === undefined) {
      throw new PgcloakError('KEY_MISSING', 'this vault was masked with --pseudonym-key: give the same file to unmask');
    }
    base = pseudonymKey;
  } else if (recorded.from === 'key-file' && vault.kind === 'key') {
    base = vault.key;
  } else {
    throw new PgcloakError('VAULT_FORMAT', 'the vault records a pseudonym key this run cannot derive');
  }
  const secret = strategySubkey(base);
  if (secretId(secret) !== recorded.id) {
    throw new PgcloakError('VAULT_WRONG_KEY', 'the --pseudonym-key is not the one this vault was masked with');
  }
  return secret;
}
