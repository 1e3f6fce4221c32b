// createMaskStream (and createUnmaskStream back), in the style of pg-copy-streams' own tests:
// pipeline() end to end, every chunk boundary, single bytes, a consumer that stops reading,
// an error mid-stream, an early destroy(); and the summary is maskDump's for the same input.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createMaskStream, createUnmaskStream, maskDump, PgcloakError, type MaskStreamOptions } from '../../src/index.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { keySource, makeTempDir, randomKey, removeTempDirs } from '../vault/helpers.js';
import { chunksOf, goldenCase } from './run-in-memory.js';
import { chunkSource, collector, filesIn, LARGE_RULES, largeDump, stalled, through } from './stream-helpers.js';

afterAll(removeTempDirs);

const KEY = randomKey();

function vaultIn(dir: string, name = 'v.vault'): { path: string; keySource: ReturnType<typeof keySource> } {
  return { path: join(dir, name), keySource: keySource(KEY) };
}

describe.each(['types', 'inserts', 'statistics'])('golden case %s through pipeline()', (name) => {
  const { INPUT, EXPECTED, RULES } = goldenCase(name);
  const rules = parseRules(RULES);

  it('masks to the golden bytes, puts the vault in place by finish, and unmasks back byte for byte', async () => {
    const dir = makeTempDir();
    const vault = vaultIn(dir);
    const mask = createMaskStream({ rules, vault });
    let atFinish: { vault: boolean; summary: unknown } | undefined;
    mask.on('finish', () => (atFinish = { vault: existsSync(vault.path), summary: mask.summary }));
    const masked = await through(mask, [INPUT]);
    expect(masked.failure).toBeUndefined();
    expect(masked.output.equals(EXPECTED)).toBe(true);
    expect(atFinish).toEqual({ vault: true, summary: mask.summary });
    expect(filesIn(dir)).toEqual(['v.vault']);
    const back = await through(createUnmaskStream({ vault }), [masked.output]);
    expect(back.failure).toBeUndefined();
    expect(back.output.equals(INPUT)).toBe(true);
  });

  it('gives the golden bytes fed one byte at a time, and back', async () => {
    const dir = makeTempDir();
    const vault = vaultIn(dir);
    const masked = await through(createMaskStream({ rules, vault }), chunksOf(INPUT, [1]));
    expect(masked.output.equals(EXPECTED)).toBe(true);
    const back = await through(createUnmaskStream({ vault }), chunksOf(masked.output, [1]));
    expect(back.output.equals(INPUT)).toBe(true);
  });
});

describe('every chunk boundary', () => {
  // The smallest golden case, cut in two at every byte: masked without a vault (no file to
  // write and sync per cut), and unmasked at every cut with the vault of one masking run.
  const { INPUT, EXPECTED, RULES } = goldenCase('inserts');
  const rules = parseRules(RULES);

  it('masks and unmasks the same bytes wherever the input is cut', async () => {
    const dir = makeTempDir();
    const vault = vaultIn(dir);
    await through(createMaskStream({ rules, vault }), [INPUT]);
    for (let i = 0; i <= INPUT.length; i++) {
      const masked = await through(createMaskStream({ rules }), [INPUT.subarray(0, i), INPUT.subarray(i)]);
      expect(masked.output.equals(EXPECTED), `mask cut at ${i}`).toBe(true);
      const back = await through(createUnmaskStream({ vault }), [EXPECTED.subarray(0, i), EXPECTED.subarray(i)]);
      expect(back.output.equals(INPUT), `unmask cut at ${i}`).toBe(true);
    }
  });
});

