// Rows as long as a document (issue 18: a bytea of hundreds of MB in ir_attachment): masked
// and unmasked byte for byte whatever the chunking, the kernel, the thread count and the
// form (COPY, INSERT), between ordinary rows of the same table. The rows here are a few MiB,
// past the length from which they take the long path (LONG_ROW_BYTES).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DumpMasker } from '../../src/mask/dump-masker.js';
import { LONG_ROW_BYTES } from '../../src/engine/masked-row.js';
import { JS_ROW_KERNEL } from '../../src/engine/js-row-kernel.js';
import { maskDump } from '../../src/mask/run.js';
import { unmaskDump } from '../../src/unmask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { loadSqlParser } from '../../src/schema/catalog.js';
import type { KeySource } from '../../src/vault/key.js';
import { VaultReader } from '../../src/vault/reader.js';
import { collector } from '../strategies/helpers.js';
import { chunksOf, maskInMemory, MemoryVault, unmaskInMemory } from './run-in-memory.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-long-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keySource: KeySource = { kind: 'key', key: Buffer.alloc(32, 3) };

interface Row {
  id: number;
  name: string;
  /** The bytea's hex digits. */
  datas: string;
  note: string;
}

const hex = (n: number, seed: number): string => createHash('sha256').update(String(seed)).digest('hex').repeat(Math.ceil(n / 64)).slice(0, n);

const ordinary = (from: number, n: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `doc${from + i}.pdf`, datas: hex(64, from + i), note: `note ${from + i}` }));

/**
 * Ordinary rows (more than a batch: on two threads some are out on the worker when the long
 * row comes), a long masked value, more rows, a long value in a column no rule names, a row
 * just past the long length, more rows.
 */
const ROWS: Row[] = [
  ...ordinary(1, 3000),
  { id: 3001, name: 'scan.pdf', datas: hex(3 * LONG_ROW_BYTES + 10, 3001), note: 'scanned' },
  ...ordinary(3002, 40),
  { id: 3042, name: 'mail.eml', datas: hex(64, 3042), note: 'n'.repeat(2 * LONG_ROW_BYTES + 3) },
  ...ordinary(3043, 3000),
  { id: 6043, name: 'fax.tif', datas: hex(LONG_ROW_BYTES + 100_000, 6043), note: 'fax' },
  ...ordinary(6044, 10),
];
const LONG_MASKED = ROWS[3000]!;

/** What masking writes: name becomes xxx<id>, the bytea empty, the note as it was. */
const masked = (r: Row): Row => ({ id: r.id, name: `xxx${r.id}`, datas: '', note: r.note });

const RULES = 'tables:\n  ir_attachment:\n    columns: {name: placeholder, db_datas: placeholder}\n';

const HEAD = `--
-- PostgreSQL database dump
--

SET standard_conforming_strings = on;

CREATE TABLE public.ir_attachment (
    id integer NOT NULL,
    name character varying NOT NULL,
    db_datas bytea,
    note text
);

CREATE TABLE public.other (
    id integer NOT NULL,
    body text
);

`;
const TAIL = '\nALTER TABLE ONLY public.ir_attachment ADD CONSTRAINT ir_attachment_pkey PRIMARY KEY (id);\n\n--\n-- PostgreSQL database dump complete\n--\n\n';

function copyDump(rows: Row[], other: string): Buffer {
  const field = (d: string): string => (d === '' ? '' : `\\\\x${d}`);
  return Buffer.from(
    `${HEAD}COPY public.ir_attachment (id, name, db_datas, note) FROM stdin;\n${rows.map((r) => `${r.id}\t${r.name}\t${field(r.datas)}\t${r.note}\n`).join('')}\\.\n\n` +
      `COPY public.other (id, body) FROM stdin;\n1\t${other}\n\\.\n${TAIL}`,
  );
}

