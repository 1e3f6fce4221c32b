// Public-key vaults: key pairs from `keygen --public`, vaults sealed to the public key that
// only the secret key opens, and clear errors for every wrong key, never garbage.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { KEY_MODE_RECIPIENT, MAGIC, RECIPIENT_HEADER_BYTES, STREAM_HEADER_BYTES } from '../../src/vault/format.js';
import {
  KEY_BYTES,
  generateKeyFile,
  generateKeyPair,
  readKeyFile,
  readPublicKeyFile,
  readSecretKeyFile,
  type KeySource,
} from '../../src/vault/key.js';
import { VaultWriter } from '../../src/vault/writer.js';
import { sodium } from '../../src/sodium.js';
import {
  expectVaultError,
  expectedRecords,
  frameBounds,
  keySource,
  makeTempDir,
  randomKey,
  readWholeVault,
  removeTempDirs,
  writeVault,
  type SampleVault,
} from './helpers.js';

afterEach(removeTempDirs);

const SAMPLE: SampleVault = {
  metadata: { tool: 'recipient test' },
  tables: [{ index: 0, table: 'public.t' }],
  rows: Array.from({ length: 3000 }, (_, i) => ({ tableIndex: 0, ordinal: i + 1, fields: [Buffer.from(String(i)), Buffer.from(`original ${i} ${'y'.repeat(i % 70)}`)] })),
  trailer: { rows: 3000 },
};

function keyPair(dir: string, name = 'id'): { identity: KeySource; recipient: KeySource; path: string } {
  const path = join(dir, name);
  generateKeyPair(path);
  return {
    path,
    identity: { kind: 'identity', secretKey: readSecretKeyFile(path) },
    recipient: { kind: 'recipient', publicKey: readPublicKeyFile(`${path}.pub`) },
  };
}

