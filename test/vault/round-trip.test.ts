import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_TARGET_BYTES, KEY_FILE_HEADER_BYTES, PASSPHRASE_HEADER_BYTES } from '../../src/vault/format.js';
import { VaultReader, readVaultInfo } from '../../src/vault/reader.js';
import { VaultWriter, type FieldRef } from '../../src/vault/writer.js';
import {
  expectedRecords,
  frameBounds,
  keySource,
  makeTempDir,
  passphraseSource,
  randomKey,
  readWholeVault,
  removeTempDirs,
  writeVault,
  type SampleVault,
} from './helpers.js';

afterEach(removeTempDirs);

function sampleVault(): SampleVault {
  const rows: SampleVault['rows'] = [];
  for (let i = 0; i < 5000; i++) {
    rows.push({
      tableIndex: i % 3,
      ordinal: i,
      fields: [
        Buffer.from(`user${i}@example.com`),
        Buffer.alloc(0),
        Buffer.from(`Ünïcødé name ${i} \\N \t tab`, 'utf8'),
        Buffer.alloc(i % 200, i & 0xff),
      ],
    });
  }
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  rows.splice(2500, 0, { tableIndex: 1, ordinal: 1_000_000, fields: [big, Buffer.from('after the big one')] });
  rows.push({ tableIndex: 2, ordinal: Number.MAX_SAFE_INTEGER, fields: [] });
  return {
    metadata: { tool: 'pgcloak', version: 1, dump: { sha: 'abc' }, note: 'métadonnées' },
    tables: [
      { index: 0, schema: 'public', name: 'res_partner', columns: ['email', 'name'] },
      { index: 1, schema: 'Sales Dept', name: 'Ωmega "quoted"', columns: [] },
      { index: 2, schema: 'public', name: 'empty_fields' },
      { index: 7, schema: 'public', name: 'declared_without_rows' },
    ],
    rows,
    trailer: { rows: rows.length, outputDigest: 'f'.repeat(64) },
  };
}

