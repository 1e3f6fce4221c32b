// Custom archives read and written back at the container level, every table's data
// decompressed and compressed again: -Z0 archives come back byte for byte; gzip archives give
// the same pg_restore script and list; written to a file the archive has its data offsets and
// restores with pg_restore -j 2, written to a pipe it has none and restores with pg_restore.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArchiveParser } from '../../src/archive/archive-parser.js';
import { FdOutput, StreamOutput, type ArchiveOutput } from '../../src/archive/archive-output.js';
import { CustomArchiveReader } from '../../src/archive/custom-reader.js';
import { CustomArchiveWriter } from '../../src/archive/custom-writer.js';
import { BLK_DATA, OFFSET_NO_DATA, OFFSET_POS_NOT_SET, OFFSET_POS_SET, type TocEntry } from '../../src/archive/format.js';
import { describeWithCorpus } from '../integration/corpus-files.js';
import { createDatabase, describeWithPg, dropDatabase, pg, pgBinary, uniqueDatabaseName } from '../integration/pg.js';
import {
  CORPUS_ARCHIVES,
  bufferSource,
  collect,
  createArchiveFixture,
  fileSource,
  pgTool,
  pipeCollector,
  plainDump,
  restoreList,
  restoreScript,
} from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-archive-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads `input` and writes it to `out`: TABLE DATA decompressed and compressed again, BLOBS copied as stored. */
async function rewrite(input: Buffer, out: ArchiveOutput, chunk = 64 * 1024): Promise<void> {
  const reader = await CustomArchiveReader.open(bufferSource(input, chunk), input.length);
  const writer = await CustomArchiveWriter.begin(out, reader.header, reader.toc);
  for await (const block of reader.blocks()) {
    if (block.blockType === BLK_DATA) await writer.writeData(block.entry, block.data());
    else await writer.copyBlock(block, reader.header);
  }
  await writer.finish();
}

async function rewriteToFile(input: Buffer, name: string): Promise<string> {
  const file = path.join(dir, name);
  await rewrite(input, await FdOutput.create(file));
  return file;
}

async function rewriteToPipe(input: Buffer, name: string): Promise<string> {
  const pipe = pipeCollector();
  await rewrite(input, new StreamOutput(pipe.stream));
  const file = path.join(dir, name);
  writeFileSync(file, pipe.bytes());
  return file;
}

function toc(file: string): readonly TocEntry[] {
  const parser = new ArchiveParser({});
  parser.write(readFileSync(file));
  parser.end();
  return parser.toc;
}

describeWithCorpus('the corpus archives, read and written back', () => {
  for (const archive of CORPUS_ARCHIVES) {
    it(`${path.basename(archive)}: the same pg_restore script and list`, async () => {
      const out = await rewriteToFile(readFileSync(archive), `corpus-${path.basename(archive)}`);
      expect(restoreList(out)).toBe(restoreList(archive));
      expect(restoreScript(out).equals(restoreScript(archive))).toBe(true);
    });
  }
});

