// Shared by the strategy tests: column contexts, and mask/unmask runs through the library API
// (maskDump, unmaskDump) with a vault file, as the CLI runs them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { expect } from 'vitest';
import { maskDump, type MaskResult } from '../../src/mask/run.js';
import { unmaskDump } from '../../src/unmask/run.js';
import { PgcloakError } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import type { ResolvedType } from '../../src/schema/types.js';
import type { ColumnContext, RowContext, ValueMask } from '../../src/strategies/strategy.js';
import type { KeySource } from '../../src/vault/key.js';

export const TEXT: ResolvedType = { kind: 'text', display: 'text', base: 'text', notNull: false };

export function varchar(n: number): ResolvedType {
  return { kind: 'text', display: `character varying(${n})`, base: 'varchar', maxLength: n, notNull: false };
}

export function columnContext(type: ResolvedType, overrides: Partial<ColumnContext> = {}): ColumnContext {
  return {
    table: 'public.t',
    column: 'c',
    type,
    notNull: false,
    path: 'tables.t.columns.c',
    warn: () => undefined,
    columns: ['id', 'c'],
    masked: new Set(['c']),
    secret: Buffer.alloc(32, 0x33),
    ...overrides,
  };
}

const dirs: string[] = [];

export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgcloak-strategy-test-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function collector(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

export interface MaskRun {
  output: Buffer;
  result: MaskResult;
  warnings: string[];
}

export async function maskWith(
  dump: Buffer,
  rulesText: string,
  vaultPath: string,
  keySource: KeySource,
  pseudonymKey?: Buffer,
): Promise<MaskRun> {
  const out = collector();
  const warnings: string[] = [];
  const result = await maskDump({
    input: Readable.from([dump]),
    output: out.stream,
    rules: parseRules(rulesText),
    vault: { path: vaultPath, keySource },
    pseudonymKey,
    onWarning: (w) => warnings.push(w),
  });
  return { output: out.bytes(), result, warnings };
}

export async function unmaskWith(masked: Buffer, vaultPath: string, keySource: KeySource, pseudonymKey?: Buffer): Promise<Buffer> {
  const out = collector();
  await unmaskDump({ input: Readable.from([masked]), output: out.stream, vault: { path: vaultPath, keySource }, pseudonymKey });
  return out.bytes();
}

/** The COPY data lines of `table` in a plain dump, split into fields (no unescaping). */
export function copyRows(dump: Buffer, table: string): string[][] {
  const text = dump.toString('utf8');
  const start = text.indexOf(`COPY ${table} `);
  if (start === -1) throw new Error(`no COPY for ${table}`);
  const body = text.slice(text.indexOf('\n', start) + 1, text.indexOf('\n\\.\n', start));
  return body === '' ? [] : body.split('\n').map((line) => line.split('\t'));
}

/** A small plain dump: customers, and orders that name their customer by e-mail. */
export const SHOP_DUMP = Buffer.from(`--
-- PostgreSQL database dump
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.customer (
    id integer NOT NULL,
    email character varying(40),
    name text,
    phone text,
    partner_id integer,
    ref character varying(12)
);

CREATE TABLE public.orders (
    id integer NOT NULL,
    customer_email character varying(40),
    note text
);

COPY public.customer (id, email, name, phone, partner_id, ref) FROM stdin;
1	alice@example.com	Alice Martin	+33 6 12 34 56 78	7	C-001
2	bob@example.org	Bob O'Brien	(555) 010-0199	\\N	C-002
3	zoe@exämple.fr	Zoë Ünal	\\N	7	\\N
4	\\N	\\N	+1 555 0100	8	C-004
\\.

COPY public.orders (id, customer_email, note) FROM stdin;
10	alice@example.com	first order
11	bob@example.org	\\N
12	alice@example.com	tab\\there
13	zoe@exämple.fr	größe
\\.

--
-- PostgreSQL database dump complete
--

`);

/** A column type of every kind (arrays of text and of integers, an enum), for the accepted-types checks. */
export const TYPE_SAMPLES: Readonly<Record<string, ResolvedType>> = (() => {
  const t = (kind: ResolvedType['kind'], display: string, base = display, more: Partial<ResolvedType> = {}): ResolvedType => ({ kind, display, base, notNull: false, ...more });
  const int = t('integer', 'integer', 'int4');
  return {
    text: TEXT,
    varchar: varchar(8),
    integer: int,
    numeric: t('numeric', 'numeric'),
    boolean: t('boolean', 'boolean', 'bool'),
    date: t('date', 'date'),
    timestamp: t('timestamp', 'timestamp without time zone', 'timestamp'),
    timestamptz: t('timestamptz', 'timestamp with time zone', 'timestamptz'),
    time: t('time', 'time without time zone', 'time'),
    timetz: t('timetz', 'time with time zone', 'timetz'),
    interval: t('interval', 'interval'),
    bytea: t('bytea', 'bytea'),
    json: t('json', 'json'),
    jsonb: t('jsonb', 'jsonb'),
    enum: t('enum', 'public.mood', 'mood', { labels: ['sad', 'ok', 'happy'] }),
    uuid: t('uuid', 'uuid'),
    inet: t('inet', 'inet'),
    cidr: t('cidr', 'cidr'),
    macaddr: t('macaddr', 'macaddr'),
    macaddr8: t('macaddr8', 'macaddr8'),
    'text[]': t('array', 'text[]', '_text', { element: TEXT }),
    'integer[]': t('array', 'integer[]', '_int4', { element: int }),
    unsupported: t('unsupported', 'point'),
  };
})();

/**
 * A one-table dump, `public.t (id integer, c <sqlType>)` (after `ddl`) with `fields` as c's COPY text
 * (`\N` for NULL, ids 1, 2, …), masked under the rule `c: <rule>` keyed by id. Gives c's
 * masked fields as written (UTF-8 decoded, or one character per byte in any other encoding) and the warnings, after
 * checking that unmasking gives the dump back byte for byte.
 */
export async function maskColumn(
  sqlType: string,
  fields: readonly string[],
  rule: string,
  options: { encoding?: string; notNull?: boolean; ddl?: string } = {},
): Promise<{ fields: string[]; warnings: string[] }> {
  const encoding = options.encoding ?? 'UTF8';
  // Other encodings than UTF-8 are read and written byte for byte (latin1): tests give their input in ASCII or LATIN1.
  const bufferEncoding = encoding === 'UTF8' ? 'utf8' : 'latin1';
  const rows = fields.map((f, i) => `${i + 1}\t${f}\n`).join('');
  const dump = Buffer.from(
    `SET client_encoding = '${encoding}';\nSET standard_conforming_strings = on;\n\n` +
      (options.ddl === undefined ? '' : `${options.ddl}\n\n`) +
      `CREATE TABLE public.t (\n    id integer NOT NULL,\n    c ${sqlType}${options.notNull ? ' NOT NULL' : ''}\n);\n\n` +
      `COPY public.t (id, c) FROM stdin;\n${rows}\\.\n\n`,
    bufferEncoding,
  );
  const keySource: KeySource = { kind: 'key', key: Buffer.alloc(32, 7) };
  const vault = join(makeTempDir(), 'v');
  const { output, warnings } = await maskWith(dump, `tables:\n  t:\n    key: id\n    columns:\n      c: ${rule}\n`, vault, keySource);
  expect((await unmaskWith(output, vault, keySource)).equals(dump), 'unmask(mask(d)) is d').toBe(true);
  const text = output.toString(bufferEncoding);
  const start = text.indexOf('\n', text.indexOf('COPY public.t ')) + 1;
  const body = text.slice(start, text.indexOf('\\.\n', start));
  const masked = body.split('\n').slice(0, -1).map((line) => line.slice(line.indexOf('\t') + 1));
  expect(masked).toHaveLength(fields.length);
  return { fields: masked, warnings };
}

/** A row for the value functions: its key, and other columns' originals. */
export function rowOf(key: string, fields: Readonly<Record<string, string | null>> = {}): RowContext {
  return { key: () => key, field: (c) => fields[c] ?? null };
}

/** What a non-NULL `original` becomes under `mask` in `row`, whatever kind of mask it is. */
export function maskedValue(mask: ValueMask, original: string, row: RowContext): string | null {
  switch (mask.kind) {
    case 'keep':
      return original;
    case 'constant':
      return mask.value;
    case 'row':
      return mask.derive(row);
    case 'value':
      return mask.derive(original, row);
  }
}

/** The PgcloakError `run` throws, as code, detail and position (undefined when it throws none). */
export function refusalOf(run: () => unknown): { code: string; detail: string; position: PgcloakError['position'] } | undefined {
  try {
    run();
  } catch (error) {
    if (!(error instanceof PgcloakError)) throw error;
    return { code: error.code, detail: error.detail, position: error.position };
  }
  return undefined;
}

/** The problems parseRules finds in a rules file giving column `c` of table `t` the rule `rule` (YAML flow or plain). */
export function ruleProblems(rule: string): string[] {
  try {
    parseRules(`tables:\n  t:\n    columns:\n      c: ${rule}\n`);
  } catch (error) {
    if (!(error instanceof PgcloakError) || error.code !== 'RULES_INVALID') throw error;
    return error.detail.split('\n  ').slice(1);
  }
  return [];
}
