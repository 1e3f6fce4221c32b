import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRowReader, decodeCsvField, encodeCsvField } from '../../src/copy/csv-rows.js';

const Q = 0x22;
const D = 0x2c;

/** Each row: its position, its line end and its fields; `bytes`: every row's bytes with its line end, in order. */
function readAll(chunks: Buffer[]): { rows: string[][]; bytes: Buffer } {
  const rows: string[][] = [];
  const bytes: Buffer[] = [];
  const reader = new CsvRowReader(
    {
      row: (buf, start, end, eolEnd, starts, ends, at) => {
        rows.push([`${at.line}:${at.offset}`, JSON.stringify(buf.toString('utf8', end, eolEnd)), ...starts.map((s, i) => buf.toString('utf8', s, ends[i]))]);
        // The fields span the row from its first byte to its line end.
        expect([starts[0], ends[ends.length - 1]]).toEqual([start, end]);
        bytes.push(Buffer.from(buf.subarray(start, eolEnd)));
      },
    },
    { delimiter: D, quote: Q },
  );
  for (const c of chunks) reader.write(c);
  reader.end();
  return { rows, bytes: Buffer.concat(bytes) };
}

function read(chunks: Buffer[]): string[][] {
  return readAll(chunks).rows;
}

const CSV = Buffer.from('id,name,note\r\n1,"Alice, A.","say ""hi""\nnext line"\r\n2,,""\n3,é🎉,"x"');

describe('CSV rows', () => {
  const whole = read([CSV]);

  it('splits rows and fields outside quotes, with positions', () => {
    expect(whole).toEqual([
      ['1:0', '"\\r\\n"', 'id', 'name', 'note'],
      ['2:14', '"\\r\\n"', '1', '"Alice, A."', '"say ""hi""\nnext line"'],
      ['4:52', '"\\n"', '2', '', '""'],
      ['5:58', '""', '3', 'é🎉', '"x"'],
    ]);
  });

  it('hands over every byte of the input, in order, as rows and their line ends', () => {
    expect(readAll([CSV]).bytes.equals(CSV)).toBe(true);
    expect(readAll([...CSV].map((byte) => Buffer.from([byte]))).bytes.equals(CSV)).toBe(true);
  });

  it('gives the same rows at every split point and byte by byte', () => {
    for (let i = 0; i <= CSV.length; i++) expect(read([CSV.subarray(0, i), CSV.subarray(i)]), `split at ${i}`).toEqual(whole);
    expect(read([...CSV].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  it('refuses input that ends inside quotes', () => {
    expect(() => read([Buffer.from('1,"open\n')])).toThrow(/COPY_UNTERMINATED/);
  });

  it('encodes any value so that it decodes back; NULL and the empty string stay apart', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'grapheme' }), { nil: null }), (value) => {
        const b = encodeCsvField(value, D, Q, 'utf8');
        expect(decodeCsvField(b, 0, b.length, Q, 'utf8')).toBe(value);
        const row = read([Buffer.concat([Buffer.from('x,'), b, Buffer.from(',y\n')])]);
        expect(row[0]!.slice(2)).toEqual(['x', b.toString('utf8'), 'y']);
      }),
    );
  });
});
