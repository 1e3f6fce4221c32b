import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { FRAME_RECORDS, MAX_FRAME_PLAINTEXT_BYTES } from '../../src/vault/format.js';
import { FrameRecords, SealableFrame } from '../../src/engine/record-buffer.js';
import { sealsInPlace, VaultWriter } from '../../src/vault/writer.js';
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

describe('VaultWriter.appendFrame (records a worker serialized as a whole frame)', () => {
  /** Rows `from..to` of table 0 as a FrameRecords frame. */
  function frameOf(from: number, to: number, value: string): Buffer {
    const frame = new FrameRecords(16);
    for (let i = from; i < to; i++) frame.row(0, i, [{ buf: Buffer.from(`${value}${i}`), start: 0, end: value.length + String(i).length }]);
    const length = frame.length;
    return Buffer.from(frame.take(undefined), 0, length);
  }

  it('gives the records appendRecords and row() give, whatever the frame sizes, between rows written here', () => {
    const dir = makeTempDir();
    const key = randomKey();
    const writer = openWriter(dir, key);
    const big = 'x'.repeat(400);
    writer.row(0, 0, [{ buf: Buffer.from('first'), start: 0, end: 5 }]);
    // Small (appended), large (sealed as it is), one more row, an empty frame, and a large one again.
    writer.appendFrame(frameOf(1, 3, 'small'));
    writer.appendFrame(frameOf(3, 603, big));
    writer.row(0, 603, [{ buf: Buffer.from('between'), start: 0, end: 7 }]);
    writer.appendFrame(frameOf(604, 604, ''));
    writer.appendFrame(frameOf(604, 904, big));
    writer.finish({});
    const rows = readWholeVault(join(dir, 'dump.vault'), keySource(key)).records.filter((r) => r.type === 'row');
    expect(rows.map((r) => r.ordinal)).toEqual(Array.from({ length: 904 }, (_, i) => i));
    expect(rows.map((r) => Buffer.concat(r.fields).toString())).toEqual([
      'first',
      'small1',
      'small2',
      ...Array.from({ length: 600 }, (_, i) => `${big}${i + 3}`),
      'between',
      ...Array.from({ length: 300 }, (_, i) => `${big}${i + 604}`),
    ]);
  });

  it('refuses what is not a records frame in ordinary memory', () => {
    const writer = openWriter(makeTempDir());
    const frame = frameOf(0, 200, 'y'.repeat(100));
    expect(() => writer.appendFrame(frame.subarray(1))).toThrow(/not a records frame/);
    const shared = Buffer.from(new SharedArrayBuffer(frame.length));
    frame.copy(shared);
    expect(() => writer.appendFrame(shared)).toThrow(/shared memory/);
    writer.abort();
  });

  it('FrameRecords hands its memory over whole and starts the next frame in memory given back', () => {
    const frame = new FrameRecords(16);
    frame.row(0, 7, [{ buf: Buffer.from('abc'), start: 0, end: 3 }]);
    const length = frame.length;
    const taken = Buffer.from(frame.take(undefined), 0, length);
    const back = new ArrayBuffer(1024);
    frame.row(0, 8, [{ buf: Buffer.from('zz'), start: 0, end: 2 }]);
    expect(taken[0]).toBe(FRAME_RECORDS);
    expect(taken.subarray(1).toString('latin1')).toContain('abc');
    const second = frame.take(back);
    expect(Buffer.from(second)[0]).toBe(FRAME_RECORDS);
    expect(Buffer.from(second).toString('latin1')).toContain('zz');
    // The memory given back takes the next records.
    frame.row(0, 9, [{ buf: Buffer.from('q'), start: 0, end: 1 }]);
    expect(frame.bytes.buffer).toBe(back);
    expect(frame.bytes[0]).toBe(FRAME_RECORDS);
  });
});

describe('VaultWriter.appendFrameInPlace (the record of a long row, sealed where it lies)', () => {
  it('libsodium seals in place here: the memory a long record would otherwise cost twice (issue 18)', () => {
    expect(sealsInPlace()).toBe(true);
  });

  it('gives the records row() gives, between rows written here, and leaves no plaintext behind', () => {
    const dir = makeTempDir();
    const key = randomKey();
    const writer = openWriter(dir, key);
    const long = Buffer.alloc(3 * 1024 * 1024 + 7, 'document ');
    writer.row(0, 0, [{ buf: Buffer.from('before'), start: 0, end: 6 }]);
    // The long field grows the frame once, then smaller rows after it fit in its slack.
    const frame = new SealableFrame(16);
    frame.row(0, 1, [{ buf: Buffer.from('key'), start: 0, end: 3 }, { buf: long, start: 0, end: long.length }]);
    frame.row(0, 2, [{ buf: Buffer.from('small'), start: 0, end: 5 }]);
    expect(frame.bytes.length).toBeLessThan(long.length + 128 * 1024);
    writer.appendFrameInPlace(frame.memory, frame.length);
    expect(frame.memory.includes(Buffer.from('document document'))).toBe(false);
    writer.row(0, 3, [{ buf: Buffer.from('after'), start: 0, end: 5 }]);
    writer.finish({});
    const rows = readWholeVault(join(dir, 'dump.vault'), keySource(key)).records.filter((r) => r.type === 'row');
    expect(rows.map((r) => r.ordinal)).toEqual([0, 1, 2, 3]);
    expect(rows[1]!.fields[1]!.equals(long)).toBe(true);
    expect(rows.map((r) => r.fields[0]!.toString())).toEqual(['before', 'key', 'small', 'after']);
  });

  it('refuses memory without the room around the frame, or not holding a records frame', () => {
    const writer = openWriter(makeTempDir());
    const frame = new SealableFrame(16);
    frame.row(0, 1, [{ buf: Buffer.from('x'), start: 0, end: 1 }]);
    expect(() => writer.appendFrameInPlace(frame.memory.subarray(0, frame.memory.length - 20), frame.length)).toThrow(/no room/);
    expect(() => writer.appendFrameInPlace(frame.memory.subarray(1), frame.length)).toThrow(/not a records frame/);
    writer.abort();
  });
});
