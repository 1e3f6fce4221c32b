// Reversal by key, without a database: the SQL script's shape, and --by-key on a hand-made
// "dump of the migrated database" (renamed table and column, changed types as pg_dump prints
// them, rows deleted, added and edited, tables in another order than the vault's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { maskDump } from '../../src/mask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { unmaskDumpByKey } from '../../src/unmask/dump-by-key.js';
import { NO_MIGRATION, parseMigrationMap, type MigrationMap } from '../../src/unmask/migration-map.js';
import { writeRestoreScript } from '../../src/unmask/sql-script.js';
import type { KeySource } from '../../src/vault/key.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-restore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DUMP = `SET standard_conforming_strings = on;
CREATE TABLE public.client (id integer NOT NULL, name text, amount numeric(12,2), flag boolean, note text);
CREATE TABLE public.other (k text NOT NULL, v text);
CREATE TABLE public.log (at text, who text);
COPY public.client (id, name, amount, flag, note) FROM stdin;
1\tAlice\t10.50\tt\ta
2\tBob\t\\N\tf\tb
3\tCarol\t7.25\tt\tc
\\.
COPY public.other (k, v) FROM stdin;
x\tsecret x
y\tsecret\\ty
\\.
COPY public.log (at, who) FROM stdin;
monday\tAlice
\\.
`;

const RULES = `tables:
  client:
    columns: {name: placeholder, amount: placeholder, flag: placeholder}
  other:
    key: k
    columns: {v: placeholder}
  log:
    columns: {who: placeholder}
