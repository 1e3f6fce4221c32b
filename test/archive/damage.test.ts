// Damaged, truncated, foreign and unsupported archives: each is an INPUT_FORMAT error that
// names what is wrong, the entry (dump id, tag) and the byte offset; never data quietly lost.
// Also the archive versions this machine's pg_dump 15 does not write (1.15: compression
// algorithm in the header; 1.16: relkind in each TOC entry), made from a real 1.14 archive
// by re-encoding its header and TOC as those versions lay them out.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArchiveParser } from '../../src/archive/archive-parser.js';
import { CustomArchiveReader } from '../../src/archive/custom-reader.js';
import { type ArchiveHeader, BLK_DATA, OFFSET_NO_DATA, type TocEntry, version } from '../../src/archive/format.js';
import { encodeCustomTocEntry, encodeHeader, encodeInt, encodeTocCore } from '../../src/archive/toc-codec.js';
import { PgcloakError } from '../../src/errors.js';
import { createDatabase, describeWithPg, dropDatabase, psqlCommand, uniqueDatabaseName } from '../integration/pg.js';
import { bufferSource, collect, pgTool } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-archive-damage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the whole archive, every TABLE DATA block decompressed; the error it ends with, if any. */
async function readAll(bytes: Buffer, length?: number): Promise<{ data: Map<number, Buffer>; error?: PgcloakError }> {
  const data = new Map<number, Buffer>();
  try {
    const reader = await CustomArchiveReader.open(bufferSource(bytes, 8192), length);
    for await (const block of reader.blocks()) {
      if (block.blockType === BLK_DATA) data.set(block.entry.dumpId, await collect(block.data()));
      else await block.skip();
    }
    return { data };
  } catch (err) {
    if (!(err instanceof PgcloakError)) throw err;
    return { data, error: err };
  }
}

function parse(bytes: Buffer): { header: ArchiveHeader; toc: readonly TocEntry[]; dataStart: number } {
  let dataStart = 0;
  const parser = new ArchiveParser({ tocEnd: (at) => (dataStart = at) });
  parser.write(bytes);
  parser.end();
  return { header: parser.header!, toc: parser.toc, dataStart };
}

