// Signed vaults (format 3, FLAG_SIGNED): the signature binds every byte before it, names its
// signer in clear, and `verify` refuses an unsigned vault or another signer before any key is
// derived. Every changed byte, a cut or extended file and a signature block taken from another
// vault must end in a PgcloakError.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { generateKeyPair, readKeyFile, readPublicKeyFile, readSecretKeyFile, readSigningKey, readVerifyKeyFile, type KeySource } from '../../src/vault/key.js';
import { VaultReader } from '../../src/vault/reader.js';
import { SIGNATURE_BLOCK_BYTES, SIGNATURE_MAGIC, peekVaultSigner, signerFingerprint, type SigningKey } from '../../src/vault/signature.js';
import { VaultWriter, type FieldRef } from '../../src/vault/writer.js';
import {
  expectVaultError,
  expectedRecords,
  keySource,
  makeTempDir,
  passphraseSource,
  randomKey,
  removeTempDirs,
  type SampleVault,
} from './helpers.js';

const VAULT_ERRORS: ErrorCode[] = ['VAULT_WRONG_KEY', 'VAULT_TAMPERED', 'VAULT_TRUNCATED', 'VAULT_FORMAT', 'VAULT_SIGNATURE'];

let dir: string;
let signer: SigningKey;
let otherSigner: SigningKey;
let key: Buffer;

function sample(tag: string, rows = 20): SampleVault {
  return {
    metadata: { kind: 'signature test', tag },
    tables: [{ index: 0, table: 'public.t' }],
    rows: Array.from({ length: rows }, (_, i) => ({ tableIndex: 0, ordinal: i + 1, fields: [Buffer.from(String(i)), Buffer.from(`${tag}-original-${i}`)] })),
    trailer: { maskedDigest: `digest of ${tag}` },
  };
}

function writeSigned(path: string, source: KeySource, s: SampleVault, sign: SigningKey | undefined): Buffer {
  const writer = VaultWriter.create(path, source, s.metadata, { signKey: sign });
  for (const decl of s.tables) writer.declareTable(decl);
  for (const row of s.rows) writer.row(row.tableIndex, row.ordinal, row.fields.map((buf): FieldRef => ({ buf, start: 0, end: buf.length })));
  writer.finish(s.trailer);
  return readFileSync(path);
}

function readAll(path: string, source: KeySource, verify?: Buffer): { reader: VaultReader; records: unknown[] } {
  const reader = VaultReader.open(path, source, { verify });
  const records: unknown[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) records.push(r);
  return { reader, records };
}

let variant = 0;
function rejected(bytes: Buffer, source: KeySource, verify: Buffer | undefined, codes: readonly ErrorCode[] = VAULT_ERRORS): ErrorCode {
  const path = join(dir, `variant-${variant++}.vault`);
  writeFileSync(path, bytes);
  return expectVaultError(() => readAll(path, source, verify), codes).code;
}

beforeAll(() => {
  dir = makeTempDir();
  generateKeyPair(join(dir, 'sig'), 'sign');
  generateKeyPair(join(dir, 'other'), 'sign');
  signer = readSigningKey(join(dir, 'sig'));
  otherSigner = readSigningKey(join(dir, 'other'));
  key = randomKey();
});
afterAll(removeTempDirs);

