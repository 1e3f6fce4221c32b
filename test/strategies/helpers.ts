// Shared by the strategy tests: column contexts, and mask/unmask runs through the library API
// (maskDump, unmaskDump) with a vault file, as the CLI runs them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { maskDump, type MaskResult } from '../../src/mask/run.js';
import { unmaskDump } from '../../src/unmask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import type { ResolvedType } from '../../src/schema/types.js';
import type { ColumnContext } from '../../src/strategies/strategy.js';
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