describe('generateKeyPair', () => {
  it('writes the secret key (0600) and NAME.pub, each one line of 32 bytes', () => {
    const dir = makeTempDir();
    const path = join(dir, 'id');
    expect(generateKeyPair(path)).toEqual({ secretPath: path, publicPath: `${path}.pub` });
    expect(readFileSync(path, 'latin1')).toMatch(/^pgcloak-secret-v1:[A-Za-z0-9+/]{43}=\n$/);
    expect(readFileSync(`${path}.pub`, 'latin1')).toMatch(/^pgcloak-public-v1:[A-Za-z0-9+/]{43}=\n$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.pub`).mode & 0o777).toBe(0o644);
    const secretKey = readSecretKeyFile(path);
    const publicKey = readPublicKeyFile(`${path}.pub`);
    expect(secretKey).toHaveLength(KEY_BYTES);
    const derived = Buffer.alloc(KEY_BYTES);
    sodium.crypto_scalarmult_base(derived, secretKey);
    expect(derived.equals(publicKey)).toBe(true);
  });

  it('never overwrites: an existing secret or public key file stops it, and nothing is written', () => {
    const dir = makeTempDir();
    const path = join(dir, 'id');
    generateKeyPair(path);
    const before = [readFileSync(path), readFileSync(`${path}.pub`)];
    expectVaultError(() => generateKeyPair(path), ['KEY_FILE_EXISTS']);
    expect([readFileSync(path), readFileSync(`${path}.pub`)]).toEqual(before);

    const other = join(dir, 'other');
    writeFileSync(`${other}.pub`, 'mine');
    const error = expectVaultError(() => generateKeyPair(other), ['KEY_FILE_EXISTS']);
    expect(error.message).toContain(`${other}.pub`);
    expect(existsSync(other)).toBe(false);
    expect(readFileSync(`${other}.pub`, 'latin1')).toBe('mine');
  });
});

describe('key files of the wrong kind', () => {
  it('are refused with a message saying what the file is and where it belongs', () => {
    const dir = makeTempDir();
    const pair = join(dir, 'id');
    generateKeyPair(pair);
    generateKeyFile(join(dir, 'vault.key'));
    const cases: Array<[() => unknown, RegExp]> = [
      [() => readSecretKeyFile(`${pair}.pub`), /id\.pub is a public key file \(pgcloak-public-v1, for mask --recipient\), not a secret key file/],
      [() => readPublicKeyFile(pair), /id is a secret key file \(pgcloak-secret-v1, for unmask --identity\), not a public key file/],
      [() => readKeyFile(pair), /is a secret key file .*, not a vault key file/],
      [() => readKeyFile(`${pair}.pub`), /is a public key file .*, not a vault key file/],
      [() => readSecretKeyFile(join(dir, 'vault.key')), /is a vault key file .*, not a secret key file/],
      [() => readPublicKeyFile(join(dir, 'vault.key')), /is a vault key file .*, not a public key file/],
    ];
    for (const [read, message] of cases) {
      const error = expectVaultError(read, ['KEY_INVALID']);
      expect(error.message).toMatch(message);
      expect(error.message).not.toMatch(/[A-Za-z0-9+/]{43}=/);
    }
  });
});

describe('recipient vaults', () => {
  it('say so in the header, and open with the identity', () => {
    const dir = makeTempDir();
    const { identity, recipient } = keyPair(dir);
    const path = join(dir, 'v');
    writeVault(path, recipient, SAMPLE);
    const file = readFileSync(path);
    expect(file.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    expect(file[MAGIC.length + 1]).toBe(KEY_MODE_RECIPIENT);
    const content = readWholeVault(path, identity);
    expect(content.mode).toBe('recipient');
    expect(content.metadata).toEqual(SAMPLE.metadata);
    expect(content.records).toEqual(expectedRecords(SAMPLE));
    expect(content.trailer).toEqual(SAMPLE.trailer);
    expect(frameBounds(file, RECIPIENT_HEADER_BYTES).length).toBeGreaterThan(2);
  });

  it('seal a fresh key each time: two vaults of the same content differ', () => {
    const dir = makeTempDir();
    const { recipient } = keyPair(dir);
    writeVault(join(dir, 'a'), recipient, SAMPLE);
    writeVault(join(dir, 'b'), recipient, SAMPLE);
    const a = readFileSync(join(dir, 'a'));
    const b = readFileSync(join(dir, 'b'));
    expect(a.subarray(MAGIC.length + 2, RECIPIENT_HEADER_BYTES).equals(b.subarray(MAGIC.length + 2, RECIPIENT_HEADER_BYTES))).toBe(false);
  });

  it('cannot be opened with the public key (the masking host cannot read its vault back)', () => {
    const dir = makeTempDir();
    const { recipient } = keyPair(dir);
    writeVault(join(dir, 'v'), recipient, SAMPLE);
    const error = expectVaultError(() => readWholeVault(join(dir, 'v'), recipient), ['VAULT_WRONG_KEY']);
    expect(error.message).toMatch(/a public key cannot open it.*--identity/);
  });

  it('cannot be opened with another identity, a key file or a passphrase', () => {
    const dir = makeTempDir();
    const { recipient } = keyPair(dir);
    const other = keyPair(dir, 'other');
    writeVault(join(dir, 'v'), recipient, SAMPLE);
    const wrong = expectVaultError(() => readWholeVault(join(dir, 'v'), other.identity), ['VAULT_WRONG_KEY']);
    expect(wrong.message).toMatch(/sealed to another key pair: wrong --identity/);
    const keyed = expectVaultError(() => readWholeVault(join(dir, 'v'), keySource(randomKey())), ['VAULT_WRONG_KEY']);
    expect(keyed.message).toMatch(/open it with --identity/);
    expectVaultError(() => readWholeVault(join(dir, 'v'), { kind: 'passphrase', passphrase: Buffer.from('x') }), ['VAULT_WRONG_KEY']);
  });

  it('an identity does not open a key-file vault, and cannot make a vault', () => {
    const dir = makeTempDir();
    const { identity } = keyPair(dir);
    writeVault(join(dir, 'k'), keySource(randomKey()), SAMPLE);
    const error = expectVaultError(() => readWholeVault(join(dir, 'k'), identity), ['VAULT_WRONG_KEY']);
    expect(error.message).toMatch(/protected by a key file \(--key-file\), not a key pair/);
    expectVaultError(() => VaultWriter.create(join(dir, 'new'), identity, {}), ['USAGE']);
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  it('refuse a changed byte anywhere in the header, and a cut header', () => {
    const dir = makeTempDir();
    const { identity, recipient } = keyPair(dir);
    writeVault(join(dir, 'v'), recipient, SAMPLE);
    const file = readFileSync(join(dir, 'v'));
    for (let offset = 0; offset < RECIPIENT_HEADER_BYTES; offset++) {
      for (const mask of [0x01, 0x80]) {
        const copy = Buffer.from(file);
        copy[offset] = copy[offset]! ^ mask;
        writeFileSync(join(dir, 'damaged'), copy);
        // Magic and key mode are checked in clear (a version of 2 reads a shorter header, the signed
        // flag looks for a missing signature). A changed sealed key does not open (wrong identity
        // or damage, it cannot tell); once it opened, the identity is right, and a changed stream
        // header is damage (issue 18).
        const codes: ErrorCode[] =
          offset === MAGIC.length
            ? ['VAULT_FORMAT', 'VAULT_WRONG_KEY']
            : offset === MAGIC.length + 2
              ? ['VAULT_FORMAT', 'VAULT_TAMPERED']
              : offset < MAGIC.length + 2
                ? ['VAULT_FORMAT']
                : offset < RECIPIENT_HEADER_BYTES - STREAM_HEADER_BYTES
                  ? ['VAULT_WRONG_KEY']
                  : ['VAULT_TAMPERED'];
        expectVaultError(() => readWholeVault(join(dir, 'damaged'), identity), codes);
      }
    }
    for (const length of [MAGIC.length + 2, MAGIC.length + 40, RECIPIENT_HEADER_BYTES - 1]) {
      writeFileSync(join(dir, 'cut'), file.subarray(0, length));
      expectVaultError(() => readWholeVault(join(dir, 'cut'), identity), ['VAULT_TRUNCATED']);
    }
  });

  it('refuse a public key of small order (all zeros, 1) with KEY_INVALID, writing nothing', () => {
    const dir = makeTempDir();
    for (const publicKey of [Buffer.alloc(KEY_BYTES), Buffer.from([1, ...Buffer.alloc(KEY_BYTES - 1)])]) {
      const error = expectVaultError(() => VaultWriter.create(join(dir, 'weak'), { kind: 'recipient', publicKey }, {}), ['KEY_INVALID']);
      expect(error.message).toMatch(/not a usable public key/);
      expect(existsSync(join(dir, 'weak'))).toBe(false);
      writeFileSync(join(dir, 'weak.pub'), `pgcloak-public-v1:${publicKey.toString('base64')}\n`);
      expectVaultError(() => readPublicKeyFile(join(dir, 'weak.pub')), ['KEY_INVALID']);
    }
  });
});