describe('raw COPY data (format, table, columns)', () => {
  const RAW_RULES = parseRules('tables:\n  people:\n    columns:\n      name: {strategy: placeholder, type: text}\n      born: {strategy: placeholder, type: date}\n');
  const cases = [
    { format: 'copy-text' as const, data: '1\tAnn\t1980-01-02\n2\t\\N\t\\N\n3\tZo\u00eb \\t tab\t2000-02-29\n', extra: { columns: ['id', 'name', 'born'] } },
    { format: 'copy-csv' as const, data: 'id,name,born\n1,Ann,1980-01-02\n2,,\n3,"Zo\u00eb, ""q""",2000-02-29\n', extra: { header: true } },
  ];

  it.each(cases)('$format: the bytes raw maskDump writes, wherever the input is cut, and back', async ({ format, data, extra }) => {
    const input = Buffer.from(data);
    const dir = makeTempDir();
    const raw = { format, table: 'people', columns: undefined, header: false, delimiter: ',', quote: '"', schemaText: undefined, ...extra };
    const expected = collector();
    await maskDump({ rules: RAW_RULES, raw, input: chunkSource([input]), output: expected.sink });
    expect(expected.bytes().toString()).toContain('xxx');
    const vault = vaultIn(dir);
    const whole = await through(createMaskStream({ rules: RAW_RULES, vault, format, table: 'people', ...extra }), [input]);
    expect(whole.output.equals(expected.bytes())).toBe(true);
    for (let i = 0; i <= input.length; i++) {
      const cut = await through(createMaskStream({ rules: RAW_RULES, format, table: 'people', ...extra }), [input.subarray(0, i), input.subarray(i)]);
      expect(cut.output.equals(expected.bytes()), `cut at ${i}`).toBe(true);
    }
    const back = await through(createUnmaskStream({ vault }), chunksOf(whole.output, [1]));
    expect(back.output.equals(input)).toBe(true);
  });
});

describe('threads', () => {
  it('threads: 2 writes the same bytes as one thread, and unmasks back', async () => {
    const { stream } = largeDump(60_000);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const rules = parseRules(LARGE_RULES);
    const dir = makeTempDir();
    const one = await through(createMaskStream({ rules }), chunks);
    const vault = vaultIn(dir);
    const two = await through(createMaskStream({ rules, vault, threads: 2 }), chunks);
    expect(two.failure).toBeUndefined();
    expect(two.output.equals(one.output)).toBe(true);
    const back = await through(createUnmaskStream({ vault, threads: 2 }), [two.output]);
    expect(back.output.equals(Buffer.concat(chunks))).toBe(true);
  });
});

describe('the summary', () => {
  it("is maskDump's for the same input and options", async () => {
    const { INPUT, RULES } = goldenCase('types');
    const dir = makeTempDir();
    const options = { rules: parseRules(RULES), pseudonymKey: randomKey() };
    const mask = createMaskStream({ ...options, vault: vaultIn(dir, 'stream.vault') });
    const events: unknown[] = [];
    mask.on('summary', (s) => events.push(s));
    const streamed = await through(mask, chunksOf(INPUT, [100]));
    const direct = await maskDump({ ...options, vault: vaultIn(dir, 'direct.vault'), input: chunkSource([INPUT]), output: collector().sink });
    expect(mask.summary).toEqual(direct);
    expect(events).toEqual([direct]);
    expect(streamed.output.length).toBe(direct.bytesOut);
  });
});

describe('backpressure', () => {
  const ROWS = 400_000; // about 30 MB of dump

  it('stops reading its input while the consumer does not read, and ends when it does', async () => {
    const dir = makeTempDir();
    const { stream: source, produced } = largeDump(ROWS);
    const mask = createMaskStream({ rules: parseRules(LARGE_RULES), vault: vaultIn(dir) });
    let release: (() => void) | undefined;
    let blocked = true;
    let consumed = 0;
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, done) {
        consumed += chunk.length;
        if (blocked) release = done;
        else setImmediate(done);
      },
    });
    const run = pipeline(source, mask, sink);
    await stalled(produced);
    // Stalled with the consumer stopped after its first chunk: the input read is bounded by the buffers on the way.
    expect(produced()).toBeGreaterThan(0);
    expect(produced()).toBeLessThan(4 * 1024 * 1024);
    expect(mask.readableLength + mask.writableLength).toBeLessThan(1024 * 1024);
    // A slow consumer from now on: one chunk per turn of the event loop.
    let maxBuffered = 0;
    const sample = setInterval(() => (maxBuffered = Math.max(maxBuffered, mask.readableLength + mask.writableLength)), 5);
    blocked = false;
    release?.();
    await run;
    clearInterval(sample);
    expect(maxBuffered).toBeLessThan(1024 * 1024);
    expect(mask.summary?.tables[0]?.rows).toBe(ROWS);
    expect(consumed).toBe(mask.summary?.bytesOut);
    expect(filesIn(dir)).toEqual(['v.vault']);
  });
});

