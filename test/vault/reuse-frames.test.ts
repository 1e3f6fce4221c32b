// VaultReader with reuseFrames (unmask's reader): each records frame is decrypted into the
// memory of the one before. Records used at once must read exactly as with fresh memory,
// across frames of varying sizes and through rowRecords() too.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VaultReader } from '../../src/vault/reader.js';
import { VaultWriter } from '../../src/vault/writer.js';
import { keySource, makeTempDir, randomKey, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

/** Field bytes of varying lengths (some frames end up larger than the one before). */
function field(i: number, k: number): Buffer {
  const n = ((i * 7919 + k * 104729) % 97) + (i % 500 === 0 ? 70_000 : 0);
  return Buffer.alloc(n, (i + k) & 0xff);
}

/** Every record, hashed as it is read: fields are used at once, as unmask does. */
function digestOf(reader: VaultReader, viaRowRecords: boolean): string {
  const h = createHash('sha256');
  for (;;) {
    if (viaRowRecords) {
      const raw = reader.rowRecords(37);
      if (raw.length > 0) {
        h.update(raw);
        continue;
      }
    }
    const r = reader.next();
    if (r === null) break;
    if (r.type === 'table') h.update(JSON.stringify(r.decl));
    else if (viaRowRecords) throw new Error('a row record rowRecords() left behind');
    else if (r.type === 'statement') h.update(r.text);
    else for (const f of r.fields) h.update(f);
  }
  reader.close();
  return h.digest('hex');
}

describe('VaultReader reuseFrames', () => {
  it('reads the same records as a reader with fresh memory per frame', () => {
    const dir = makeTempDir();
    const key = randomKey();
    const path = join(dir, 'v.vault');
    const writer = VaultWriter.create(path, keySource(key), { a: 1 });
    writer.declareTable({ index: 0, name: 't' });
    for (let i = 0; i < 6000; i++) {
      const fields = [0, 1, 2].map((k) => field(i, k));
      writer.row(0, i + 1, fields.map((buf) => ({ buf, start: 0, end: buf.length })));
    }
    writer.finish({});
    const fresh = digestOf(VaultReader.open(path, keySource(key)), false);
    expect(digestOf(VaultReader.open(path, keySource(key), { reuseFrames: true }), false)).toBe(fresh);
    // rowRecords() hands out the records' bytes: the same with and without reuse.
    const rawFresh = digestOf(VaultReader.open(path, keySource(key)), true);
    expect(digestOf(VaultReader.open(path, keySource(key), { reuseFrames: true }), true)).toBe(rawFresh);
  });
});