describe('signing key files', () => {
  it('hold a seed whose key pair is the one NAME.pub names', () => {
    expect(readFileSync(join(dir, 'sig'), 'latin1')).toMatch(/^pgcloak-sign-secret-v1:[A-Za-z0-9+/]{43}=\n$/);
    expect(readFileSync(join(dir, 'sig.pub'), 'latin1')).toMatch(/^pgcloak-sign-public-v1:[A-Za-z0-9+/]{43}=\n$/);
    expect(readVerifyKeyFile(join(dir, 'sig.pub')).equals(signer.publicKey)).toBe(true);
    expect(signer.secretKey).toHaveLength(64);
  });

  it('are refused where another kind of key belongs, naming what they are and what takes them', () => {
    generateKeyPair(join(dir, 'box'));
    expect(expectVaultError(() => readVerifyKeyFile(join(dir, 'sig')), ['KEY_INVALID']).message).toMatch(
      /is a signing key file \(pgcloak-sign-secret-v1, for mask --sign-key\), not a signature-checking key file/,
    );
    expect(expectVaultError(() => readSigningKey(join(dir, 'sig.pub')), ['KEY_INVALID']).message).toMatch(
      /is a signature-checking key file \(pgcloak-sign-public-v1, for --verify\), not a signing key file/,
    );
    expect(expectVaultError(() => readVerifyKeyFile(join(dir, 'box.pub')), ['KEY_INVALID']).message).toMatch(/is a public key file \(pgcloak-public-v1, for mask --recipient\)/);
    expect(expectVaultError(() => readPublicKeyFile(join(dir, 'sig.pub')), ['KEY_INVALID']).message).toMatch(/for --verify\), not a public key file/);
    expect(expectVaultError(() => readSecretKeyFile(join(dir, 'sig')), ['KEY_INVALID']).message).toMatch(/for mask --sign-key\), not a secret key file/);
  });
});

