// Runs the masker and unmasker in memory, with an in-memory vault, over any chunking.
import { readFileSync } from 'node:fs';
import { PgcloakError } from '../../src/errors.js';
import { loadSqlParser } from '../../src/schema/catalog.js';
import { DumpMasker } from '../../src/mask/dump-masker.js';
import type { VaultSink } from '../../src/vault/writer.js';
import type { FieldRef } from '../../src/engine/row-masker.js';
import { DumpUnmasker } from '../../src/unmask/dump-unmasker.js';
import type { VaultRecord } from '../../src/vault/reader.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { FRAME_RECORDS, RECORD_ROW } from '../../src/vault/format.js';
import { SEAL_HEAD_BYTES, SEAL_TAIL_BYTES } from '../../src/vault/writer.js';
import { readVarint } from '../../src/vault/varint.js';
import type { RunSummary } from '../../src/engine/dump-processor.js';
import type { ByteArea } from '../../src/io/byte-sink.js';

/**
 * An output area for the kernels that grows to exactly the room asked for (`tight`: a kernel
 * writing past what it reserved loses bytes, and a native kernel writing past the end of
 * the buffer it was given is caught in the guard bytes behind it) or with room to spare.
 */
export class TestArea implements ByteArea {
  bytes = Buffer.alloc(0);
  length = 0;
  /** `bytes` and the guard behind it. */
  private whole = Buffer.alloc(GUARD_BYTES, GUARD);
  constructor(private readonly tight = true) {}
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    this.checkGuard();
    const size = this.tight ? this.length + n : 2 * (this.length + n) + 64;
    const whole = Buffer.alloc(size + GUARD_BYTES, GUARD);
    whole.fill(0, 0, size);
    this.bytes.copy(whole, 0, 0, this.length);
    this.whole = whole;
    this.bytes = whole.subarray(0, size);
  }
  write(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.bytes.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }
  view(): Buffer {
    this.checkGuard();
    return this.bytes.subarray(0, this.length);
  }
  private checkGuard(): void {
    const guard = this.whole.subarray(this.bytes.length);
    if (guard.some((b) => b !== GUARD)) throw new Error(`written past the end of an output area of ${this.bytes.length} bytes`);
  }
}

const GUARD = 0xa5;
const GUARD_BYTES = 256;

export class MemoryVault implements VaultSink {
  records: VaultRecord[] = [];
  private read = 0;
  declareTable(decl: Record<string, unknown> & { index: number }): void {
    this.records.push({ type: 'table', decl: JSON.parse(JSON.stringify(decl)) });
  }
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    this.records.push({ type: 'row', tableIndex, ordinal, fields: fields.map((f) => Buffer.from(f.buf.subarray(f.start, f.end))) });
  }
  statement(text: Uint8Array): void {
    this.records.push({ type: 'statement', text: Buffer.from(text) });
  }
  /** Records serialized by the masker (as for the vault writer): read back into row records. */
  appendRecords(bytes: Uint8Array): void {
    const cursor = { pos: 0 };
    const read = (): number => {
      const v = readVarint(bytes, cursor, bytes.length);
      if (v < 0) throw new Error('malformed record');
      return v;
    };
    while (cursor.pos < bytes.length) {
      if (read() !== RECORD_ROW) throw new Error('not a row record');
      const tableIndex = read();
      const ordinal = read();
      const fields: Buffer[] = [];
      for (let n = read(); n > 0; n--) {
        const length = read();
        fields.push(Buffer.from(bytes.subarray(cursor.pos, cursor.pos + length)));
        cursor.pos += length;
      }
      this.records.push({ type: 'row', tableIndex, ordinal, fields });
    }
  }
  /** A long row's records, as the vault writer seals them in place (SealableFrame). */
  appendFrameInPlace(memory: Uint8Array, length: number): void {
    if (memory[SEAL_HEAD_BYTES] !== FRAME_RECORDS || memory.length < SEAL_HEAD_BYTES + length + SEAL_TAIL_BYTES) throw new Error('not a sealable records frame');
    this.appendRecords(memory.subarray(SEAL_HEAD_BYTES + 1, SEAL_HEAD_BYTES + length));
  }
  next(): VaultRecord | null {
    return this.records[this.read++] ?? null;
  }
  rewind(): void {
    this.read = 0;
  }
}

export function chunksOf(input: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < input.length) {
    const n = Math.max(1, sizes.length > 0 ? sizes[i++ % sizes.length]! : input.length);
    out.push(input.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

export async function maskInMemory<V extends VaultSink = MemoryVault>(
  chunks: Buffer[],
  rulesText: string,
  vault: V = new MemoryVault() as VaultSink as V,
  warnings: string[] = [],
): Promise<{ output: Buffer; vault: V; summary: RunSummary }> {
  await loadSqlParser();
  const out: Buffer[] = [];
  const masker = new DumpMasker(parseRules(rulesText), (b) => out.push(Buffer.from(b)), vault, { onWarning: (w) => warnings.push(w) });
  for (const c of chunks) masker.write(c);
  masker.end();
  return { output: Buffer.concat(out), vault, summary: masker.summary() };
}

export async function unmaskInMemory(chunks: Buffer[], rulesText: string, vault: MemoryVault): Promise<Buffer> {
  await loadSqlParser();
  vault.rewind();
  const out: Buffer[] = [];
  const unmasker = new DumpUnmasker(parseRules(rulesText), (b) => out.push(Buffer.from(b)), vault);
  for (const c of chunks) unmasker.write(c);
  unmasker.end();
  unmasker.checkVaultExhausted();
  return Buffer.concat(out);
}

/** A golden case of fixtures/golden/<name>/: input, expected output, rules. */
export function goldenCase(name: string): { INPUT: Buffer; EXPECTED: Buffer; RULES: string } {
  const file = (f: string): Buffer => readFileSync(`fixtures/golden/${name}/${f}`);
  return { INPUT: file('input.sql'), EXPECTED: file('expected.sql'), RULES: file('rules.yaml').toString() };
}

/** The PgcloakError `run` fails with; any other outcome fails the test. */
export async function errorOf(run: () => Promise<unknown>): Promise<PgcloakError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof PgcloakError) return err;
    throw err;
  }
  throw new Error('expected a PgcloakError');
}