function insertDump(rows: Row[], other: string): Buffer {
  const datas = (d: string): string => (d === '' ? "''" : `'\\x${d}'`);
  return Buffer.from(
    `${HEAD}${rows.map((r) => `INSERT INTO public.ir_attachment VALUES (${r.id}, '${r.name}', ${datas(r.datas)}, '${r.note}');\n`).join('')}` +
      `INSERT INTO public.other VALUES (1, '${other}');\n${TAIL}`,
  );
}

/** A long value in a table no rule names, after the ruled one. */
const OTHER = 'o'.repeat(2 * LONG_ROW_BYTES + 1);

describe.each([
  ['COPY', copyDump],
  ['INSERT', insertDump],
])('long rows in %s form', (_form, dumpOf) => {
  const input = dumpOf(ROWS, OTHER);
  const expected = dumpOf(ROWS.map(masked), OTHER);
  const chunkings = [[input.length], [65536], [LONG_ROW_BYTES, 7, 300_001], [4 * LONG_ROW_BYTES + 13]];

  it('are masked byte for byte, the long original kept whole, whatever the chunking and kernel', async () => {
    await loadSqlParser();
    for (const sizes of chunkings) {
      const { output, vault } = await maskInMemory(chunksOf(input, sizes), RULES);
      expect(output.equals(expected), `chunks of ${sizes.join(',')}`).toBe(true);
      const long = vault.records.find((r) => r.type === 'row' && r.ordinal === LONG_MASKED.id);
      expect(long?.type === 'row' && long.fields.some((f) => f.toString().includes(LONG_MASKED.datas))).toBe(true);
      expect((await unmaskInMemory(chunksOf(output, sizes), RULES, vault)).equals(input), `unmasked, chunks of ${sizes.join(',')}`).toBe(true);
    }
    // A vault that cannot seal in place, and one that takes rows one by one.
    for (const sink of [Object.assign(new MemoryVault(), { appendFrameInPlace: undefined }), Object.assign(new MemoryVault(), { appendFrameInPlace: undefined, appendRecords: undefined })]) {
      const { output, vault } = await maskInMemory(chunksOf(input, [65536]), RULES, sink as MemoryVault);
      expect(output.equals(expected)).toBe(true);
      expect((await unmaskInMemory([output], RULES, vault)).equals(input)).toBe(true);
    }
    // The JavaScript kernels alone.
    const vault = new MemoryVault();
    const out: Buffer[] = [];
    const masker = new DumpMasker(parseRules(RULES), (b) => out.push(Buffer.from(b)), vault, { kernel: JS_ROW_KERNEL });
    for (const c of chunksOf(input, [65536])) masker.write(c);
    masker.end();
    expect(Buffer.concat(out).equals(expected)).toBe(true);
  });

  it('are masked alike on one thread and two, sealed into a real vault, and unmasked byte for byte', async () => {
    // Half a long row at a time, and on two threads the whole input at once too: a long row
    // comes while batches are out on the worker.
    const runs: [number, number][] = [[1, LONG_ROW_BYTES / 2], [2, LONG_ROW_BYTES / 2], [2, input.length]];
    for (const [threads, chunk] of runs) {
      const path = join(dir, `${_form}-${threads}-${chunk}.vault`);
      const out = collector();
      await maskDump({ input: Readable.from(chunksOf(input, [chunk])), output: out.stream, rules: parseRules(RULES), vault: { path, keySource }, threads });
      expect(out.bytes().equals(expected), `${threads} thread(s), chunks of ${chunk}`).toBe(true);
      const reader = VaultReader.open(path, keySource);
      let longest = 0;
      for (let r = reader.next(); r !== null; r = reader.next()) if (r.type === 'row') longest = Math.max(longest, ...r.fields.map((f) => f.length));
      reader.close();
      expect(longest).toBeGreaterThanOrEqual(LONG_MASKED.datas.length);
      for (const unmaskThreads of [1, 2]) {
        const back = collector();
        await unmaskDump({ input: Readable.from(chunksOf(out.bytes(), [65536])), output: back.stream, vault: { path, keySource }, threads: unmaskThreads });
        expect(back.bytes().equals(input), `masked on ${threads}, unmasked on ${unmaskThreads} thread(s)`).toBe(true);
      }
    }
  });
});
