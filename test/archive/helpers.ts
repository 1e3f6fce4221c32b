// Shared by the archive container tests: where the corpus archives are (re-dumped by the test
// cluster, see test/integration/corpus-files.ts), byte sources that cut input into chosen chunks, the
// PostgreSQL client tools against the test cluster, and a small database with the cases
// an archive must carry (no rows, partitions, large objects, names that need quoting).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { redumpFile } from '../integration/corpus-files.js';
import { pg, pgBinary, psqlCommand } from '../integration/pg.js';
import type { ByteSource } from '../../src/archive/custom-reader.js';

const CORPUS_NAMES = ['pagila', 'chinook', 'northwind'] as const;
/** The pg_dump 15 custom archives of the public corpus (fixtures/corpus/README.md): pagila, chinook, northwind. */
export const CORPUS_ARCHIVES = CORPUS_NAMES.map((name) => redumpFile(name, 'custom'));
/** The same databases as directory archives (`pg_dump -Fd`). */
export const CORPUS_DIRECTORIES = CORPUS_NAMES.map((name) => redumpFile(name, 'directory'));

/** A source giving `bytes` in pieces of `size` bytes (the last shorter), or cut at the given points. */
export function bufferSource(bytes: Buffer, cut: number | number[]): ByteSource {
  const points = typeof cut === 'number' ? [] : cut;
  const pieces: Buffer[] = [];
  if (typeof cut === 'number') {
    for (let i = 0; i < bytes.length; i += cut) pieces.push(bytes.subarray(i, i + cut));
  } else {
    let from = 0;
    for (const p of [...points, bytes.length]) {
      pieces.push(bytes.subarray(from, p));
      from = p;
    }
  }
  let i = 0;
  return {
    // A copy each time, reused by nobody: the reader must copy what it keeps anyway.
    next: async () => (i < pieces.length ? Buffer.from(pieces[i++]!) : null),
  };
}

export function fileSource(file: string, size = 64 * 1024): ByteSource {
  return bufferSource(readFileSync(file), size);
}

export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

/** A PassThrough whose bytes are gathered: a pipe as the writer's output. */
export function pipeCollector(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return { stream, bytes: () => Buffer.concat(parts) };
}

function connectionArgs(): string[] {
  if (pg === null) throw new Error('the PostgreSQL test cluster is not running');
  return ['-h', pg.host, '-p', String(pg.port), '-U', pg.user];
}

function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.PGTZ = 'UTC';
  return env;
}

/** Runs a client tool of the test cluster; its stdout as bytes. */
export function pgTool(tool: string, args: string[], options: { connect?: boolean } = {}): Buffer {
  const argv = options.connect === false ? args : [...connectionArgs(), ...args];
  const r = spawnSync(pgBinary(tool), argv, { env: clientEnv(), maxBuffer: 1024 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${r.status}:\n${r.stderr.toString()}`);
  return r.stdout;
}

/** pg_restore's script of an archive, with a fixed \restrict key so two runs compare. */
export function restoreScript(archive: string): Buffer {
  return pgTool('pg_restore', ['--restrict-key=pgcloakArchiveTest', '-f', '-', archive], { connect: false });
}

/** pg_restore -l, with the line naming the archive file left out. */
export function restoreList(archive: string): string {
  return pgTool('pg_restore', ['-l', archive], { connect: false }).toString('utf8');
}

/** A plain dump of a database, for comparing a restored one with its source. */
export function plainDump(db: string): Buffer {
  return pgTool('pg_dump', ['--restrict-key=pgcloakArchiveTest', '-d', db]);
}

/**
 * The database the archive tests dump: enough rows that compressed data spans many 4096-byte
 * chunks, a table without rows, a partitioned table, large objects, a schema and a table whose
 * names need quoting, and text with tabs, newlines and backslashes.
 */
export function createArchiveFixture(db: string): void {
  psqlCommand(
    db,
    `
    CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL, email text, note text);
    INSERT INTO public.customers
      SELECT i, 'name ' || i, 'user' || i || '@example.com', CASE WHEN i % 7 = 0 THEN E'tab\\there\\nnew line \\\\ backslash' ELSE md5(i::text) END
      FROM generate_series(1, 30000) i;
    CREATE TABLE public.nothing_here (id int, value text);
    CREATE TABLE public.measurements (id int, region text NOT NULL, reading numeric) PARTITION BY LIST (region);
    CREATE TABLE public.measurements_eu PARTITION OF public.measurements FOR VALUES IN ('eu');
    CREATE TABLE public.measurements_us PARTITION OF public.measurements FOR VALUES IN ('us');
    INSERT INTO public.measurements SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i * 1.5 FROM generate_series(1, 5000) i;
    CREATE SCHEMA "Sales Dept";
    CREATE TABLE "Sales Dept"."Order ""Items""" ("Line No" int, "Ünïcode" text);
    INSERT INTO "Sales Dept"."Order ""Items""" VALUES (1, 'café'), (2, NULL), (3, E'quote '' and \\\\N');
    CREATE TABLE public.documents (id int, body oid);
    INSERT INTO public.documents VALUES
      (1, lo_from_bytea(0, convert_to(repeat('large object text ', 20000), 'UTF8'))),
      (2, lo_from_bytea(0, decode('00ff00ff', 'hex'))),
      (3, lo_from_bytea(0, ''::bytea));
    `,
  );
}
