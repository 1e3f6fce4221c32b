import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { countArrayElements, mapArrayLiteral } from '../../src/copy/array-literal.js';
import { PgcloakError } from '../../src/errors.js';

const identity = (s: string): string => s;

/** The non-NULL element values, in order, as mapArrayLiteral sees them. */
function elementsOf(literal: string, delimiter = ','): string[] {
  const seen: string[] = [];
  mapArrayLiteral(literal, (e) => (seen.push(e), e), delimiter);
  return seen;
}

function expectMalformed(literal: string, secret?: string): void {
  let caught: unknown;
  try {
    mapArrayLiteral(literal, identity);
  } catch (error) {
    caught = error;
  }
  expect(caught, literal).toBeInstanceOf(PgcloakError);
  expect((caught as PgcloakError).code).toBe('COPY_VALUE');
  expect((caught as PgcloakError).message).toMatch(/^COPY_VALUE: malformed array literal: /);
  if (secret !== undefined) expect((caught as PgcloakError).message).not.toContain(secret);
}

// A nested array value: a leaf is a string or null (SQL NULL).
type Nested = string | null | Nested[];

/** The test's own array_out: canonical PostgreSQL output for a nested value. */
function serialize(value: Nested[], delimiter = ','): string {
  return (
    '{' +
    value
      .map((v) => {
        if (v === null) return 'NULL';
        if (Array.isArray(v)) return serialize(v, delimiter);
        const needsQuotes =
          v === '' ||
          v.toUpperCase() === 'NULL' ||
          /[{}"\\ \t\n\r\v\f]/.test(v) ||
          v.includes(delimiter);
        return needsQuotes ? `"${v.replace(/["\\]/g, '\\$&')}"` : v;
      })
      .join(delimiter) +
    '}'
  );
}

/** A literal PostgreSQL would also accept for the same value: spaces, needless quotes, escapes. */
function serializeLoosely(value: Nested[], choices: number[], delimiter = ','): string {
  let k = 0;
  const pick = (): number => choices[k++ % choices.length] ?? 0;
  const space = (): string => [' ', '', '\n', '\t ', ''][pick() % 5] as string;
  const walk = (level: Nested[]): string =>
    '{' +
    level
      .map((v) => {
        let text: string;
        if (v === null) text = ['NULL', 'null', 'NuLl'][pick() % 3] as string;
        else if (Array.isArray(v)) text = walk(v);
        else if (v === '' || pick() % 2 === 0) text = `"${v.replace(/["\\]/g, '\\$&')}"`; // quoted
        else {
          // Unquoted, with backslash escapes; the first is always escaped so that it is
          // never read as NULL.
          text = [...v]
            .map((ch, i) => (i > 0 && /[\w\u0080-\uffff]/.test(ch) && pick() % 3 !== 0 ? ch : `\\${ch}`))
            .join('');
        }
        return space() + text + space();
      })
      .join(delimiter) +
    '}';
  return space() + walk(value) + space();
}

function flatten(value: Nested[]): (string | null)[] {
  return value.flatMap((v) => (Array.isArray(v) ? flatten(v) : [v]));
}

function mapNested(value: Nested[], f: (s: string) => string): Nested[] {
  return value.map((v) => (v === null ? null : Array.isArray(v) ? mapNested(v, f) : f(v)));
}

/** Rectangular arrays of 1–3 dimensions, each of length 1–3, with strings and NULLs. */
function arrayValue(element: fc.Arbitrary<string>): fc.Arbitrary<Nested[]> {
  return fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
    .chain((dims) => {
      const total = dims.reduce((a, b) => a * b, 1);
      return fc
        .array(fc.option(element, { nil: null, freq: 4 }), { minLength: total, maxLength: total })
        .map((leaves) => {
          let level: Nested[] = leaves;
          for (let d = dims.length - 1; d > 0; d--) {
            const size = dims[d] as number;
            const grouped: Nested[] = [];
            for (let i = 0; i < level.length; i += size) grouped.push(level.slice(i, i + size));
            level = grouped;
          }
          return level;
        });
    });
}

const elementStrings = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('a', ',', ';', '{', '}', '"', '\\', ' ', '\t', '\n', '\v', 'N', 'U', 'L', 'l', 'é'), maxLength: 6 }),
  fc.constantFrom('NULL', 'null', 'Null', '', ' ', 'NULL ', 'x'),
);

