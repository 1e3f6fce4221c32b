import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_BYTES, generateKeyFile, readKeyFile } from '../../src/vault/key.js';
import { VaultWriter } from '../../src/vault/writer.js';
import { expectVaultError, keySource, makeTempDir, readWholeVault, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const KEY_LINE = /^pgcloak-key-v1:([A-Za-z0-9+/]{43}=)\n$/;

describe('generateKeyFile', () => {
  it('writes one line with 32 random bytes, readable only by the owner', () => {
    const path = join(makeTempDir(), 'vault.key');
    generateKeyFile(path);
    const text = readFileSync(path, 'latin1');
    const match = KEY_LINE.exec(text);
    expect(match).not.toBeNull();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = readKeyFile(path);
    expect(key).toHaveLength(KEY_BYTES);
    expect(key.toString('base64')).toBe(match![1]);
  });

  it('makes a different key each time', () => {
    const dir = makeTempDir();
    generateKeyFile(join(dir, 'a.key'));
    generateKeyFile(join(dir, 'b.key'));
    expect(readKeyFile(join(dir, 'a.key')).equals(readKeyFile(join(dir, 'b.key')))).toBe(false);
  });

  it('refuses to overwrite an existing file, naming it but not its content', () => {
    const path = join(makeTempDir(), 'vault.key');
    generateKeyFile(path);
    const before = readFileSync(path, 'latin1');
    const error = expectVaultError(() => generateKeyFile(path), ['KEY_FILE_EXISTS']);
    expect(error.message).toContain(path);
    expect(error.message).not.toContain(before.trim().slice('pgcloak-key-v1:'.length));
    expect(readFileSync(path, 'latin1')).toBe(before);
  });

  it('reports a directory that does not exist as IO', () => {
    expectVaultError(() => generateKeyFile(join(makeTempDir(), 'missing', 'vault.key')), ['IO']);
  });

  it('makes keys a vault accepts', () => {
    const dir = makeTempDir();
    generateKeyFile(join(dir, 'vault.key'));
    const writer = VaultWriter.create(join(dir, 'v'), keySource(readKeyFile(join(dir, 'vault.key'))), { a: 1 });
    writer.finish({});
    expect(readWholeVault(join(dir, 'v'), keySource(readKeyFile(join(dir, 'vault.key')))).metadata).toEqual({ a: 1 });
  });
});

describe('readKeyFile', () => {
  const validBase64 = Buffer.alloc(32, 0xab).toString('base64');

  it('accepts the line without its newline, or with CRLF', () => {
    const dir = makeTempDir();
    for (const [name, text] of [
      ['bare', `pgcloak-key-v1:${validBase64}`],
      ['crlf', `pgcloak-key-v1:${validBase64}\r\n`],
    ] as const) {
      writeFileSync(join(dir, name), text);
      expect(readKeyFile(join(dir, name))).toEqual(Buffer.alloc(32, 0xab));
    }
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'pgcloak-key-v1:\n'],
    ['another version', `pgcloak-key-v2:${validBase64}\n`],
    ['no prefix', `${validBase64}\n`],
    ['31 bytes', `pgcloak-key-v1:${Buffer.alloc(31, 1).toString('base64')}\n`],
    ['33 bytes', `pgcloak-key-v1:${Buffer.alloc(33, 1).toString('base64')}\n`],
    ['base64url', `pgcloak-key-v1:${Buffer.alloc(32, 0xfb).toString('base64url')}=\n`],
    ['missing padding', `pgcloak-key-v1:${validBase64.slice(0, -1)}\n`],
    ['a space inside', `pgcloak-key-v1:${validBase64.slice(0, 10)} ${validBase64.slice(11)}\n`],
    ['a second line', `pgcloak-key-v1:${validBase64}\nmore\n`],
    ['two newlines', `pgcloak-key-v1:${validBase64}\n\n`],
    ['leading space', ` pgcloak-key-v1:${validBase64}\n`],
    ['a large file', `pgcloak-key-v1:${validBase64}\n`.repeat(10_000)],
  ])('rejects %s with KEY_INVALID, without echoing the file', (_name, text) => {
    const path = join(makeTempDir(), 'bad.key');
    writeFileSync(path, text);
    const error = expectVaultError(() => readKeyFile(path), ['KEY_INVALID']);
    expect(error.message).toContain(path);
    expect(error.message).not.toContain(validBase64.slice(0, 20));
    expect(error.message).not.toContain(Buffer.alloc(31, 1).toString('base64').slice(0, 20));
  });

  it('reports a missing file as IO', () => {
    expectVaultError(() => readKeyFile(join(makeTempDir(), 'missing.key')), ['IO']);
  });
});