`;

// What pg_dump would print after the vendor renamed client to customer and name to full_name,
// widened amount to numeric(16,2), deleted row 2, added row 4 and edited two masked values.
const MIGRATED = `SET standard_conforming_strings = on;
CREATE TABLE public.customer (id integer NOT NULL, full_name text, amount numeric(16,2), flag boolean, note text, extra integer);
CREATE TABLE public.other (k text NOT NULL, v text);
CREATE TABLE public.log (at text, who text);
COPY public.log (at, who) FROM stdin;
monday\txxx1
\\.
COPY public.other (k, v) FROM stdin;
x\txxxx
y\tedited
\\.
COPY public.customer (id, full_name, amount, flag, note, extra) FROM stdin;
1\txxx1\t0.00\tf\ta\t\\N
3\tVendor Edit\t0.00\tf\tc\t1
4\tNew\t5.00\tt\td\t2
\\.
`;

const MAP = parseMigrationMap('tables:\n  client:\n    rename: customer\n    columns: {name: full_name}\n');
const key: KeySource = { kind: 'key', key: Buffer.alloc(32, 7) };

async function collect(stream: PassThrough): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

const vaultPath = join(dir, 'v');
const masked = (async () => {
  const output = new PassThrough();
  const text = collect(output);
  await maskDump({ input: Readable.from([Buffer.from(DUMP)]), output, rules: parseRules(RULES), vault: { path: vaultPath, keySource: key } });
  return text;
})();

async function byKey(input: string, map: MigrationMap, force = false) {
  await masked;
  const output = new PassThrough();
  const text = collect(output);
  text.catch(() => undefined); // the run's own error is the one that matters
  const result = await unmaskDumpByKey({ input: Readable.from([Buffer.from(input)]), output, vault: { path: vaultPath, keySource: key }, map, force });
  return { text: await text, result };
}

function copyRows(dump: string, table: string): string[] {
  const lines = dump.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`COPY ${table} `));
  const end = lines.indexOf('\\.', start);
  return lines.slice(start + 1, end);
}

describe('unmask --by-key', () => {
  it('masks the sample as expected (the premise of the hand-made migrated dump)', async () => {
    const text = await masked;
    expect(copyRows(text, 'public.client')).toEqual(['1\txxx1\t0\tfalse\ta', '2\txxx2\t\\N\tfalse\tb', '3\txxx3\t0\tfalse\tc']);
    expect(copyRows(text, 'public.other')).toEqual(['x\txxxx', 'y\txxxy']);
  });

  it('restores by key through renames and type changes, keeps edits and new rows, counts what is gone', async () => {
    const { text, result } = await byKey(MIGRATED, MAP);
    expect(copyRows(text, 'public.customer')).toEqual(['1\tAlice\t10.50\tt\ta\t\\N', '3\tVendor Edit\t7.25\tt\tc\t1', '4\tNew\t5.00\tt\td\t2']);
    expect(copyRows(text, 'public.other')).toEqual(['x\tsecret x', 'y\tedited']);
    // Keyed by position: left alone, and said so.
    expect(copyRows(text, 'public.log')).toEqual(['monday\txxx1']);
    const customer = result.tables.find((t) => t.source === 'public.client')!;
    expect(customer).toMatchObject({ table: 'public.customer (was public.client)', vaultRows: 3, notFound: 1 });
    expect(customer.columns).toEqual([
      { column: 'full_name (was name)', restored: 1, unchanged: 0, changed: 1, skipped: false },
      { column: 'amount', restored: 2, unchanged: 0, changed: 0, skipped: false },
      { column: 'flag', restored: 2, unchanged: 0, changed: 0, skipped: false },
    ]);
    expect(result.tables.find((t) => t.source === 'public.other')!.columns).toEqual([{ column: 'v', restored: 1, unchanged: 0, changed: 1, skipped: false }]);
    expect(result.tables.find((t) => t.source === 'public.log')).toMatchObject({ status: 'position', notFound: null });
    // The dump names other before client, the vault the other way round.
    expect(result.vaultRereads).toBe(1);
    // Everything outside the restored fields is the input, byte for byte.
    expect(text.split('\n').filter((l) => !l.includes('\t'))).toEqual(MIGRATED.split('\n').filter((l) => !l.includes('\t')));
  });

  it('with force, overwrites the edits too', async () => {
    const { text, result } = await byKey(MIGRATED, MAP, true);
    expect(copyRows(text, 'public.customer')[1]).toBe('3\tCarol\t7.25\tt\tc\t1');
    expect(copyRows(text, 'public.other')).toEqual(['x\tsecret x', 'y\tsecret\\ty']);
    expect(result.force).toBe(true);
  });

  it('on the masked dump itself, gives back the original rows', async () => {
    const { text } = await byKey(await masked, NO_MIGRATION);
    expect(copyRows(text, 'public.client')).toEqual(copyRows(DUMP, 'public.client'));
    expect(copyRows(text, 'public.other')).toEqual(copyRows(DUMP, 'public.other'));
  });

  it('refuses a dump that lacks a table or column the vault restores into, naming them', async () => {
    const err = await byKey(MIGRATED, NO_MIGRATION).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgcloakError);
    expect((err as PgcloakError).code).toBe('TARGET_SCHEMA');
    expect((err as Error).message).toContain('table public.client');
    const noColumn = parseMigrationMap('tables:\n  client: {rename: customer}\n');
    const err2 = await byKey(MIGRATED, noColumn).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('column public.customer.name');
  });

  it('refuses a using: conversion, which needs a database', async () => {
    const map = parseMigrationMap(`tables:\n  client:\n    rename: customer\n    columns: {name: {rename: full_name, using: "upper(value)"}}\n`);
    const err = await byKey(MIGRATED, map).catch((e: unknown) => e);
    expect((err as PgcloakError).code).toBe('MAP_INVALID');
  });
});

describe('unmask --sql', () => {
  async function script(options: { map?: MigrationMap; force?: boolean; dryRun?: boolean } = {}) {
    await masked;
    const output = new PassThrough();
    const text = collect(output);
    const result = await writeRestoreScript({
      vault: { path: vaultPath, keySource: key },
      map: options.map ?? MAP,
      output,
      force: options.force ?? false,
      fireTriggers: false,
      dryRun: options.dryRun ?? false,
    });
    output.end();
    return { text: await text, result };
  }

  it('is one transaction with one UPDATE per table, never one per row, and the originals as COPY data', async () => {
    const { text, result } = await script();
    const statements = text.split('\n');
    expect(statements.filter((l) => l === 'BEGIN;')).toHaveLength(1);
    expect(statements.at(-2)).toBe('COMMIT;');
    expect(text.match(/^\s*UPDATE "public"\."customer" AS t$/gm)).toHaveLength(1);
    expect(text.match(/^\s*UPDATE "public"\."other" AS t$/gm)).toHaveLength(1);
    expect(text).not.toMatch(/UPDATE "public"\."log"/);
    expect(text).toContain('CREATE TEMP TABLE pgcloak_1 ON COMMIT DROP AS');
    expect(text).toContain('t."full_name" AS "full_name"');
    // Key, originals, what masking wrote (NULL stays NULL).
    expect(copyRows(text, 'pg_temp.pgcloak_1')).toEqual([
      '1\tAlice\t10.50\tt\txxx1\t0\tfalse',
      '2\tBob\t\\N\tf\txxx2\t\\N\tfalse',
      '3\tCarol\t7.25\tt\txxx3\t0\tfalse',
    ]);
    expect(copyRows(text, 'pg_temp.pgcloak_2')).toEqual(['x\tsecret x\txxxx', 'y\tsecret\\ty\txxxy']);
    expect(result.rows).toBe(5);
    expect(text).toContain("no key (rows keyed by position): cannot be matched in a database, not restored");
  });

  it('with --dry-run, rolls back', async () => {
    const { text } = await script({ dryRun: true });
    expect(text.split('\n').at(-2)).toBe('ROLLBACK;');
  });

  it('with --force, restores whatever is not the original already', async () => {
    const { text } = await script({ force: true });
    expect(text).toContain('NOT same1 AS restore1');
    expect(text).toContain('changed since masking (overwritten)');
  });

  it('reads tables whose INSERT rows the vault holds interleaved, and turns SQL literals into COPY text', async () => {
    const script = `CREATE TABLE public.a (id integer, v text);
CREATE TABLE public.b (id integer, v text);
INSERT INTO public.a VALUES (1, 'it''s');
INSERT INTO public.b VALUES (1, E'tab\\there');
INSERT INTO public.a VALUES (2, NULL);
INSERT INTO public.a VALUES (3, 'three');
`;
    const path = join(dir, 'interleaved.vault');
    await maskDump({
      input: Readable.from([Buffer.from(script)]),
      output: new PassThrough().resume(),
      rules: parseRules('tables:\n  a: {columns: {v: placeholder}}\n  b: {columns: {v: placeholder}}\n'),
      vault: { path, keySource: key },
    });
    const output = new PassThrough();
    const text = collect(output);
    await writeRestoreScript({ vault: { path, keySource: key }, map: NO_MIGRATION, output, force: false, fireTriggers: false, dryRun: false });
    output.end();
    const sql = await text;
    expect(copyRows(sql, 'pg_temp.pgcloak_1')).toEqual(["1\tit's\txxx1", '2\t\\N\t\\N', '3\tthree\txxx3']);
    expect(copyRows(sql, 'pg_temp.pgcloak_2')).toEqual(['1\ttab\\there\txxx1']);
  });
});
