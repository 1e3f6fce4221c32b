// Masking on worker threads must not change a byte: the same input, rules and key give
// the same masked output and the same vault records whatever the thread count and however
// the input arrives; errors are the same too (the first in input order).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { maskDump } from '../../src/mask/run.js';
import { unmaskDump } from '../../src/unmask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { VaultReader, type VaultRecord } from '../../src/vault/reader.js';
import type { KeySource } from '../../src/vault/key.js';
import { collector } from '../strategies/helpers.js';
import { chunksOf, errorOf, goldenCase, MemoryVault } from './run-in-memory.js';
import { DumpMasker } from '../../src/mask/dump-masker.js';
import { JS_ROW_KERNEL } from '../../src/engine/js-row-kernel.js';
import { secretForMask } from '../../src/engine/strategy-secret.js';
import { loadSqlParser } from '../../src/schema/catalog.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keySource: KeySource = { kind: 'key', key: Buffer.alloc(32, 7) };
let runs = 0;

/** A generated ERP-shaped dump (bench/generate.js): every table, tabs, backslashes, UTF-8, jsonb. */
function generated(size: string, inserts = false): Buffer {
  const file = join(dir, `erp-${size}${inserts ? '-inserts' : ''}.sql`);
  const r = spawnSync(process.execPath, ['bench/generate.js', '--size', size, '--output', file, ...(inserts ? ['--inserts'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(file);
}

const HEAVY = `tables:
  res_partner:
    columns: {name: placeholder, email: placeholder, phone: placeholder, street: placeholder, comment: placeholder, display_name: placeholder}
  account_invoice:
    columns: {number: placeholder, date_invoice: placeholder, amount_untaxed: placeholder, amount_tax: {strategy: constant, value: '0.00'}, residual: 'null'}
  account_move_line:
    columns: {name: pseudonym, ref: hash, debit: placeholder, date: placeholder}
`;

interface Masked {
  output: Buffer;
  /** SHA-256 of the vault's records in order (a deep comparison of thousands of records is slow). */
  records: string;
  recordCount: number;
  vault: string;
  warnings: string[];
  changed: number[];
}

async function mask(chunks: Buffer[], rulesText: string, threads: number): Promise<Masked> {
  const vault = join(dir, `run-${runs++}.vault`);
  const out = collector();
  const warnings: string[] = [];
  const result = await maskDump({
    input: Readable.from(chunks),
    output: out.stream,
    rules: parseRules(rulesText),
    vault: { path: vault, keySource },
    pseudonymKey: Buffer.alloc(32, 9),
    threads,
    onWarning: (w) => warnings.push(w),
  });
  const reader = VaultReader.open(vault, keySource);
  const hash = createHash('sha256');
  let recordCount = 0;
  for (let r = reader.next(); r !== null; r = reader.next()) {
    hash.update(recordText(r));
    recordCount++;
  }
  reader.close();
  return { output: out.bytes(), records: hash.digest('hex'), recordCount, vault, warnings, changed: result.tables.map((t) => t.changedRows) };
}

/** Masked by the JavaScript kernels alone, on one thread (in memory): the output and its records' hash, as mask() gives them. */
async function javaScriptOnly(input: Buffer, rulesText: string): Promise<{ output: Buffer; records: string }> {
  await loadSqlParser();
  const vault = new MemoryVault();
  const out: Buffer[] = [];
  const rules = parseRules(rulesText);
  const masker = new DumpMasker(rules, (b) => out.push(Buffer.from(b)), vault, { kernel: JS_ROW_KERNEL, secret: secretForMask(rules, Buffer.alloc(32, 9), keySource)?.key });
  masker.write(input);
  masker.end();
  const hash = createHash('sha256');
  for (const r of vault.records) hash.update(recordText(r));
  return { output: Buffer.concat(out), records: hash.digest('hex') };
}

function recordText(r: VaultRecord): string {
  if (r.type === 'table') return `T${JSON.stringify(r.decl)}\n`;
  if (r.type === 'statement') return `S${r.text.toString('hex')}\n`;
  return `R${r.tableIndex},${r.ordinal},${r.fields.map((f) => f.toString('hex')).join(',')}\n`;
}

async function unmask(masked: Buffer | Buffer[], vault: string, threads = 1): Promise<Buffer> {
  const out = collector();
  await unmaskDump({ input: Readable.from(Array.isArray(masked) ? masked : [masked]), output: out.stream, vault: { path: vault, keySource }, pseudonymKey: Buffer.alloc(32, 9), threads });
  return out.bytes();
}

describe('mask --threads', () => {
  const dump = generated('3MiB');
  const rules = HEAVY;

  it('writes the same output and vault records with 1, 2 and 3 threads, and unmasks byte for byte', async () => {
    const one = await mask([dump], rules, 1);
    expect(one.output.equals(dump)).toBe(false);
    expect(one.recordCount).toBeGreaterThan(10_000);
    for (const threads of [2, 3]) {
      const many = await mask(chunksOf(dump, [1024 * 1024]), rules, threads);
      expect(many.output.equals(one.output)).toBe(true);
      expect(many.records).toEqual(one.records);
      expect(many.changed).toEqual(one.changed);
      expect(many.warnings).toEqual(one.warnings);
      expect((await unmask(many.output, many.vault)).equals(dump)).toBe(true);
    }
  });

  it('keeps statistics statements (and their vault records) in input order between batches on workers', async () => {
    // After every COPY block, statistics of its table's name column: masked in some tables, not in others.
    let table = '';
    const text = dump.toString('utf8').replace(/^COPY public\.(\S+) .*$|^\\\.$/gm, (line: string, name: string | undefined) => {
      if (name !== undefined) {
        table = name;
        return line;
      }
      return `${line}\nSELECT * FROM pg_catalog.pg_restore_attribute_stats('schemaname', 'public', 'relname', '${table}', 'attname', 'name', 'null_frac', '0'::real, 'histogram_bounds', '{"${table} a","${table} b"}'::text);`;
    });
    const input = Buffer.from(text);
    const one = await mask([input], rules, 1);
    expect(one.output.toString()).toContain("'relname', 'res_partner', 'attname', 'name', 'null_frac', '0'::real);");
    expect(one.output.toString()).toContain('{"ir_logging a","ir_logging b"}');
    expect(one.output.toString()).not.toContain('account_move_line a');
    for (const threads of [2, 3]) {
      const many = await mask(chunksOf(input, [1024 * 1024]), rules, threads);
      expect(many.output.equals(one.output)).toBe(true);
      expect(many.records).toEqual(one.records);
      expect((await unmask(many.output, many.vault, threads)).equals(input)).toBe(true);
    }
  });

  it('masks INSERT statements on workers with the same bytes and records, and unmasks them', async () => {
    const inserts = generated('2MiB', true);
    const one = await mask([inserts], rules, 1);
    expect(one.recordCount).toBeGreaterThan(5_000);
    const js = await javaScriptOnly(inserts, rules);
    expect(one.output.equals(js.output)).toBe(true);
    expect(one.records).toBe(js.records);
    for (const threads of [2, 3]) {
      for (const size of [inserts.length, 65536, 777]) {
        const many = await mask(chunksOf(inserts, [size]), rules, threads);
        expect(many.output.equals(one.output)).toBe(true);
        expect(many.records).toBe(one.records);
        expect(many.changed).toEqual(one.changed);
      }
    }
    expect((await unmask(one.output, one.vault, 2)).equals(inserts)).toBe(true);
    // A dump with both forms: COPY blocks, then INSERTs of the same tables.
    const both = Buffer.concat([dump, Buffer.from('\n'), inserts.subarray(inserts.indexOf('INSERT INTO'))]);
    const b1 = await mask([both], rules, 1);
    const b2 = await mask(chunksOf(both, [300_000]), rules, 2);
    expect(b2.output.equals(b1.output)).toBe(true);
    expect(b2.records).toBe(b1.records);
    expect((await unmask(b2.output, b2.vault, 2)).equals(both)).toBe(true);
  });

  it('reads INSERT statements on the native walk as on the JavaScript one: plain and other forms, settings, tables interleaved', async () => {
    const input = Buffer.from(mixedInserts(400));
    const rulesText = `tables:\n  p:\n    columns: {name: placeholder, note: placeholder, doc: placeholder}\n  q:\n    columns: {v: placeholder}\n`;
    const one = await mask([input], rulesText, 1);
    expect(one.recordCount).toBeGreaterThan(400);
    // One thread reads them natively too: the reference is JavaScript alone.
    const js = await javaScriptOnly(input, rulesText);
    expect(one.output.equals(js.output)).toBe(true);
    expect(one.records).toBe(js.records);
    for (const sizes of [[input.length], [1], [7], [64], [4093], [333, 17, 5000]]) {
      const two = await mask(chunksOf(input, sizes), rulesText, 2);
      expect(two.output.equals(one.output)).toBe(true);
      expect(two.records).toBe(one.records);
      expect(two.changed).toEqual(one.changed);
      expect(two.warnings).toEqual(one.warnings);
    }
    // Unmasking walks the same statements: back byte for byte however the masked dump is cut.
    for (const sizes of [[one.output.length], [1], [7], [4093]]) {
      expect((await unmask(chunksOf(one.output, sizes), one.vault, 2)).equals(input)).toBe(true);
    }
    // A masked row edited in a statement the walk takes (after a plain one): refused at its line.
    const maskedLines = one.output.toString().split('\n');
    const plainMasked = /^INSERT INTO public\.p VALUES \(\d+, ('[^'\n]*'|NULL), ('[^'\n]*'|NULL), ('[^'\n]*'|NULL)\);$/;
    let e = maskedLines.length >> 1;
    while (!(plainMasked.test(maskedLines[e - 1]!) && plainMasked.test(maskedLines[e]!) && maskedLines[e]!.includes("'xxx"))) e++;
    const edited = Buffer.from([...maskedLines.slice(0, e), maskedLines[e]!.replace("'xxx", "'xxy"), ...maskedLines.slice(e + 1)].join('\n'));
    for (const [threads, sizes] of [[1, [edited.length]], [2, [4093]], [2, [1]]] as const) {
      const u = await errorOf(() => unmask(chunksOf(edited, [...sizes]), one.vault, threads));
      expect(u.code).toBe('VAULT_MISMATCH');
      expect(u.position.line).toBe(e + 1);
      // At the row's `(`, in bytes from the start of the dump.
      expect(u.position.offset).toBe(Buffer.byteLength(maskedLines.slice(0, e).join('\n')) + 1 + maskedLines[e]!.indexOf('('));
    }
    // A row with a value too many, after rows the native walk took: the same error, at its line.
    const text = input.toString();
    // After a plain one-row statement with standard strings on: where the native walk goes on.
    const lines = text.split('\n');
    const plainRow = /^INSERT INTO public\.p VALUES \(\d+, ('[^'\n]*'|NULL), ('[^'\n]*'|NULL), ('[^'\n]*'|NULL)\);$/;
    let k = lines.length >> 1;
    while (!(plainRow.test(lines[k - 1]!) && lines.slice(0, k).reverse().find((l) => l.startsWith('SET standard'))!.endsWith('on;'))) k++;
    const at = lines.slice(0, k).join('\n').length + 1;
    const bad = Buffer.from(`${text.slice(0, at)}INSERT INTO public.p VALUES (0, 'a', 'b', NULL, 1);\n${text.slice(at)}`);
    const e1 = await errorOf(() => mask([bad], rulesText, 1));
    expect(e1.code).toBe('COPY_FIELD_COUNT');
    expect(e1.position.line).toBe(text.slice(0, at).split('\n').length);
    for (const sizes of [[bad.length], [4093]]) {
      const e2 = await errorOf(() => mask(chunksOf(bad, sizes), rulesText, 2));
      expect(e2.message).toBe(e1.message);
      expect(e2.position).toEqual(e1.position);
    }
    // A row the native walk takes, whose masking fails on the worker: the same error, at its line.
    const badJson = Buffer.from(`${text.slice(0, at)}INSERT INTO public.p VALUES (0, 'a', 'b', '{"a": tru');\n${text.slice(at)}`);
    const j1 = await errorOf(() => mask([badJson], rulesText, 1));
    expect(j1.position).toMatchObject({ line: text.slice(0, at).split('\n').length, column: 'doc' });
    for (const sizes of [[badJson.length], [4093]]) {
      const j2 = await errorOf(() => mask(chunksOf(badJson, sizes), rulesText, 2));
      expect(j2.message).toBe(j1.message);
      expect(j2.position).toEqual(j1.position);
    }
  });

  it('unmasks byte for byte on 2 and 3 threads, however the masked dump is cut', async () => {
    const one = await mask([dump], rules, 1);
    for (const threads of [2, 3]) {
      expect((await unmask(chunksOf(one.output, [1024 * 1024]), one.vault, threads)).equals(dump)).toBe(true);
      expect((await unmask(chunksOf(one.output, [4093]), one.vault, threads)).equals(dump)).toBe(true);
    }
  });

  it('refuses, on worker threads too, a masked dump with one changed row, at that row', async () => {
    const one = await mask([dump], rules, 1);
    const text = one.output.toString('utf8');
    const at = text.indexOf('\n', text.indexOf('\n', text.indexOf('COPY public.account_move_line')) + 50_000) + 1;
    const edited = Buffer.from(text.slice(0, at) + text.slice(at).replace(/\t2011-11-11\n/, '\t2011-11-12\n'));
    const line = text.slice(0, at).split('\n').length;
    const single = await errorOf(() => unmask(edited, one.vault, 1));
    expect(single.code).toBe('VAULT_MISMATCH');
    expect(single.position.line).toBe(line);
    for (const threads of [2, 3]) {
      const many = await errorOf(() => unmask(chunksOf(edited, [65536]), one.vault, threads));
      expect(many.message).toBe(single.message);
    }
  });

  it('is the same however the input is cut', async () => {
    const one = await mask([dump], rules, 1);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 2000, max: 300_000 }), { minLength: 1, maxLength: 6 }), async (sizes) => {
        const two = await mask(chunksOf(dump, sizes), rules, 2);
        expect(two.output.equals(one.output)).toBe(true);
        expect(two.records).toEqual(one.records);
      }),
      { numRuns: 8 },
    );
  });

  it('gives the golden output on worker threads, in chunks of 1, 7 and 64 bytes', async () => {
    const { INPUT, EXPECTED, RULES } = goldenCase('types');
    for (const size of [1, 7, 64, INPUT.length]) {
      const two = await mask(chunksOf(INPUT, [size]), RULES, 2);
      expect(two.output.toString()).toBe(EXPECTED.toString());
    }
  });

  it('reports the first bad row in input order, whichever thread read it', async () => {
    const text = dump.toString('utf8');
    // The last row of account_move_line loses a field; right after its block, a COPY into a
    // ruled table the dump never created fails on the main thread, in the same chunk.
    const end = text.indexOf('\n\\.\n', text.indexOf('COPY public.account_move_line'));
    const lineStart = text.lastIndexOf('\n', end - 1) + 1;
    const badLine = text.slice(lineStart, end).replace(/\t[^\t]*$/, '');
    const bad = text.slice(0, lineStart) + badLine + '\n\\.\nCOPY public.nope (a) FROM stdin;\n1\n\\.\n' + text.slice(end + 4);
    const badRules = `${rules}  nope:\n    columns: {a: placeholder}\n`;
    const one = await errorOf(() => mask([Buffer.from(bad)], badRules, 1));
    expect(one.code).toBe('COPY_FIELD_COUNT');
    expect(one.position.table).toBe('public.account_move_line');
    expect(one.position.line).toBe(text.slice(0, lineStart).split('\n').length);
    for (const threads of [2, 3]) {
      const many = await errorOf(() => mask([Buffer.from(bad)], badRules, threads));
      expect(many.message).toBe(one.message);
    }
  });
});

/**
 * `n` INSERT statements into two tables, mostly one plain row each (as pg_dump --inserts
 * writes them) and now and then what the native walk leaves to JavaScript: several rows,
 * casts, escape strings, comments, expressions, a column list, standard strings off.
 */
function mixedInserts(n: number): string {
  let seed = 7;
  // mulberry32: a small generator whose low bits are as random as its high ones.
  const rand = (k: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
  const text = (): string => ["'a'", "'it''s'", "'x;y)('", "'two\nlines'", "'é'", 'NULL', "''"][rand(7)]!;
  const doc = (): string => ['\'{"k": "v", "n": 1}\'', 'NULL', '\'[1, "a"]\'', '\'{"q": "it\'\'s"}\''][rand(4)]!;
  const lines = ['SET standard_conforming_strings = on;', 'CREATE TABLE public.p (id integer, name text, note text, doc jsonb);', 'CREATE TABLE public.q (id integer, v text);', ''];
  for (let i = 1; i <= n; i++) {
    const plain = `INSERT INTO public.p VALUES (${i}, ${text()}, ${text()}, ${doc()});`;
    switch (rand(16)) {
      case 0:
        lines.push(`INSERT INTO public.p VALUES (${i}, ${text()}, ${text()}, NULL), (${i + 100000}, 'b', 'c', NULL);`);
        break;
      case 1:
        lines.push(`INSERT INTO public.p VALUES (${i}, 'a'::text, E'e\\'s', NULL);`);
        break;
      case 2:
        lines.push(`INSERT INTO public.p VALUES (${i}, /* c */ 'a', 'b' -- c\n, NULL);`);
        break;
      case 3:
        lines.push(`INSERT INTO public.q VALUES (${i}, ${text()});`);
        break;
      case 4:
        lines.push(`INSERT INTO public.p (id, name, note, doc) VALUES (${i}, ${text()}, ${text()}, NULL);`);
        break;
      case 5:
        lines.push(`-- a comment\n${plain}`);
        break;
      case 6:
        lines.push(i % 2 ? "SET standard_conforming_strings = off;" : 'SET standard_conforming_strings = on;');
        lines.push(plain);
        break;
      case 7:
        lines.push(`${plain} ${plain}`);
        break;
      default:
        lines.push(plain);
    }
  }
  lines.push('SET standard_conforming_strings = on;', '');
  return lines.join('\n');
}
