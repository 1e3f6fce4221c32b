import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  copyFieldHasEscape,
  decodeCopyField,
  encodeCopyField,
  isCopyNull,
} from '../../src/copy/text-field.js';
import { PgcloakError } from '../../src/errors.js';

/** Bytes of a JS string, where each char code is one byte (for raw, possibly invalid, input). */
function bytes(latin1: string): Buffer {
  return Buffer.from(latin1, 'latin1');
}

function decodeAll(field: Buffer): string | null {
  return decodeCopyField(field, 0, field.length);
}

function expectCopyValueError(run: () => unknown, secret?: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PgcloakError);
  expect((caught as PgcloakError).code).toBe('COPY_VALUE');
  if (secret !== undefined) expect((caught as PgcloakError).message).not.toContain(secret);
}

/**
 * An independent reading of the COPY text rules (regex over a byte-per-char string),
 * used as the oracle for decodeCopyField.
 */
function referenceDecode(field: Buffer): string | null {
  if (field.length === 2 && field[0] === 0x5c && field[1] === 0x4e) return null;
  // PostgreSQL checks the encoding of the raw line before it undoes escapes, so
  // `\xc3\\\xa9` is refused even though de-escaping would give valid UTF-8 ("é").
  new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(field);
  const controls: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  const raw = field
    .toString('latin1')
    .replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|([\s\S])|$)/g, (_m, oct?: string, hex?: string, other?: string) => {
      if (oct !== undefined) return String.fromCharCode(parseInt(oct, 8) & 0xff);
      if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
      if (other !== undefined) return controls[other] ?? other;
      return '';
    });
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes(raw));
}

function outcome(run: () => string | null): { value: string | null } | { error: string } {
  try {
    return { value: run() };
  } catch (error) {
    if (error instanceof PgcloakError) return { error: error.code };
    if (error instanceof TypeError) return { error: 'COPY_VALUE' }; // TextDecoder in the oracle
    throw error;
  }
}

describe('isCopyNull / copyFieldHasEscape', () => {
  it('recognises exactly \\N as NULL', () => {
    const buf = bytes('x\\N\\\\N\\Nx');
    expect(isCopyNull(buf, 1, 3)).toBe(true);
    expect(isCopyNull(buf, 3, 6)).toBe(false); // \\N is the string \N
    expect(isCopyNull(buf, 6, 9)).toBe(false); // \Nx
    expect(isCopyNull(buf, 0, 0)).toBe(false);
    expect(isCopyNull(bytes('\\n'), 0, 2)).toBe(false);
  });

  it('finds a backslash only inside the range', () => {
    const buf = bytes('ab\\c');
    expect(copyFieldHasEscape(buf, 0, 2)).toBe(false);
    expect(copyFieldHasEscape(buf, 0, 3)).toBe(true);
    expect(copyFieldHasEscape(buf, 3, 4)).toBe(false);
    expect(copyFieldHasEscape(buf, 2, 2)).toBe(false);
  });
});

