// Inputs that are not plain SQL text are refused as INPUT_FORMAT with what to do instead, at
// any chunking (issue 18, item 11: an ELF binary or random bytes were SQL_UNTERMINATED, and an
// archive split before its fifth byte was not recognised); SQL text is never refused for it.

import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { controlByteAt, refuseBinaryText, refuseOtherForms } from '../../src/dump/input-form.js';
import { chunksOf, errorOf, goldenCase, maskInMemory, unmaskInMemory } from '../mask/run-in-memory.js';

const { INPUT, RULES } = goldenCase('types');

const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), Buffer.alloc(56), Buffer.from('; and text after it')]);

describe('refuseOtherForms', () => {
  it.each([
    ['PGDMP\x01\x0e\x00', /custom-format archive: pipe it through pg_restore/],
    ['\x1f\x8b\x08\x00', /gzip-compressed: decompress it first/],
    ['\x28\xb5\x2f\xfd', /zstd-compressed/],
    ['\xfd7zXZ\x00', /xz-compressed/],
    ['BZh91AY&SY', /bzip2-compressed/],
    ['\x04\x22\x4d\x18', /lz4-compressed/],
    ['PK\x03\x04', /a zip archive/],
    ['7z\xbc\xaf\x27\x1c', /7z archive/],
    ['\x7fELF\x02\x01', /ELF executable/],
    ['\xff\xfe-\x00-\x00', /UTF-16 text/],
    ['PGCOPY\n\xff\r\n\x00', /binary COPY data \(PGCOPY\): give --format copy-binary/],
  ])('%j', (magic, message) => {
    let thrown: unknown;
    try {
      refuseOtherForms(Buffer.from(magic, 'latin1'), undefined);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'INPUT_FORMAT', message: expect.stringMatching(message) });
  });

  it('lets SQL through, and binary COPY data when it is asked for', () => {
    expect(() => refuseOtherForms(INPUT.subarray(0, 16), undefined)).not.toThrow();
    expect(() => refuseOtherForms(Buffer.from('PGCOPY\n\xff\r\n\x00', 'latin1'), 'copy-binary')).not.toThrow();
  });
});

describe('refuseBinaryText', () => {
  it('finds control bytes, not whitespace, Latin-1 or UTF-8 text', () => {
    expect(controlByteAt(Buffer.from('SET a = 1;\t\r\n\v\f'))).toBe(-1);
    expect(controlByteAt(Buffer.from('-- Donn\xe9es clients\nCREATE TABLE t (a text);', 'latin1'))).toBe(-1);
    expect(controlByteAt(Buffer.from('-- Ωμέγα\n'))).toBe(-1);
    for (const b of [0x00, 0x01, 0x08, 0x0e, 0x1b, 0x1f, 0x7f]) expect(controlByteAt(Buffer.from([0x41, b]))).toBe(1);
  });

  it('names a tar archive (pg_dump -Ft)', () => {
    const tar = Buffer.alloc(512);
    tar.write('toc.dat', 0);
    tar.write('ustar', 257);
    expect(() => refuseBinaryText(tar)).toThrow(/tar archive \(pg_dump -Ft\?\): pipe it through pg_restore/);
  });
});

describe('a dump processor refuses binary input as INPUT_FORMAT, at any chunking', () => {
  const inputs: [string, Buffer][] = [
    ['an ELF binary', ELF],
    ['a gzip-compressed dump', gzipSync(INPUT)],
    ['a custom-format archive', Buffer.from('PGDMP\x01\x0e\x00\x04\x08\x01\x01\x01\x00\x00\x00\x00\x00\x00', 'latin1')],
  ];
  for (const [name, bytes] of inputs) {
    it(`${name}, one byte at a time and whole (mask and unmask)`, async () => {
      for (const chunks of [[bytes], chunksOf(bytes, [1]), chunksOf(bytes, [3, 1, 7])]) {
        expect((await errorOf(() => maskInMemory(chunks, RULES))).code).toBe('INPUT_FORMAT');
      }
      const { vault } = await maskInMemory([INPUT], RULES);
      expect((await errorOf(() => unmaskInMemory(chunksOf(bytes, [2]), RULES, vault))).code).toBe('INPUT_FORMAT');
    });
  }

  it('random bytes (a seeded property): INPUT_FORMAT (any with a control byte), at any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        fc.pre(controlByteAt(Buffer.from(bytes)) !== -1);
        const e = await errorOf(() => maskInMemory(chunksOf(Buffer.from(bytes), [chunk]), RULES));
        expect(e.code).toBe('INPUT_FORMAT');
      }),
      { seed: 18, numRuns: 200 },
    );
  });

  it('a control byte in COPY data, after the first statement, is data: it round-trips', async () => {
    const dump = Buffer.from(INPUT.toString().replace('\\N\t\\N\t\\N\n', '\\N\t\\N\tbell \x07 here\n'));
    expect(dump.equals(INPUT)).toBe(false);
    const { output, vault } = await maskInMemory(chunksOf(dump, [1]), RULES);
    expect((await unmaskInMemory([output], RULES, vault)).equals(dump)).toBe(true);
  });
});
