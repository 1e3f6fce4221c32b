// Directory archives read and written back: tables decompressed and compressed again, two at
// a time; large objects copied as stored. -Z0 comes back file for file, byte for byte; gzip
// gives pg_restore the same script and list and restores with -j 2. The output directory
// appears whole or not at all.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DirectoryArchiveReader } from '../../src/archive/directory-reader.js';
import { DirectoryArchiveWriter } from '../../src/archive/directory-writer.js';
import type { TocEntry } from '../../src/archive/format.js';
import { PgcloakError } from '../../src/errors.js';
import { createDatabase, describeWithPg, dropDatabase, uniqueDatabaseName } from '../integration/pg.js';
import { describeWithCorpus } from '../integration/corpus-files.js';
import { CORPUS_DIRECTORIES, collect, createArchiveFixture, pgTool, plainDump, restoreList, restoreScript } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-archive-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rewrites `input` to `output`, `jobs` entries at a time. */
async function rewrite(input: string, output: string, jobs = 2): Promise<void> {
  const reader = await DirectoryArchiveReader.open(input);
  const writer = await DirectoryArchiveWriter.create(output, reader.header, reader.toc);
  try {
    const work = reader.toc.filter((e) => e.filename);
    const next = async (): Promise<void> => {
      for (let entry = work.shift(); entry !== undefined; entry = work.shift()) {
        if (entry.desc === 'BLOBS') await writer.copyData(entry, reader);
        else await writer.writeData(entry, reader.data(entry));
      }
    };
    await Promise.all(Array.from({ length: jobs }, next));
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

function files(d: string): string[] {
  return readdirSync(d).sort();
}

describeWithCorpus('the corpus directory archives, read and written back', () => {
  for (const input of CORPUS_DIRECTORIES) {
    it(`${path.basename(input)}: the same files, toc.dat, pg_restore script and list`, async () => {
      const out = path.join(dir, `corpus-${path.basename(input)}`);
      await rewrite(input, out);
      expect(files(out)).toEqual(files(input));
      expect(readFileSync(path.join(out, 'toc.dat')).equals(readFileSync(path.join(input, 'toc.dat')))).toBe(true);
      expect(restoreList(out)).toBe(restoreList(input));
      expect(restoreScript(out).equals(restoreScript(input))).toBe(true);
    });
  }
});

describeWithPg('directory archives of a database with the hard cases', () => {
  const db = uniqueDatabaseName('archive_dir');
  const restored: string[] = [];

  beforeAll(() => {
    createDatabase(db);
    createArchiveFixture(db);
    pgTool('pg_dump', ['-Fd', '-f', path.join(dir, 'gzip'), '-d', db]);
    pgTool('pg_dump', ['-Fd', '-Z0', '-f', path.join(dir, 'z0'), '-d', db]);
    pgTool('pg_dump', ['-Fd', '-j', '2', '-f', path.join(dir, 'j2'), '-d', db]);
  });
  afterAll(() => {
    for (const name of [db, ...restored]) dropDatabase(name);
  });

  it('-Z0: every file byte for byte, the large objects too', async () => {
    const out = path.join(dir, 'z0-again');
    await rewrite(path.join(dir, 'z0'), out);
    expect(files(out)).toEqual(files(path.join(dir, 'z0')));
    expect(files(out).some((f) => /^blob_\d+\.dat$/.test(f))).toBe(true);
    for (const f of files(out)) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(dir, 'z0', f))), f).toBe(true);
  });

  for (const name of ['gzip', 'j2']) {
    it(`${name}: the same files, pg_restore script and list`, async () => {
      const input = path.join(dir, name);
      const out = path.join(dir, `${name}-again`);
      await rewrite(input, out, name === 'j2' ? 2 : 1);
      expect(files(out)).toEqual(files(input));
      expect(files(out).filter((f) => f.endsWith('.dat.gz')).length).toBeGreaterThan(5);
      expect(readFileSync(path.join(out, 'toc.dat')).equals(readFileSync(path.join(input, 'toc.dat')))).toBe(true);
      expect(restoreList(out)).toBe(restoreList(input));
      expect(restoreScript(out).equals(restoreScript(input))).toBe(true);
    });
  }

  it('restores with pg_restore -j 2 into a fresh database', async () => {
    const out = path.join(dir, 'gzip-for-j2');
    await rewrite(path.join(dir, 'j2'), out);
    const fresh = uniqueDatabaseName('archive_dir_j2');
    createDatabase(fresh);
    restored.push(fresh);
    pgTool('pg_restore', ['-j', '2', '--exit-on-error', '-d', fresh, out]);
    expect(plainDump(fresh).equals(plainDump(db))).toBe(true);
  });

  it('reads the data of every entry: the empty table, the partitions, the quoted name', async () => {
    const reader = await DirectoryArchiveReader.open(path.join(dir, 'gzip'));
    const byName = (tag: string): TocEntry => reader.toc.find((e) => e.desc === 'TABLE DATA' && e.tag === tag)!;
    expect((await collect(reader.data(byName('nothing_here')))).toString()).toBe('\\.\n\n\n');
    expect((await collect(reader.data(byName('Order "Items"')))).toString()).toContain('1\tcafé\n');
    expect((await collect(reader.data(byName('measurements_us')))).toString().split('\n')).toHaveLength(2500 + 4);
    const blobs = reader.toc.find((e) => e.desc === 'BLOBS')!;
    expect((await reader.largeObjects(blobs)).map((o) => o.name.replace(/\d+/, 'N'))).toEqual(['blob_N.dat.gz', 'blob_N.dat.gz', 'blob_N.dat.gz']);
  });

  it('a failed write leaves neither the target nor its temporary directory', async () => {
    const reader = await DirectoryArchiveReader.open(path.join(dir, 'gzip'));
    const out = path.join(dir, 'never');
    const writer = await DirectoryArchiveWriter.create(out, reader.header, reader.toc);
    const entry = reader.toc.find((e) => e.desc === 'TABLE DATA')!;
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('1\tx\n');
      throw new Error('the masking failed');
    }
    await expect(writer.writeData(entry, failing())).rejects.toThrow('the masking failed');
    await expect(writer.finish()).rejects.toThrow(/no data was written/);
    await writer.abort();
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.never.'))).toEqual([]);
  });

  it('refuses a target that exists with files in it; takes an empty one', async () => {
    const reader = await DirectoryArchiveReader.open(path.join(dir, 'z0'));
    const busy = path.join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const err = await DirectoryArchiveWriter.create(busy, reader.header, reader.toc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgcloakError);
    expect((err as PgcloakError).code).toBe('IO');
    const empty = path.join(dir, 'empty-target');
    mkdirSync(empty);
    await rewrite(path.join(dir, 'z0'), empty);
    expect(files(empty)).toEqual(files(path.join(dir, 'z0')));
  });

  it('a missing data file and a damaged one are errors naming the entry', async () => {
    const copy = path.join(dir, 'damaged');
    mkdirSync(copy);
    for (const f of files(path.join(dir, 'gzip'))) writeFileSync(path.join(copy, f), readFileSync(path.join(dir, 'gzip', f)));
    const reader = await DirectoryArchiveReader.open(copy);
    const customers = reader.toc.find((e) => e.desc === 'TABLE DATA' && e.tag === 'customers')!;
    const file = path.join(copy, `${customers.filename}.gz`);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);
    const damaged = await collect(reader.data(customers)).catch((e: unknown) => e);
    expect(damaged).toBeInstanceOf(PgcloakError);
    expect((damaged as PgcloakError).message).toMatch(new RegExp(`^INPUT_FORMAT: the compressed file ${customers.filename}\\.gz of entry ${customers.dumpId} \\(TABLE DATA public\\.customers\\) is damaged`));
    rmSync(file);
    const missing = await collect(reader.data(customers)).catch((e: unknown) => e);
    expect((missing as PgcloakError).message).toMatch(new RegExp(`has no data file ${customers.filename} for entry ${customers.dumpId} \\(TABLE DATA public\\.customers\\)`));
  });
});