/** A dump whose row `bad` (of `rows`) has a field too few. */
function dumpWithBadRow(rows: number, bad: number): Buffer {
  const lines = ['CREATE TABLE public.people (\n    id integer NOT NULL,\n    email text,\n    note text\n);\n\nCOPY public.people (id, email, note) FROM stdin;\n'];
  for (let i = 1; i <= rows; i++) lines.push(i === bad ? `${i}\tno-note@example.com\n` : `${i}\tp${i}@example.com\tnote ${i}\n`);
  lines.push('\\.\n\n');
  return Buffer.from(lines.join(''));
}

describe('errors', () => {
  const rules = parseRules(LARGE_RULES);

  it('a malformed row mid-stream is one error, with the code and position maskDump reports, and leaves no vault nor temporary file', async () => {
    const input = dumpWithBadRow(20_000, 15_000);
    const dir = makeTempDir();
    const mask = createMaskStream({ rules, vault: vaultIn(dir) });
    const result = await through(mask, chunksOf(input, [4096, 333]));
    expect(result.errors).toHaveLength(1);
    const err = result.errors[0] as PgcloakError;
    expect(err).toBeInstanceOf(PgcloakError);
    expect(result.failure).toBe(err);
    const direct = await maskDump({ rules, vault: vaultIn(dir, 'direct.vault'), input: chunkSource([input]), output: collector().sink }).then(
      () => undefined,
      (e: unknown) => e as PgcloakError,
    );
    expect(err.code).toBe('COPY_FIELD_COUNT');
    expect(err.code).toBe(direct?.code);
    expect(err.position).toEqual(direct?.position);
    expect(err.position.line).toBe(15_000 + 7);
    expect(err.message).toBe(direct?.message);
    expect(filesIn(dir)).toEqual([]);
  });

  it('an input the producer left empty, or without a statement, is INPUT_FORMAT as on the command line', async () => {
    const dir = makeTempDir();
    for (const input of [[], [Buffer.from('-- only a comment\n\n')]]) {
      const result = await through(createMaskStream({ rules, vault: vaultIn(dir) }), input);
      expect(result.errors).toHaveLength(1);
      expect((result.errors[0] as PgcloakError).code).toBe('INPUT_FORMAT');
    }
    expect(filesIn(dir)).toEqual([]);
  });

  it('an existing vault is refused (VAULT_EXISTS) and left as it was; force: true replaces it', async () => {
    const { INPUT, RULES } = goldenCase('inserts');
    const dir = makeTempDir();
    const vault = vaultIn(dir);
    writeFileSync(vault.path, 'an earlier vault');
    const refused = await through(createMaskStream({ rules: parseRules(RULES), vault }), [INPUT]);
    expect(refused.errors.map((e) => (e as PgcloakError).code)).toEqual(['VAULT_EXISTS']);
    expect(readFileSync(vault.path, 'utf8')).toBe('an earlier vault');
    const replaced = await through(createMaskStream({ rules: parseRules(RULES), vault, force: true }), [INPUT]);
    expect(replaced.failure).toBeUndefined();
    expect(filesIn(dir)).toEqual(['v.vault']);
    expect((await through(createUnmaskStream({ vault }), [replaced.output])).output.equals(INPUT)).toBe(true);
  });

  it('a vault that appears at the path while the stream runs is not replaced: VAULT_EXISTS at the end, nothing left of the new one', async () => {
    const dir = makeTempDir();
    const vault = vaultIn(dir);
    const mask = createMaskStream({ rules, vault });
    const errors: unknown[] = [];
    mask.on('error', (e) => errors.push(e));
    mask.resume();
    mask.write(dumpWithBadRow(2000, 0));
    await stalled(() => filesIn(dir).length, 2);
    writeFileSync(vault.path, 'written meanwhile');
    mask.end();
    await new Promise((resolve) => mask.once('close', resolve));
    expect(errors.map((e) => (e as PgcloakError).code)).toEqual(['VAULT_EXISTS']);
    expect(readFileSync(vault.path, 'utf8')).toBe('written meanwhile');
    expect(filesIn(dir)).toEqual(['v.vault']);
  });

  it('bad options are the one error too (USAGE), before any vault', async () => {
    const dir = makeTempDir();
    const cases: Array<Partial<MaskStreamOptions>> = [{ format: 'copy-text' }, { table: 't' }, { format: 'copy-text', table: 't', header: true }, { format: 'xml' as 'sql' }];
    for (const options of cases) {
      const result = await through(createMaskStream({ rules, vault: vaultIn(dir), ...options }), [Buffer.from('1\ta\n')]);
      expect(result.errors.map((e) => (e as PgcloakError).code), JSON.stringify(options)).toEqual(['USAGE']);
    }
    expect(filesIn(dir)).toEqual([]);
  });

  it("fails with the source's error when the stream before it fails, and removes the unfinished vault", async () => {
    const dir = makeTempDir();
    const { stream: source } = largeDump(100_000);
    const failing = new PassThrough();
    let seen = 0;
    source.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 1024 * 1024) failing.destroy(new Error('the producer failed'));
      else failing.write(chunk);
    });
    const mask = createMaskStream({ rules, vault: vaultIn(dir) });
    const errors: unknown[] = [];
    mask.on('error', (e) => errors.push(e));
    await expect(pipeline(failing, mask, collector().sink)).rejects.toThrow('the producer failed');
    source.destroy();
    await new Promise((resolve) => mask.once('close', resolve));
    expect(errors.length).toBeLessThanOrEqual(1);
    expect(filesIn(dir)).toEqual([]);
  });
});

