import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { BINARY_COPY_SIGNATURE, BINARY_COPY_TRAILER, BinaryCopyReader, binaryCopyHeader, binaryTuple } from '../../src/copy/binary-rows.js';

function field(data: Buffer | null): Buffer {
  if (data === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(data.length);
  return Buffer.concat([length, data]);
}

function int4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** Bytes as hex; long ones as their length and a digest, to keep failures readable. */
function shown(buf: Buffer, start: number, end: number): string {
  if (end - start <= 32) return buf.toString('hex', start, end);
  return `<${end - start} bytes ${createHash('sha1').update(buf.subarray(start, end)).digest('hex').slice(0, 12)}>`;
}

/** Everything the reader reports, as comparable strings. */
function read(chunks: readonly Buffer[]): string[] {
  const events: string[] = [];
  const reader = new BinaryCopyReader({
    header: (buf, start, end) => events.push(`header ${buf.toString('hex', start, end)}`),
    row: (buf, start, end, starts, ends, at) => {
      expect(starts.length).toBe(ends.length);
      expect(starts[0] ?? end).toBe(start + 2);
      expect(ends[ends.length - 1] ?? start + 2).toBe(end);
      const fields = starts.map((s, i) => shown(buf, s, ends[i]!));
      events.push(`row ${at.line}@${at.offset} n=${buf.readInt16BE(start)} [${fields.join(' ')}]`);
    },
    trailer: (buf, start, end) => events.push(`trailer ${buf.toString('hex', start, end)}`),
  });
  for (const c of chunks) reader.write(c);
  reader.end();
  return events;
}

function splitEvery(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return chunks;
}

function thrown(fn: () => unknown): PgcloakError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgcloakError) return err;
    throw err;
  }
  throw new Error('expected a PgcloakError');
}

const BIG = Buffer.alloc(3000, 0x61);
const HEADER_WITH_EXTENSION = Buffer.concat([BINARY_COPY_SIGNATURE, Buffer.from([0, 0, 0, 0, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc])]);
const TUPLES = [
  binaryTuple([field(int4(1)), field(Buffer.from('héllo 🎉')), field(null)]),
  binaryTuple([field(int4(2)), field(Buffer.alloc(0)), field(null)]),
  binaryTuple([]),
  binaryTuple([field(int4(3)), field(BIG), field(Buffer.from([0]))]),
];
const STREAM = Buffer.concat([HEADER_WITH_EXTENSION, ...TUPLES, BINARY_COPY_TRAILER]);

