import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { MAX_FRAME_PLAINTEXT_BYTES } from '../../src/vault/format.js';
import { VaultWriter } from '../../src/vault/writer.js';
import {
  expectVaultError,
  keySource,
  makeTempDir,
  randomKey,
  readWholeVault,
  removeTempDirs,
} from './helpers.js';

afterEach(removeTempDirs);

function openWriter(dir: string, key = randomKey()): VaultWriter {
  const writer = VaultWriter.create(join(dir, 'dump.vault'), keySource(key), { a: 1 });
  writer.declareTable({ index: 0, name: 't' });
  return writer;
}

describe('VaultWriter lifecycle', () => {
  it('writes to a temp file beside the vault until finish()', () => {
    const dir = makeTempDir();
    const writer = openWriter(dir);
    writer.row(0, 0, [{ buf: Buffer.from('x'), start: 0, end: 1 }]);
    expect(readdirSync(dir)).toEqual([`dump.vault.tmp-${process.pid}`]);
    writer.finish({});
    expect(readdirSync(dir)).toEqual(['dump.vault']);
    expect(writer.bytesWritten).toBe(statSync(join(dir, 'dump.vault')).size);
  });

  it('abort() leaves no file behind, and is safe to repeat', () => {
    const dir = makeTempDir();
    const writer = openWriter(dir);
    for (let i = 0; i < 20_000; i++) writer.row(0, i, [{ buf: Buffer.from('some value'), start: 0, end: 10 }]);
    expect(writer.bytesWritten).toBeGreaterThan(100_000);
    writer.abort();
    writer.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('abort() after finish() keeps the vault', () => {
    const dir = makeTempDir();
    const key = randomKey();
    const writer = openWriter(dir, key);
    writer.finish({ done: true });
    writer.abort();
    expect(readdirSync(dir)).toEqual(['dump.vault']);
    expect(readWholeVault(join(dir, 'dump.vault'), keySource(key)).trailer).toEqual({ done: true });
  });

  it('refuses use after finish() or abort()', () => {
    const dir = makeTempDir();
    const finished = openWriter(dir);
    finished.finish({});
    expect(() => finished.row(0, 1, [])).toThrow(/finished/);
    expect(() => finished.finish({})).toThrow(/finished/);
    const aborted = VaultWriter.create(join(dir, 'other.vault'), keySource(randomKey()), {});
    aborted.abort();
    expect(() => aborted.declareTable({ index: 0 })).toThrow(/aborted/);
  });

  it('replaces an existing vault at the same path only when finished', () => {
    const dir = makeTempDir();
    const oldKey = randomKey();
    const old = openWriter(dir, oldKey);
    old.finish({ version: 'old' });
    const replacing = openWriter(dir);
    replacing.abort();
    expect(readWholeVault(join(dir, 'dump.vault'), keySource(oldKey)).trailer).toEqual({ version: 'old' });
  });
});

describe('VaultWriter background sync', () => {
  it('syncs a large vault while it is written and still finishes or aborts cleanly', async () => {
    // Past SYNC_EVERY_BYTES (32 MiB), fdatasync runs on libuv's pool while rows keep coming.
    const value = Buffer.alloc(60_000, 0x61);
    const dir = makeTempDir();
    const key = randomKey();
    const writer = openWriter(dir, key);
    for (let i = 0; i < 1200; i++) writer.row(0, i, [{ buf: value, start: 0, end: value.length }]);
    expect(writer.bytesWritten).toBeGreaterThan(64 * 2 ** 20);
    expect(writer.backgroundSyncs).toBeGreaterThanOrEqual(1);
    await writer.settle();
    writer.finish({ done: true });
    const { records, trailer } = readWholeVault(join(dir, 'dump.vault'), keySource(key));
    expect(records.filter((r) => r.type === 'row').length).toBe(1200);
    expect(trailer).toEqual({ done: true });

    const other = makeTempDir();
    const aborted = openWriter(other);
    for (let i = 0; i < 700; i++) aborted.row(0, i, [{ buf: value, start: 0, end: value.length }]);
    await aborted.settle();
    aborted.abort();
    expect(readdirSync(other)).toEqual([]);
  });
});

describe('VaultWriter checks', () => {
  it('rejects a key of the wrong size before creating anything', () => {
    const dir = makeTempDir();
    expectVaultError(() => VaultWriter.create(join(dir, 'v'), keySource(Buffer.alloc(16)), {}), ['KEY_INVALID']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects passphrase costs out of range, and an empty passphrase', () => {
    const dir = makeTempDir();
    const passphrase = Buffer.from('pw');
    expectVaultError(
      () => VaultWriter.create(join(dir, 'v'), { kind: 'passphrase', passphrase, opslimit: 0, memlimit: 8192 }, {}),
      ['USAGE'],
    );
    expectVaultError(
      () => VaultWriter.create(join(dir, 'v'), { kind: 'passphrase', passphrase, opslimit: 1, memlimit: 2 ** 40 }, {}),
      ['USAGE'],
    );
    expectVaultError(
      () => VaultWriter.create(join(dir, 'v'), { kind: 'passphrase', passphrase: Buffer.alloc(0), opslimit: 1, memlimit: 8192 }, {}),
      ['KEY_INVALID'],
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a missing directory as IO', () => {
    expectVaultError(() => VaultWriter.create(join(makeTempDir(), 'no', 'v'), keySource(randomKey()), {}), ['IO']);
  });

  it('refuses rows of undeclared tables, bad ordinals, bad ranges and a table declared twice', () => {
    const writer = openWriter(makeTempDir());
    expect(() => writer.row(1, 0, [])).toThrow(/undeclared/);
    expect(() => writer.row(0, -1, [])).toThrow(RangeError);
    expect(() => writer.row(0, 1.5, [])).toThrow(RangeError);
    expect(() => writer.row(0, 0, [{ buf: Buffer.alloc(4), start: 2, end: 5 }])).toThrow(RangeError);
    expect(() => writer.row(0, 0, [{ buf: Buffer.alloc(4), start: 3, end: 2 }])).toThrow(RangeError);
    expect(() => writer.declareTable({ index: 0 })).toThrow(/twice/);
    expect(() => writer.declareTable({ index: -1 })).toThrow(RangeError);
    writer.abort();
  });

  it('refuses a row larger than a frame can hold, and stays usable', () => {
    const dir = makeTempDir();
    const key = randomKey();
    const writer = openWriter(dir, key);
    const huge = Buffer.alloc(MAX_FRAME_PLAINTEXT_BYTES);
    let error: unknown;
    try {
      writer.row(0, 1, [{ buf: huge, start: 0, end: huge.length }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PgcloakError);
    expect((error as PgcloakError).code).toBe('VAULT_FORMAT');
    writer.row(0, 2, [{ buf: huge, start: 0, end: 1000 }]);
    writer.finish({});
    const rows = readWholeVault(join(dir, 'dump.vault'), keySource(key)).records.filter((r) => r.type === 'row');
    expect(rows).toEqual([{ type: 'row', tableIndex: 0, ordinal: 2, fields: [Buffer.alloc(1000)] }]);
  });
});