describe('destroy()', () => {
  const rules = parseRules(LARGE_RULES);

  it('early, without an error: no error event, the temporary vault removed, no vault', async () => {
    const dir = makeTempDir();
    const mask = createMaskStream({ rules, vault: vaultIn(dir) });
    const errors: unknown[] = [];
    mask.on('error', (e) => errors.push(e));
    mask.resume();
    mask.write(dumpWithBadRow(2000, 0));
    // The run has started: its vault is being written under a temporary name.
    await stalled(() => filesIn(dir).length, 2);
    expect(filesIn(dir)).toHaveLength(1);
    expect(filesIn(dir)[0]).toMatch(/^v\.vault\.tmp-/);
    mask.destroy();
    await new Promise((resolve) => mask.once('close', resolve));
    expect(errors).toEqual([]);
    expect(mask.summary).toBeUndefined();
    expect(filesIn(dir)).toEqual([]);
  });

  it('with an error: that error, once; nothing left', async () => {
    const dir = makeTempDir();
    const mask = createMaskStream({ rules, vault: vaultIn(dir) });
    const errors: unknown[] = [];
    mask.on('error', (e) => errors.push(e));
    mask.resume();
    mask.write(dumpWithBadRow(2000, 0));
    await stalled(() => filesIn(dir).length, 2);
    const stop = new Error('stop');
    mask.destroy(stop);
    await new Promise((resolve) => mask.once('close', resolve));
    expect(errors).toEqual([stop]);
    expect(filesIn(dir)).toEqual([]);
  });

  it('after the whole input was written, before the output was read: no vault', async () => {
    const dir = makeTempDir();
    const mask = createMaskStream({ rules, vault: vaultIn(dir) });
    mask.on('error', () => undefined);
    mask.end(dumpWithBadRow(20_000, 0));
    // Not read: the output waits in the stream (more than it buffers), and the run with it.
    await stalled(() => mask.readableLength, 3);
    expect(mask.readableLength).toBeGreaterThan(0);
    expect(filesIn(dir)).toHaveLength(1);
    mask.destroy();
    await new Promise((resolve) => mask.once('close', resolve));
    expect(filesIn(dir)).toEqual([]);
  });
});