describeWithPg('damaged and unsupported archives', () => {
  const db = uniqueDatabaseName('archive_damage');
  let gzip: Buffer;
  let none: Buffer;
  let orders: TocEntry;

  beforeAll(() => {
    createDatabase(db);
    psqlCommand(
      db,
      `CREATE TABLE public.orders (id int, note text);
       INSERT INTO public.orders SELECT i, md5(i::text) || md5((i * 7)::text) FROM generate_series(1, 20000) i;
       CREATE TABLE public.zz_last (id int);
       INSERT INTO public.zz_last VALUES (1), (2);`,
    );
    const file = path.join(dir, 'gzip.dump');
    pgTool('pg_dump', ['-Fc', '-d', db, '-f', file]);
    gzip = readFileSync(file);
    const z0 = path.join(dir, 'none.dump');
    pgTool('pg_dump', ['-Fc', '-Z0', '-d', db, '-f', z0]);
    none = readFileSync(z0);
    orders = parse(gzip).toc.find((e) => e.tag === 'orders' && e.desc === 'TABLE DATA')!;
  });
  afterAll(() => dropDatabase(db));

  it('reads the undamaged archive', async () => {
    const { data, error } = await readAll(gzip);
    expect(error).toBeUndefined();
    expect(data.get(orders.dumpId)!.toString().split('\n')).toHaveLength(20000 + 4);
  });

  it('truncated anywhere: an error with the place, naming the entry inside a data block', async () => {
    const { dataStart } = parse(gzip);
    const inData = orders.dataOffset! + 5000;
    const cases: [number, RegExp][] = [
      [0, /^INPUT_FORMAT: input is empty/],
      [3, /^INPUT_FORMAT: archive is truncated inside its header \(byte 3\)/],
      [40, /^INPUT_FORMAT: archive is truncated inside its header \(byte 40\)/],
      [dataStart - 10, /^INPUT_FORMAT: archive is truncated inside its TOC, after \d+ of \d+ entries/],
      [inData, new RegExp(`^INPUT_FORMAT: archive is truncated inside the data of entry ${orders.dumpId} \\(TABLE DATA public\\.orders\\), which starts at byte ${orders.dataOffset} \\(public\\.orders, byte ${inData}\\)`)],
      // At a block boundary: only the TOC can tell that something is missing.
      [parse(gzip).toc.find((e) => e.tag === 'zz_last' && e.desc === 'TABLE DATA')!.dataOffset!, /^INPUT_FORMAT: the TOC points past the end of the archive: entry \d+ \(TABLE DATA public\.zz_last\)/],
    ];
    for (const [at, message] of cases) {
      const { error } = await readAll(gzip.subarray(0, at));
      expect(error?.message, `cut at ${at}`).toMatch(message);
      expect(error?.code).toBe('INPUT_FORMAT');
    }
  });

  it('an archive from a pipe cut at a block boundary: the entry whose data never came', async () => {
    const pipe = pgTool('pg_dump', ['-Fc', '-d', db]);
    const last = parse(pipe).toc.find((e) => e.tag === 'zz_last' && e.desc === 'TABLE DATA')!;
    // Offsets are not set in a pipe's TOC: find the block the way a reader does.
    let at = -1;
    const parser = new ArchiveParser({ blockStart: (_t, e, offset) => (e.dumpId === last.dumpId ? (at = offset) : undefined) });
    parser.write(pipe);
    parser.end();
    const { error } = await readAll(pipe.subarray(0, at));
    expect(error?.message).toMatch(new RegExp(`^INPUT_FORMAT: archive ends before the data of entry ${last.dumpId} \\(TABLE DATA public\\.zz_last\\): truncated, or its TOC is damaged`));
  });

  it('a flipped byte in a compressed block: the entry, and where its damaged chunks start', async () => {
    const damaged = Buffer.from(gzip);
    damaged[orders.dataOffset! + 3000]! ^= 0x55;
    const { error } = await readAll(damaged);
    expect(error?.message).toMatch(new RegExp(`^INPUT_FORMAT: the compressed data of entry ${orders.dumpId} \\(TABLE DATA public\\.orders\\) is damaged \\(.+\\) in the chunks from byte \\d+ \\(public\\.orders, byte \\d+\\)`));
    expect(error?.position.offset).toBeGreaterThanOrEqual(orders.dataOffset!);
  });

  it('a flipped byte in a chunk length: the entry and offset', async () => {
    const damaged = Buffer.from(none);
    const at = orders.dataOffset! + 6; // the sign byte of the first chunk's length (after type byte and dump id)
    const { header } = parse(none);
    damaged[orders.dataOffset! + 1 + 1 + header.intSize]! = 1;
    const { error } = await readAll(damaged);
    expect(error?.message).toMatch(new RegExp(`^INPUT_FORMAT: negative chunk length -\\d+ in the data of entry ${orders.dumpId} \\(TABLE DATA public\\.orders\\).*byte ${at}\\)`));
  });

  it('a TOC pointing past the end of the archive, known when the size is', async () => {
    const { header, toc, dataStart } = parse(gzip);
    const past = gzip.length + 1000;
    const entries = toc.map((e) => encodeCustomTocEntry(e, header, e.dataState!, e.dumpId === orders.dumpId ? past : e.dataOffset!));
    const bytes = Buffer.concat([header.raw, encodeInt(toc.length, header.intSize), ...entries, gzip.subarray(dataStart)]);
    const known = await readAll(bytes, bytes.length);
    expect(known.error?.message).toMatch(new RegExp(`^INPUT_FORMAT: the TOC points past the end of the archive: entry ${orders.dumpId} \\(TABLE DATA public\\.orders\\) has its data at byte ${past}, the archive is ${bytes.length} bytes`));
    expect(known.data.size).toBe(0);
    // From a pipe (size unknown) the block is found where the TOC does not say it is.
    const piped = await readAll(bytes);
    expect(piped.error?.message).toMatch(new RegExp(`^INPUT_FORMAT: the TOC places the data of entry ${orders.dumpId} \\(TABLE DATA public\\.orders\\) at byte ${past}, but it is at byte ${orders.dataOffset}`));
  });

  it('plain SQL, tar archives and other files are refused, saying what they are', async () => {
    const plain = pgTool('pg_dump', ['-d', db, '--schema-only']);
    expect((await readAll(plain)).error?.message).toMatch(/^INPUT_FORMAT: input is a plain SQL dump, not a pg_dump archive/);
    const tar = pgTool('pg_dump', ['-Ft', '-d', db]);
    expect((await readAll(tar)).error?.message).toMatch(/^INPUT_FORMAT: input is a tar-format archive \(pg_dump -Ft\).*extract it \(tar -xf\)/);
    expect((await readAll(Buffer.from('hello'))).error?.message).toMatch(/^INPUT_FORMAT: input is not a pg_dump custom archive/);
  });

  it('versions: 1.15 with gzip and 1.16 read the same data; lz4, zstd and unknown versions are refused by name', async () => {
    const digest = (m: Map<number, Buffer>): string[] => [...m].map(([id, b]) => `${id} ${b.toString('base64')}`);
    const expected = digest((await readAll(gzip)).data);
    const { header, toc, dataStart } = parse(gzip);
    const remade = (v: number, algorithm: 'gzip' | 'lz4' | 'zstd'): Buffer => {
      const h = encodeHeader({ ...header, version: v, compression: { algorithm, level: undefined } });
      // The data offsets move with the TOC's size: recompute them from the new data start.
      const cores = toc.map((e) => encodeTocCore({ ...e, relkind: e.desc === 'TABLE DATA' ? 0 : e.relkind }, h));
      const tocLength = encodeInt(0, h.intSize).length + cores.reduce((n, c) => n + c.length + 1 + h.offSize, 0);
      const shift = h.raw.length + tocLength - dataStart;
      const entries = toc.map((e, i) => Buffer.concat([cores[i]!, encodeCustomTocEntry(e, h, e.dataState!, e.dataState === OFFSET_NO_DATA ? 0 : e.dataOffset! + shift).subarray(e.core.length)]));
      return Buffer.concat([h.raw, encodeInt(toc.length, h.intSize), ...entries, gzip.subarray(dataStart)]);
    };
    for (const v of [version(1, 15, 0), version(1, 16, 0)]) {
      const bytes = remade(v, 'gzip');
      const { data, error } = await readAll(bytes, bytes.length);
      expect(error).toBeUndefined();
      expect(digest(data)).toEqual(expected);
    }
    expect(parse(remade(version(1, 16, 0), 'gzip')).toc.find((e) => e.desc === 'TABLE')!.relkind).toBe(0);
    for (const algorithm of ['lz4', 'zstd'] as const) {
      const { error } = await readAll(remade(version(1, 16, 0), algorithm));
      expect(error?.message).toMatch(new RegExp(`^INPUT_FORMAT: archive version 1\\.16 \\(pg_dump 15\\..*\\) is compressed with ${algorithm}, which pgcloak cannot decode`));
    }
    const future = Buffer.from(gzip);
    future[6] = 17;
    expect((await readAll(future)).error?.message).toMatch(/^INPUT_FORMAT: archive version 1\.17 is not supported: pgcloak reads versions 1\.12 to 1\.16/);
  });
});