describe('mapArrayLiteral on PostgreSQL output', () => {
  // Literals as PostgreSQL 15 printed them (COPY TO, after undoing the COPY escaping),
  // and the element values they hold (null for a NULL element).
  const fromPostgres: [literal: string, values: (string | null)[]][] = [
    ['{}', []],
    ['{NULL}', [null]],
    ['{"NULL"}', ['NULL']],
    ['{a,b}', ['a', 'b']],
    ['{"a b","c,d","e\\"f","g\\\\h",""}', ['a b', 'c,d', 'e"f', 'g\\h', '']],
    ['{{1,2},{3,4}}', ['1', '2', '3', '4']],
    ['[0:1]={7,8}', ['7', '8']],
    ['{{NULL,3}}', [null, '3']],
    ['{{NULL,x},{y,NULL}}', [null, 'x', 'y', null]],
    ['{Café,"日本 語",😀,NULL,"null"}', ['Café', '日本 語', '😀', null, 'null']],
    ['{" lead","trail ","{br}","tab\there","new\nline"}', [' lead', 'trail ', '{br}', 'tab\there', 'new\nline']],
    ['[-2:-1][3:4]={{a,b},{c,d}}', ['a', 'b', 'c', 'd']],
    ['{"\v","a\\\\b","NULL","x y","\f"}', ['\v', 'a\\b', 'NULL', 'x y', '\f']],
    ['{"{}",""," ",ü}', ['{}', '', ' ', 'ü']],
  ];

  it.each(fromPostgres)('maps %j to itself under identity', (literal, values) => {
    expect(mapArrayLiteral(literal, identity)).toBe(literal);
    expect(elementsOf(literal)).toEqual(values.filter((v) => v !== null));
    expect(countArrayElements(literal)).toEqual({
      elements: values.length,
      nulls: values.filter((v) => v === null).length,
    });
  });

  it('reads a box[] with its ; delimiter', () => {
    const literal = '{(3,4),(1,2);(7,8),(5,6)}';
    expect(elementsOf(literal, ';')).toEqual(['(3,4),(1,2)', '(7,8),(5,6)']);
    expect(mapArrayLiteral(literal, () => 'x,y', ';')).toBe('{x,y;x,y}');
    expect(mapArrayLiteral(literal, () => 'x;y', ';')).toBe('{"x;y";"x;y"}');
  });

  it('rewrites loose input the way PostgreSQL prints it back', () => {
    // PostgreSQL 15: SELECT '{a,  b ,"c" , d\ e ,\N\U\L\L}'::text[] prints {a,b,c,"d e","NULL"}
    expect(mapArrayLiteral('{a,  b ,"c" , d\\ e ,\\N\\U\\L\\L}', identity)).toBe('{a,b,c,"d e","NULL"}');
    expect(mapArrayLiteral('{ a b , c\\  }', identity)).toBe('{"a b","c "}');
    expect(mapArrayLiteral('{ nUlL ,  NULL}', identity)).toBe('{NULL,NULL}');
  });

  it('keeps the dimension decoration and surrounding whitespace verbatim', () => {
    expect(mapArrayLiteral(' [1:2] = {a,b} ', (s) => s.toUpperCase())).toBe(' [1:2] = {A,B} ');
    expect(mapArrayLiteral('[-2:-1][+3:4]={{a,b},{c,d}}', (s) => s + s)).toBe('[-2:-1][+3:4]={{aa,bb},{cc,dd}}');
    expect(mapArrayLiteral('[5]={x}', () => 'y')).toBe('[5]={y}');
  });
});