describe('decodeCopyField', () => {
  // Fields as PostgreSQL 15 wrote them with COPY ... TO STDOUT, next to the stored value.
  const fromPostgres: [field: string, value: string | null][] = [
    ['a\\tb\\\\c\\nd', 'a\tb\\c\nd'],
    ['\\N', null],
    ['\\\\N', '\\N'],
    ['', ''],
    ['line1\\r\\nline2\\bx\\fyvz\x01end', 'line1\r\nline2\bx\fyvz\x01end'],
    ['\\v\\b\\f\x7f\x1bz', '\v\b\f\x7f\x1bz'],
    ['back\\\\\\\\slash', 'back\\\\slash'],
    ['{"k":\\n  [1,\\t2]}', '{"k":\n  [1,\t2]}'],
    ['{"\\v","a\\\\\\\\b","NULL","x y","\\f"}', '{"\v","a\\\\b","NULL","x y","\f"}'],
  ];

  it.each(fromPostgres)('decodes PostgreSQL output %j', (field, value) => {
    expect(decodeAll(bytes(field))).toBe(value);
  });

  it('decodes raw UTF-8 as it is', () => {
    expect(decodeAll(Buffer.from('Café — 日本 😀'))).toBe('Café — 日本 😀');
  });

  it('decodes what PostgreSQL 15 read from COPY FROM as ax\\x04AAA0qéé', () => {
    expect(decodeAll(bytes('a\\x\\x4\\x41\\101\\1010\\q\\303\\251\\xc3\\xA9'))).toBe('ax\x04AAA0qéé');
  });

  it('turns octal and hex escapes into bytes, then decodes UTF-8', () => {
    expect(decodeAll(bytes('\\303\\251'))).toBe('é');
    expect(decodeAll(bytes('caf\\303\\251!'))).toBe('café!');
    expect(decodeAll(bytes('\\xe6\\x97\\xa5'))).toBe('日');
    expect(decodeAll(bytes('\\xf0\\x9f\\x98\\x80'))).toBe('😀');
    expect(decodeAll(bytes('\\360\\237\\230\\200'))).toBe('😀');
    // An escaped lead byte followed by escaped continuation bytes, mixed octal and hex.
    expect(decodeAll(bytes('\\xc3\\251'))).toBe('é');
  });

  it('reads at most three octal and two hex digits', () => {
    expect(decodeAll(bytes('\\1011'))).toBe('A1');
    expect(decodeAll(bytes('\\x411'))).toBe('A1');
    expect(decodeAll(bytes('\\7'))).toBe('\x07');
    expect(decodeAll(bytes('\\08'))).toBe('\x008');
    expect(decodeAll(bytes('\\xF'))).toBe('\x0f');
  });

  it('keeps only the low byte of an octal escape, as PostgreSQL does', () => {
    expect(decodeAll(bytes('\\501'))).toBe('A'); // 0o501 = 0x141
  });

  it('reads \\x without hex digits as x, and other \\c as c', () => {
    expect(decodeAll(bytes('\\xg'))).toBe('xg');
    expect(decodeAll(bytes('a\\x'))).toBe('ax');
    expect(decodeAll(bytes('\\q\\"\\.\\N\\8'))).toBe('q".N8');
    expect(decodeAll(bytes('\\Nx'))).toBe('Nx');
    expect(decodeAll(bytes('\\\t'))).toBe('\t');
  });

  it('drops a lone trailing backslash, as PostgreSQL does', () => {
    expect(decodeAll(bytes('ab\\'))).toBe('ab');
    expect(decodeAll(bytes('\\'))).toBe('');
  });

  it('never reads outside its range', () => {
    const buf = bytes('\\3017\\x41\\\\Nabc\\n');
    //                 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
    //                 \ 3 0 1 7 \ x 4 1 \ \  N  a  b  c  \  n
    expect(decodeCopyField(buf, 0, 2)).toBe('\x03'); // \3
    expect(decodeCopyField(buf, 0, 3)).toBe('\x18'); // \30
    expect(decodeCopyField(buf, 5, 8)).toBe('\x04'); // \x4
    expect(decodeCopyField(buf, 9, 12)).toBe('\\N'); // \\N
    expect(decodeCopyField(buf, 10, 12)).toBeNull(); // \N
    expect(decodeCopyField(buf, 12, 15)).toBe('abc');
    expect(decodeCopyField(buf, 15, 16)).toBe('');
  });

  it('treats a NUL escape as U+0000', () => {
    expect(decodeAll(bytes('a\\000b'))).toBe('a\u0000b');
  });

  it('keeps a leading byte order mark', () => {
    expect(decodeAll(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\ufeffa');
    expect(decodeAll(bytes('\\357\\273\\277a'))).toBe('\ufeffa');
  });

  it('rejects invalid UTF-8 from raw bytes or escapes without echoing it', () => {
    expectCopyValueError(() => decodeAll(bytes('SECRET\xff')), 'SECRET');
    expectCopyValueError(() => decodeAll(bytes('SECRET\\377')), 'SECRET');
    expectCopyValueError(() => decodeAll(bytes('SECRET\\xc3')), 'SECRET');
    expectCopyValueError(() => decodeAll(bytes('\\xed\\xa0\\x80'))); // an encoded surrogate
    // A raw lead byte cannot be completed by an escape: PostgreSQL rejects the raw line first.
    expectCopyValueError(() => decodeAll(bytes('\xc3\\251')));
  });

  it('works for fields longer than the scratch buffer, and reuses it safely', () => {
    const long = 'é\\t'.repeat(5000);
    const expected = 'é\t'.repeat(5000);
    expect(decodeAll(Buffer.from(long))).toBe(expected);
    const huge = 'x\\n'.repeat(600_000); // beyond the 1 MiB scratch limit
    expect(decodeAll(Buffer.from(huge))).toBe('x\n'.repeat(600_000));
    expect(decodeAll(bytes('a\\tb'))).toBe('a\tb');
    expect(decodeAll(Buffer.from(long))).toBe(expected);
  });

  it('accepts a plain Uint8Array', () => {
    const u8 = new Uint8Array(bytes('a\\tb'));
    expect(decodeCopyField(u8, 0, u8.length)).toBe('a\tb');
    expect(decodeCopyField(new Uint8Array([0x5c, 0x4e]), 0, 2)).toBeNull();
  });

  it('agrees with a reference decoder on random escape soup', () => {
    const piece = fc.constantFrom(
      '\\', 'N', 'n', 't', 'x', 'X', '0', '1', '3', '7', '8', 'a', 'F', 'g', 'b', 'v', '\t', '\xc3', '\xa9', '\xff', 'é',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), fc.nat(3), fc.nat(3), (pieces, before, after) => {
        const field = bytes(pieces.join(''));
        const padded = Buffer.concat([bytes('\\'.repeat(before)), field, bytes('\\7'.repeat(after))]);
        const expected = outcome(() => referenceDecode(field));
        expect(outcome(() => decodeCopyField(padded, before, before + field.length))).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('encodeCopyField', () => {
  it('writes NULL as \\N and the string \\N as \\\\N', () => {
    expect(encodeCopyField(null).toString('latin1')).toBe('\\N');
    expect(encodeCopyField('\\N').toString('latin1')).toBe('\\\\N');
    expect(encodeCopyField('N').toString('latin1')).toBe('N');
    expect(encodeCopyField('').length).toBe(0);
  });

  it('escapes exactly what PostgreSQL COPY TO escapes', () => {
    // Same pairs as the PostgreSQL output above, in the other direction.
    expect(encodeCopyField('a\tb\\c\nd').toString('latin1')).toBe('a\\tb\\\\c\\nd');
    expect(encodeCopyField('\v\b\f\x7f\x1bz').toString('latin1')).toBe('\\v\\b\\f\x7f\x1bz');
    expect(encodeCopyField('line1\r\nline2\x01\x00end').toString('latin1')).toBe('line1\\r\\nline2\x01\x00end');
    expect(encodeCopyField('back\\\\slash').toString('latin1')).toBe('back\\\\\\\\slash');
  });

  it('writes UTF-8', () => {
    expect(encodeCopyField('Café — 日本 😀').equals(Buffer.from('Café — 日本 😀'))).toBe(true);
    expect(encodeCopyField('é\t😀').equals(Buffer.from('é\\t😀'))).toBe(true);
  });

  it('does not share the NULL marker buffer between calls', () => {
    const first = encodeCopyField(null);
    first[1] = 0x78;
    expect(encodeCopyField(null).toString('latin1')).toBe('\\N');
  });

  const copySpecial = fc.string({
    unit: fc.constantFrom('\t', '\n', '\r', '\\', 'N', '\\N', '\b', '\f', '\v', 'a', 'é', '😀', '\x00', '\x01', '\x7f', ' '),
  });
  const arbitraryStrings = {
    'full unicode (binary)': fc.string({ unit: 'binary' }),
    'graphemes': fc.string({ unit: 'grapheme' }),
    'COPY-special characters': copySpecial,
    'default ASCII': fc.string(),
  };

  for (const [name, strings] of Object.entries(arbitraryStrings)) {
    it(`round-trips through decode for ${name}`, () => {
      fc.assert(
        fc.property(strings, (s) => {
          const encoded = encodeCopyField(s);
          expect(decodeCopyField(encoded, 0, encoded.length)).toBe(s);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('never writes a raw tab, newline or carriage return, and never the NULL marker for a string', () => {
    fc.assert(
      fc.property(fc.oneof(copySpecial, fc.string({ unit: 'binary' })), (s) => {
        const encoded = encodeCopyField(s);
        expect(encoded.includes(0x09)).toBe(false);
        expect(encoded.includes(0x0a)).toBe(false);
        expect(encoded.includes(0x0d)).toBe(false);
        expect(isCopyNull(encoded, 0, encoded.length)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips each field of a row cut by tabs', () => {
    fc.assert(
      fc.property(fc.array(fc.option(copySpecial, { nil: null }), { minLength: 1, maxLength: 6 }), (values) => {
        const parts = values.map((v) => encodeCopyField(v));
        const row = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [bytes('\t'), p])));
        let start = 0;
        const decoded: (string | null)[] = [];
        for (let i = 0; i <= row.length; i++) {
          if (i === row.length || row[i] === 0x09) {
            decoded.push(decodeCopyField(row, start, i));
            start = i + 1;
          }
        }
        expect(decoded).toEqual(values);
      }),
      { numRuns: 1000 },
    );
  });
});