describeWithPg('custom archives of a database with the hard cases', () => {
  const db = uniqueDatabaseName('archive_custom');
  const restored: string[] = [];
  const archives: Record<string, Buffer> = {};

  beforeAll(() => {
    createDatabase(db);
    createArchiveFixture(db);
    for (const [name, args] of [
      ['gzip', []],
      ['z0', ['-Z0']],
      ['z9', ['-Z9']],
    ] as const) {
      const file = path.join(dir, `${name}.dump`);
      pgTool('pg_dump', ['-Fc', ...args, '-f', file, '-d', db]);
      archives[name] = readFileSync(file);
      // The same written to a pipe: its TOC has no data offsets.
      archives[`${name}-pipe`] = pgTool('pg_dump', ['-Fc', ...args, '-d', db]);
      writeFileSync(path.join(dir, `${name}-pipe.dump`), archives[`${name}-pipe`]!);
    }
  });
  afterAll(() => {
    for (const name of [db, ...restored]) dropDatabase(name);
  });

  it('holds what the test needs: partitions, a table without rows, large objects, quoted names', async () => {
    const reader = await CustomArchiveReader.open(bufferSource(archives.gzip!, 4096));
    const data = new Map<string, Buffer>();
    let blobs = 0;
    for await (const block of reader.blocks()) {
      if (block.blockType === BLK_DATA) data.set(`${block.entry.namespace}.${block.entry.tag}`, await collect(block.data()));
      else {
        blobs++;
        await block.skip();
      }
    }
    expect(blobs).toBe(1);
    expect(data.get('public.nothing_here')!.toString()).toBe('\\.\n\n\n');
    expect(data.get('public.measurements_eu')!.toString().split('\n')).toHaveLength(2500 + 4);
    expect(data.has('public.measurements')).toBe(false);
    expect(data.get('Sales Dept.Order "Items"')!.toString()).toBe("1\tcafé\n2\t\\N\n3\tquote ' and \\\\N\n\\.\n\n\n");
    const items = reader.toc.find((e) => e.tag === 'Order "Items"' && e.desc === 'TABLE DATA')!;
    expect(items.copyStmt).toBe('COPY "Sales Dept"."Order ""Items""" ("Line No", "Ünïcode") FROM stdin;\n');
    expect(data.get('public.customers')!.length).toBeGreaterThan(1_000_000);
  });

  it('-Z0 written to a file: byte for byte the archive pg_dump wrote', async () => {
    const out = await rewriteToFile(archives.z0!, 'z0-again.dump');
    expect(readFileSync(out).equals(archives.z0!)).toBe(true);
  });

  it('-Z0 from a pipe, written to a pipe: byte for byte, offsets not set', async () => {
    const out = await rewriteToPipe(archives['z0-pipe']!, 'z0-pipe-again.dump');
    expect(readFileSync(out).equals(archives['z0-pipe']!)).toBe(true);
    const entries = toc(out).filter((e) => e.dataState !== OFFSET_NO_DATA);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.every((e) => e.dataState === OFFSET_POS_NOT_SET)).toBe(true);
  });

  it('-Z0 from a pipe, written to a file: the offsets pg_dump would have written', async () => {
    const out = await rewriteToFile(archives['z0-pipe']!, 'z0-from-pipe.dump');
    // Another pg_dump run than z0.dump: all but the header's creation time is the same.
    const headerLength = (await CustomArchiveReader.open(bufferSource(archives.z0!, 4096))).header.raw.length;
    expect(readFileSync(out).subarray(headerLength).equals(archives.z0!.subarray(headerLength))).toBe(true);
  });

  for (const name of ['gzip', 'z9']) {
    it(`${name}: the same pg_restore script and list; every data entry's offset set`, async () => {
      const input = path.join(dir, `${name}.dump`);
      const out = await rewriteToFile(archives[name]!, `${name}-again.dump`);
      expect(restoreList(out)).toBe(restoreList(input));
      expect(restoreScript(out).equals(restoreScript(input))).toBe(true);
      const entries = toc(out).filter((e) => e.dataState !== OFFSET_NO_DATA);
      expect(entries.length).toBeGreaterThan(5);
      expect(entries.every((e) => e.dataState === OFFSET_POS_SET)).toBe(true);
      // The header is the input's: same compression level, same creation time.
      expect(readFileSync(out).subarray(0, 60).equals(archives[name]!.subarray(0, 60))).toBe(true);
    });
  }

  it('written to a file, restores with pg_restore -j 2 into a fresh database', async () => {
    const out = await rewriteToFile(archives.gzip!, 'gzip-for-j2.dump');
    const fresh = uniqueDatabaseName('archive_custom_j2');
    createDatabase(fresh);
    restored.push(fresh);
    pgTool('pg_restore', ['-j', '2', '--exit-on-error', '-d', fresh, out]);
    expect(plainDump(fresh).equals(plainDump(db))).toBe(true);
  });

  it('written to a pipe, restores with pg_restore (one job, the offsets not set)', async () => {
    const out = await rewriteToPipe(archives.gzip!, 'gzip-pipe-again.dump');
    const entries = toc(out).filter((e) => e.dataState !== OFFSET_NO_DATA);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.every((e) => e.dataState === OFFSET_POS_NOT_SET)).toBe(true);
    expect(restoreScript(out).equals(restoreScript(path.join(dir, 'gzip.dump')))).toBe(true);
    const fresh = uniqueDatabaseName('archive_custom_pipe');
    createDatabase(fresh);
    restored.push(fresh);
    // As a pipe would give it: on standard input, where pg_restore cannot seek.
    const r = spawnSync('sh', ['-c', `cat "${out}" | "${pgBinary('pg_restore')}" --exit-on-error -h "$H" -p "$P" -U "$U" -d "${fresh}"`], {
      env: { ...process.env, ...pgEnv() },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(plainDump(fresh).equals(plainDump(db))).toBe(true);
  });

  it('reads the same data whatever the input chunks (1, 2, 3, 7, 13, 4096 and 1000 bytes)', async () => {
    const gzip = archives['gzip']!;
    const expected = await dataOf(gzip, 64 * 1024);
    for (const size of [4096, 1000]) expect(await dataOf(gzip, size)).toEqual(expected);
    // Tiny chunks through the archive up to the large table's data (each chunk of compressed
    // data is a trip to zlib's thread: the whole archive would take minutes). Cut there, at a
    // block boundary, the archive must still be reported as truncated.
    const upTo = toc(path.join(dir, 'gzip.dump')).find((e) => e.tag === 'customers' && e.desc === 'TABLE DATA')!.dataOffset!;
    const head = gzip.subarray(0, upTo);
    const whole = await dataOfPrefix(head, 64 * 1024);
    expect(whole.error).toMatch(/^INPUT_FORMAT: the TOC points past the end of the archive: entry \d+ \(TABLE DATA public\.customers\) has its data at byte \d+, the archive is \d+ bytes/);
    for (const size of [1, 2, 3, 7, 13]) expect(await dataOfPrefix(head, size)).toEqual(whole);
  });

  it('a written archive is the size the file says (no stray bytes after the rewritten TOC)', async () => {
    const out = await rewriteToFile(archives.z0!, 'z0-size.dump');
    expect(statSync(out).size).toBe(archives.z0!.length);
  });
});

function pgEnv(): Record<string, string> {
  if (pg === null) throw new Error('the PostgreSQL test cluster is not running');
  return { H: pg.host, P: String(pg.port), U: pg.user };
}

/** Every TABLE DATA block's decompressed bytes, keyed by dump id. */
async function dataOf(bytes: Buffer, size: number): Promise<Record<number, string>> {
  const reader = await CustomArchiveReader.open(bufferSource(bytes, size));
  const out: Record<number, string> = {};
  for await (const block of reader.blocks()) {
    if (block.blockType === BLK_DATA) out[block.entry.dumpId] = (await collect(block.data())).toString('base64');
  }
  return out;
}

/** The same for an archive cut short on purpose: the blocks before the cut, then the truncation error. */
async function dataOfPrefix(bytes: Buffer, size: number): Promise<{ data: Record<number, string>; error: string }> {
  const reader = await CustomArchiveReader.open(bufferSource(bytes, size));
  const data: Record<number, string> = {};
  try {
    for await (const block of reader.blocks()) {
      if (block.blockType === BLK_DATA) data[block.entry.dumpId] = (await collect(block.data())).toString('base64');
    }
  } catch (err) {
    return { data, error: (err as Error).message };
  }
  return { data, error: 'none' };
}