describe('vault round trip', () => {
  it('returns metadata, declarations, rows and trailer as written, with a key', () => {
    const path = join(makeTempDir(), 'dump.vault');
    const key = randomKey();
    const sample = sampleVault();
    const written = writeVault(path, keySource(key), sample);

    expect(statSync(path).size).toBe(written);
    const content = readWholeVault(path, keySource(key));
    expect(content.mode).toBe('key');
    expect(content.metadata).toEqual(sample.metadata);
    expect(content.trailer).toEqual(sample.trailer);
    expect(content.records).toEqual(expectedRecords(sample));

    // Several records frames, one of them bigger than the target because of the 300 KB field.
    const frames = frameBounds(readFileSync(path), KEY_FILE_HEADER_BYTES);
    expect(frames.length).toBeGreaterThan(5);
    expect(frames.some((f) => f.end - f.start > 300 * 1024)).toBe(true);
    expect(frames.every((f) => f.end - f.start < 2 * FRAME_TARGET_BYTES || f.end - f.start > 300 * 1024)).toBe(true);
  });

  it('returns the same with a passphrase', () => {
    const path = join(makeTempDir(), 'dump.vault');
    const sample = sampleVault();
    writeVault(path, passphraseSource('correct horse battery staple'), sample);

    const file = readFileSync(path);
    expect(frameBounds(file, PASSPHRASE_HEADER_BYTES).length).toBeGreaterThan(5);
    // Reading ignores the costs in the key source: they come from the header.
    const content = readWholeVault(path, {
      kind: 'passphrase',
      passphrase: Buffer.from('correct horse battery staple'),
    });
    expect(content.mode).toBe('passphrase');
    expect(content.metadata).toEqual(sample.metadata);
    expect(content.trailer).toEqual(sample.trailer);
    expect(content.records).toEqual(expectedRecords(sample));
  });

  it('copies fields out of the middle of a larger buffer at once', () => {
    const path = join(makeTempDir(), 'dump.vault');
    const key = randomKey();
    const line = Buffer.from('42\tjane@example.com\tJane Doe\t\t1999-01-01\n');
    const tabs = [2, 19, 28, 29];
    const writer = VaultWriter.create(path, keySource(key), {});
    writer.declareTable({ index: 0 });
    // Reused FieldRef objects and a buffer overwritten after each row, as the masker does.
    const refs: FieldRef[] = [
      { buf: line, start: 3, end: tabs[1]! },
      { buf: line, start: tabs[1]! + 1, end: tabs[2]! },
      { buf: line, start: tabs[2]! + 1, end: tabs[3]! },
      { buf: line, start: 0, end: 2 },
    ];
    writer.row(0, 1, refs);
    line.fill(0x78);
    writer.row(0, 2, refs.slice(0, 1));
    writer.finish({});

    const [, first, second] = readWholeVault(path, keySource(key)).records;
    expect(first).toEqual({
      type: 'row',
      tableIndex: 0,
      ordinal: 1,
      fields: [Buffer.from('jane@example.com'), Buffer.from('Jane Doe'), Buffer.alloc(0), Buffer.from('42')],
    });
    expect(second).toEqual({ type: 'row', tableIndex: 0, ordinal: 2, fields: [Buffer.from('x'.repeat(16))] });
  });

  it('keeps row fields valid after later calls to next()', () => {
    const path = join(makeTempDir(), 'dump.vault');
    const key = randomKey();
    const sample = sampleVault();
    writeVault(path, keySource(key), sample);
    const reader = VaultReader.open(path, keySource(key));
    const firstRow = [reader.next(), reader.next(), reader.next(), reader.next(), reader.next()][4];
    while (reader.next() !== null);
    expect(firstRow).toEqual({ type: 'row', ...sample.rows[0] });
    reader.close();
  });

  it('holds a vault with no tables and no rows', () => {
    const path = join(makeTempDir(), 'empty.vault');
    const key = randomKey();
    const sample: SampleVault = { metadata: {}, tables: [], rows: [], trailer: { rows: 0 } };
    writeVault(path, keySource(key), sample);
    expect(readWholeVault(path, keySource(key))).toEqual({
      mode: 'key',
      metadata: {},
      records: [],
      trailer: { rows: 0 },
    });
  });

  it('summarises a vault with readVaultInfo', () => {
    const path = join(makeTempDir(), 'dump.vault');
    const key = randomKey();
    const sample = sampleVault();
    writeVault(path, keySource(key), sample);
    const info = readVaultInfo(path, keySource(key));
    expect(info.metadata).toEqual(sample.metadata);
    expect(info.trailer).toEqual(sample.trailer);
    expect(info.tables).toEqual(sample.tables);
    expect(info.rowCounts).toEqual({ 0: 1667, 1: 1668, 2: 1667, 7: 0 });
  });

  it('leaves only the final file after finish()', () => {
    const dir = makeTempDir();
    writeVault(join(dir, 'dump.vault'), keySource(randomKey()), sampleVault());
    expect(readdirSync(dir)).toEqual(['dump.vault']);
    expect(statSync(join(dir, 'dump.vault')).mode & 0o777).toBe(0o600);
  });
});

describe('vault round trip, property', () => {
  const fieldArb = fc.uint8Array({ maxLength: 40 });
  const rowArb = fc.record({
    tableIndex: fc.integer({ min: 0, max: 2 }),
    ordinal: fc.oneof(fc.nat(1000), fc.maxSafeNat()),
    fields: fc.array(fieldArb, { maxLength: 8 }),
  });

  it('random rows, taken from one shared buffer, come back byte for byte', () => {
    const dir = makeTempDir();
    const key = randomKey();
    let run = 0;
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 300 }), fc.nat(16), (rows, padding) => {
        const path = join(dir, `p${run++}.vault`);
        const writer = VaultWriter.create(path, keySource(key), { run });
        for (let index = 0; index < 3; index++) writer.declareTable({ index });
        for (const row of rows) {
          // All fields of a row laid out in one buffer, with bytes between them.
          const parts: Buffer[] = [];
          const refs: FieldRef[] = [];
          let offset = padding;
          for (const field of row.fields) {
            refs.push({ buf: new Uint8Array(0), start: offset, end: offset + field.length });
            parts.push(Buffer.alloc(padding, 0xee), Buffer.from(field));
            offset += field.length + padding;
          }
          const shared = Buffer.concat([...parts, Buffer.alloc(padding, 0xee)]);
          for (const ref of refs) ref.buf = shared;
          writer.row(row.tableIndex, row.ordinal, refs);
        }
        writer.finish({ count: rows.length });

        const content = readWholeVault(path, keySource(key));
        const got = content.records.filter((r) => r.type === 'row');
        expect(got).toEqual(
          rows.map((row) => ({ type: 'row', ...row, fields: row.fields.map((f) => Buffer.from(f)) })),
        );
        expect(content.trailer).toEqual({ count: rows.length });
      }),
      { numRuns: 60 },
    );
  });
});