describe('signed vaults', () => {
  const modes: Array<[string, () => { write: KeySource; read: KeySource }]> = [
    ['key file', () => ({ write: keySource(key), read: keySource(key) })],
    ['passphrase', () => ({ write: passphraseSource('sesame'), read: passphraseSource('sesame') })],
    [
      'recipient',
      () => {
        generateKeyPair(join(dir, `id-${variant}`));
        const r = { write: { kind: 'recipient', publicKey: readPublicKeyFile(join(dir, `id-${variant}.pub`)) }, read: { kind: 'identity', secretKey: readSecretKeyFile(join(dir, `id-${variant}`)) } } as const;
        variant++;
        return r;
      },
    ],
  ];

  it.each(modes)('in %s mode: read back whole, the signer named, checked with and without verify', (_mode, sources) => {
    const { write, read } = sources();
    const path = join(dir, `signed-${variant++}.vault`);
    const s = sample('mode');
    const file = writeSigned(path, write, s, signer);
    expect(file[8]).toBe(3);
    expect(file[10]).toBe(1); // FLAG_SIGNED
    const tail = file.subarray(file.length - SIGNATURE_BLOCK_BYTES);
    expect(tail.subarray(0, 8).equals(SIGNATURE_MAGIC)).toBe(true);
    expect(tail.subarray(8, 40).equals(signer.publicKey)).toBe(true);
    for (const verify of [undefined, signer.publicKey]) {
      const { reader, records } = readAll(path, read, verify);
      expect(records).toEqual(expectedRecords(s));
      expect(reader.signer?.equals(signer.publicKey)).toBe(true);
      expect(reader.verified).toBe(verify !== undefined);
    }
    expect(peekVaultSigner(path)?.equals(signer.publicKey)).toBe(true);
  });

  it('verify refuses an unsigned vault and another signer at open, before a passphrase is stretched', () => {
    const unsigned = join(dir, 'unsigned.vault');
    writeSigned(unsigned, passphraseSource('sesame'), sample('u'), undefined);
    expect(peekVaultSigner(unsigned)).toBeUndefined();
    // A wrong passphrase too: the signature check comes first, so VAULT_SIGNATURE, not VAULT_WRONG_KEY.
    const e1 = expectVaultError(() => VaultReader.open(unsigned, passphraseSource('wrong'), { verify: signer.publicKey }), ['VAULT_SIGNATURE']);
    expect(e1.message).toContain(`this vault is not signed, and --verify asks for one by key ${signerFingerprint(signer.publicKey)}`);
    const other = join(dir, 'other.vault');
    writeSigned(other, passphraseSource('sesame'), sample('o'), otherSigner);
    const e2 = expectVaultError(() => VaultReader.open(other, passphraseSource('wrong'), { verify: signer.publicKey }), ['VAULT_SIGNATURE']);
    expect(e2.message).toContain(`signed by key ${signerFingerprint(otherSigner.publicKey)}, not by the --verify key ${signerFingerprint(signer.publicKey)}`);
    // Without verify, another signer's vault is read (its signature holds for its own key).
    expect(readAll(other, passphraseSource('sesame')).reader.signer?.equals(otherSigner.publicKey)).toBe(true);
  });

  it('a changed byte anywhere is refused, with and without verify', () => {
    const path = join(dir, 'flip.vault');
    const file = writeSigned(path, keySource(key), sample('flip', 8), signer);
    const seen = new Set<ErrorCode>();
    for (let offset = 0; offset < file.length; offset++) {
      for (const mask of [0x01, 0x80]) {
        const copy = Buffer.from(file);
        copy[offset] = copy[offset]! ^ mask;
        seen.add(rejected(copy, keySource(key), signer.publicKey));
        seen.add(rejected(copy, keySource(key), undefined));
      }
    }
    // Damage in the signature itself is a signature that does not hold.
    expect(seen).toContain('VAULT_SIGNATURE');
  });

  it('refuses the signature block of another vault by the same key, and one cut off, cut short or followed by bytes', () => {
    const a = writeSigned(join(dir, 'a.vault'), keySource(key), sample('a'), signer);
    const b = writeSigned(join(dir, 'b.vault'), keySource(key), sample('b'), signer);
    const bodyA = a.subarray(0, a.length - SIGNATURE_BLOCK_BYTES);
    const blockB = b.subarray(b.length - SIGNATURE_BLOCK_BYTES);
    for (const verify of [signer.publicKey, undefined]) {
      const moved = rejected(Buffer.concat([bodyA, blockB]), keySource(key), verify, ['VAULT_SIGNATURE']);
      expect(moved).toBe('VAULT_SIGNATURE');
    }
    // Without its block the vault still says it is signed: not an unsigned vault.
    rejected(bodyA, keySource(key), undefined, ['VAULT_TAMPERED', 'VAULT_TRUNCATED']);
    rejected(a.subarray(0, a.length - 1), keySource(key), undefined, ['VAULT_TAMPERED', 'VAULT_TRUNCATED']);
    rejected(Buffer.concat([a, Buffer.from([0])]), keySource(key), undefined, ['VAULT_TAMPERED']);
    rejected(Buffer.concat([bodyA, Buffer.from([0]), a.subarray(bodyA.length)]), keySource(key), undefined, ['VAULT_TAMPERED']);
    // Clearing the flag as well makes a header that fails authentication, while the frames after
    // the first open with the key: an altered vault, not a wrong key.
    const unflagged = Buffer.from(bodyA);
    unflagged[10] = 0;
    rejected(unflagged, keySource(key), undefined, ['VAULT_TAMPERED']);
    rejected(unflagged, keySource(key), signer.publicKey, ['VAULT_SIGNATURE']);
  });

  it('a vault re-signed by another key is refused by verify, though its signature holds', () => {
    const a = writeSigned(join(dir, 'resigned.vault'), keySource(key), sample('r'), otherSigner);
    expect(rejected(a, keySource(key), signer.publicKey)).toBe('VAULT_SIGNATURE');
    expect(readAll(join(dir, 'resigned.vault'), keySource(key)).records).toHaveLength(21);
  });
});

describe('vaults of format 2', () => {
  it('are read, unsigned: verify refuses them', () => {
    const v2 = 'fixtures/vault-v2/v2.vault';
    const source = keySource(readKeyFile('fixtures/vault-v2/test.key'));
    const { reader, records } = readAll(v2, source);
    expect(reader.formatVersion).toBe(2);
    expect(reader.signer).toBeUndefined();
    expect(records.length).toBeGreaterThan(5);
    expect(peekVaultSigner(v2)).toBeUndefined();
    expectVaultError(() => VaultReader.open(v2, source, { verify: signer.publicKey }), ['VAULT_SIGNATURE']);
  });
});