describe('binary COPY rows', () => {
  const whole = read([STREAM]);

  it('reports the header, each tuple with its fields (length prefix included) and the trailer', () => {
    const offsets = [HEADER_WITH_EXTENSION.length];
    for (const t of TUPLES) offsets.push(offsets[offsets.length - 1]! + t.length);
    expect(whole).toEqual([
      `header ${HEADER_WITH_EXTENSION.toString('hex')}`,
      `row 1@${offsets[0]} n=3 [0000000400000001 0000000b${Buffer.from('héllo 🎉').toString('hex')} ffffffff]`,
      `row 2@${offsets[1]} n=3 [0000000400000002 00000000 ffffffff]`,
      `row 3@${offsets[2]} n=0 []`,
      `row 4@${offsets[3]} n=3 [0000000400000003 ${shown(field(BIG), 0, BIG.length + 4)} 0000000100]`,
      `trailer ffff`,
    ]);
  });

  it('gives the same events at every split point, byte by byte, and in windows of 2 to 13 bytes', () => {
    for (let i = 0; i <= STREAM.length; i++) expect(read([STREAM.subarray(0, i), STREAM.subarray(i)]), `split at ${i}`).toEqual(whole);
    expect(read(splitEvery(STREAM, 1))).toEqual(whole);
    for (let size = 2; size <= 13; size++) expect(read(splitEvery(STREAM, size)), `windows of ${size}`).toEqual(whole);
  });

  it('reads a field larger than the chunks, one concatenation per tuple', () => {
    const huge = Buffer.alloc(5_000_000, 0x7a);
    const stream = Buffer.concat([binaryCopyHeader(), binaryTuple([field(huge)]), binaryTuple([field(null)]), BINARY_COPY_TRAILER]);
    const sizes: number[] = [];
    const reader = new BinaryCopyReader({
      header: () => {},
      row: (buf, _start, _end, starts, ends) => sizes.push(ends[0]! - starts[0]!),
      trailer: () => {},
    });
    for (const c of splitEvery(stream, 1000)) reader.write(c);
    reader.end();
    expect(sizes).toEqual([huge.length + 4, 4]);
    expect(reader.rows).toBe(2);
  });

  it('stays linear when a tuple of many fields spans many chunks', () => {
    // 2000 fields of 5 kB: 10 MB in one tuple, fed in 4 kB chunks. Joining the pending
    // chunks at every chunk would copy ~12 GB; reading the length prefixes across them
    // and joining once copies 10 MB.
    const fields = Array.from({ length: 2000 }, (_, i) => field(Buffer.alloc(5000, i & 0xff)));
    const stream = Buffer.concat([binaryCopyHeader(), binaryTuple(fields), BINARY_COPY_TRAILER]);
    let got: string[] = [];
    const reader = new BinaryCopyReader({
      header: () => {},
      row: (buf, _start, _end, starts, ends) => (got = starts.map((s, i) => `${ends[i]! - s}:${buf[s + 4]}`)),
      trailer: () => {},
    });
    const started = performance.now();
    for (const c of splitEvery(stream, 4096)) reader.write(c);
    reader.end();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(got).toEqual(fields.map((_f, i) => `5004:${i & 0xff}`));
  });

  it('a header as PostgreSQL writes it: signature, no flags, no extension', () => {
    expect(binaryCopyHeader().toString('hex')).toBe('5047434f50590aff0d0a00' + '00000000' + '00000000');
  });

  it('refuses data that is not binary COPY as soon as the signature differs', () => {
    const text = Buffer.from('1\tAlice\n2\tBob\n\\.\n');
    const err = thrown(() => new BinaryCopyReader({ header() {}, row() {}, trailer() {} }).write(text.subarray(0, 1)));
    expect(err.code).toBe('INPUT_FORMAT');
    expect(err.position.offset).toBe(0);
    expect(err.message).toMatch(/not binary COPY data/);
    const almost = Buffer.from(STREAM);
    almost[5] = 0x58; // PGCOPX
    for (const chunks of [[almost], splitEvery(almost, 1)]) {
      const e = thrown(() => read(chunks));
      expect([e.code, e.position.offset]).toEqual(['INPUT_FORMAT', 5]);
    }
  });

  it('refuses the old format with OIDs and unknown critical flags', () => {
    const withOids = Buffer.from(STREAM);
    withOids.writeUInt32BE(1 << 16, 11);
    const e = thrown(() => read([withOids]));
    expect([e.code, e.position.offset]).toEqual(['INPUT_FORMAT', 11]);
    expect(e.message).toMatch(/OIDs/);
    const critical = Buffer.from(STREAM);
    critical.writeUInt32BE(1 << 20, 11);
    expect(thrown(() => read([critical])).code).toBe('INPUT_FORMAT');
    // Bits 0-15 are for compatible extensions: ignored.
    const compatible = Buffer.from(STREAM);
    compatible.writeUInt32BE(1, 11);
    expect(read([compatible]).slice(1)).toEqual(whole.slice(1));
  });

  it('refuses input that ends inside the header, inside a tuple, or without the trailer', () => {
    const inHeader = thrown(() => read([STREAM.subarray(0, 15)]));
    expect([inHeader.code, inHeader.position.offset]).toEqual(['COPY_UNTERMINATED', 15]);

    const tuple2 = HEADER_WITH_EXTENSION.length + TUPLES[0]!.length;
    for (const cut of [tuple2 + 1, tuple2 + 5, tuple2 + 9]) {
      for (const chunks of [[STREAM.subarray(0, cut)], splitEvery(STREAM.subarray(0, cut), 3)]) {
        const e = thrown(() => read(chunks));
        expect([e.code, e.position.line, e.position.offset], `cut at ${cut}`).toEqual(['COPY_UNTERMINATED', 2, tuple2]);
        expect(e.message).toMatch(/ends inside tuple 2/);
      }
    }
    const noTrailer = STREAM.subarray(0, STREAM.length - 2);
    const e = thrown(() => read([noTrailer]));
    expect([e.code, e.position.offset]).toEqual(['COPY_UNTERMINATED', noTrailer.length]);
    expect(e.message).toMatch(/without its trailer/);
    expect(thrown(() => read([])).code).toBe('COPY_UNTERMINATED');
  });

  it('refuses bytes after the trailer, in the same chunk or a later one', () => {
    const extra = Buffer.concat([STREAM, Buffer.from([0])]);
    for (const chunks of [[extra], [STREAM, Buffer.from('x')], splitEvery(extra, 1)]) {
      const e = thrown(() => read(chunks));
      expect([e.code, e.position.offset]).toEqual(['COPY_VALUE', STREAM.length]);
      expect(e.message).toMatch(/after the binary COPY trailer/);
    }
  });

  it('refuses negative field lengths other than -1 and negative field counts other than -1', () => {
    const start = binaryCopyHeader().length;
    const badLength = Buffer.concat([binaryCopyHeader(), Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xfe]), BINARY_COPY_TRAILER]);
    const e = thrown(() => read([badLength]));
    expect([e.code, e.position.line, e.position.offset]).toEqual(['COPY_VALUE', 1, start + 2]);
    const badCount = Buffer.concat([binaryCopyHeader(), Buffer.from([0xff, 0xfe]), BINARY_COPY_TRAILER]);
    expect([thrown(() => read([badCount])).code, thrown(() => read([badCount])).position.offset]).toEqual(['COPY_VALUE', start]);
  });
});