describe('mapArrayLiteral mapping', () => {
  it('leaves unquoted NULL alone and maps a quoted "NULL"', () => {
    const calls: string[] = [];
    const out = mapArrayLiteral('{NULL,"NULL",null,"null",a}', (e) => (calls.push(e), `m${calls.length}`));
    expect(calls).toEqual(['NULL', 'null', 'a']);
    expect(out).toBe('{NULL,m1,NULL,m2,m3}');
  });

  it('quotes mapped values when PostgreSQL would', () => {
    const cases: [string, string][] = [
      ['', '""'],
      ['NULL', '"NULL"'],
      ['nuLL', '"nuLL"'],
      ['NULLX', 'NULLX'],
      ['a"b\\c', '"a\\"b\\\\c"'],
      ['x,y', '"x,y"'],
      ['{x}', '"{x}"'],
      ['a b', '"a b"'],
      ['tab\t', '"tab\t"'],
      ['v\v', '"v\v"'],
      ['ünï', 'ünï'],
      ['x;y', 'x;y'],
      ['(1,2)', '"(1,2)"'],
    ];
    for (const [mapped, written] of cases) {
      expect(mapArrayLiteral('{a}', () => mapped)).toBe(`{${written}}`);
    }
  });

  it('keeps structure, element count and NULL positions under a non-identity map', () => {
    expect(mapArrayLiteral('{{NULL,"x"},{"y z",NULL}}', (s) => `<${s}>`)).toBe('{{NULL,<x>},{"<y z>",NULL}}');
    expect(mapArrayLiteral('{{NULL,"x"}}', () => '')).toBe('{{NULL,""}}');
    expect(mapArrayLiteral('{}', () => 'never')).toBe('{}');
  });

  it('handles many elements and deep nesting without recursion', () => {
    const wide = `{${Array.from({ length: 50_000 }, (_, i) => `e${i}`).join(',')}}`;
    expect(countArrayElements(wide)).toEqual({ elements: 50_000, nulls: 0 });
    const deep = '{'.repeat(5_000) + 'x' + '}'.repeat(5_000);
    expect(mapArrayLiteral(deep, () => 'y')).toBe('{'.repeat(5_000) + 'y' + '}'.repeat(5_000));
  });

  it('round-trips random canonical literals byte for byte under identity', () => {
    fc.assert(
      fc.property(arrayValue(elementStrings), (value) => {
        const literal = serialize(value);
        expect(mapArrayLiteral(literal, identity)).toBe(literal);
        const leaves = flatten(value);
        expect(elementsOf(literal)).toEqual(leaves.filter((v) => v !== null));
        expect(countArrayElements(literal)).toEqual({
          elements: leaves.length,
          nulls: leaves.filter((v) => v === null).length,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('reads random loose literals as the same values', () => {
    fc.assert(
      fc.property(arrayValue(elementStrings), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), (value, choices) => {
        const loose = serializeLoosely(value, choices);
        const rewritten = mapArrayLiteral(loose, identity);
        expect(rewritten.trim()).toBe(serialize(value));
        expect(elementsOf(loose)).toEqual(flatten(value).filter((v) => v !== null));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps element count and NULL positions under a non-identity map', () => {
    const mappers = [(s: string) => `#${s.length}`, (s: string) => [...s].reverse().join(''), () => 'NULL', () => '', () => 'a,b'];
    fc.assert(
      fc.property(arrayValue(elementStrings), fc.constantFrom(...mappers), fc.constantFrom(',', ';'), (value, f, delimiter) => {
        const out = mapArrayLiteral(serialize(value, delimiter), f, delimiter);
        expect(out).toBe(serialize(mapNested(value, f), delimiter));
        const before = countArrayElements(serialize(value, delimiter), delimiter);
        expect(countArrayElements(out, delimiter)).toEqual(before);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('mapArrayLiteral on malformed input', () => {
  const malformed = [
    '',
    '   ',
    'SECRET',
    '{',
    '{SECRET',
    '{"SECRET',
    '{"SECRET\\',
    '{SECRET\\',
    '{a,}',
    '{,a}',
    '{a,,b}',
    '{"a"b}', // PostgreSQL 15: Unexpected array element
    '{a"b"}',
    '{a{b}}',
    '{{a},b}',
    '{a,{b}}',
    '{{a},{b,c}}',
    '{{a},{{b}}}',
    '{{},{}}', // PostgreSQL 15: Unexpected "}" character
    '{{a},{}}', // PostgreSQL 15: Unexpected "}" character
    '{a}}',
    '{a} x',
    '{SECRET}SECRET',
    '[1:2]{a}',
    '[1:]={a}',
    '[x]={a}',
    '[1:2={a}',
    '[1:2]',
    '{{a}',
    '}',
  ];

  it.each(malformed)('rejects %j with COPY_VALUE', (literal) => {
    expectMalformed(literal, literal.includes('SECRET') ? 'SECRET' : undefined);
  });

  it('rejects a delimiter it cannot use', () => {
    for (const delimiter of ['', ',,', '{', '}', '"', '\\', ' ']) {
      expect(() => mapArrayLiteral('{a}', identity, delimiter)).toThrow(PgcloakError);
    }
  });
});
