import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { maskJsonShape, type JsonPath } from '../../src/copy/json-shape.js';
import { PgcloakError } from '../../src/errors.js';

const leaf = (): string => 'xxx1';

function pathsOf(text: string): (string | number)[][] {
  const paths: (string | number)[][] = [];
  maskJsonShape(text, (path) => (paths.push([...path]), 's'));
  return paths;
}

function expectInvalid(text: string, secret?: string): void {
  let caught: unknown;
  try {
    maskJsonShape(text, leaf);
  } catch (error) {
    caught = error;
  }
  expect(caught, JSON.stringify(text)).toBeInstanceOf(PgcloakError);
  expect((caught as PgcloakError).code).toBe('COPY_VALUE');
  expect((caught as PgcloakError).message).toMatch(/^COPY_VALUE: invalid json: /);
  if (secret !== undefined) expect((caught as PgcloakError).message).not.toContain(secret);
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What the masked document must parse to: strings → leaf, numbers → 0, booleans → false. */
function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return 'xxx1';
  if (typeof value === 'number') return 0;
  if (typeof value === 'boolean') return false;
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(maskValue);
  return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, maskValue(v)]));
}

const JSON_SPACE = [' ', '\t', '\n', '\r', '', '', '  \n'];

/** JSON text for a value with whitespace between tokens chosen by `choices`. */
function writeSpaced(value: unknown, choices: number[]): string {
  let k = 0;
  const ws = (): string => JSON_SPACE[(choices[k++ % choices.length] ?? 0) % JSON_SPACE.length] as string;
  const walk = (v: unknown): string => {
    if (Array.isArray(v)) return '[' + ws() + v.map((x) => walk(x) + ws()).join(',' + ws()) + ']';
    if (v !== null && typeof v === 'object') {
      const members = Object.entries(v).map(([key, x]) => JSON.stringify(key) + ws() + ':' + ws() + walk(x) + ws());
      return '{' + ws() + members.join(',' + ws()) + '}';
    }
    return JSON.stringify(v);
  };
  return ws() + walk(value) + ws();
}

describe('maskJsonShape', () => {
  it('masks a translated-name object and keeps its keys and spacing', () => {
    expect(maskJsonShape('{"en_US": "Chair", "fr_FR": "Chaise"}', leaf)).toBe('{"en_US": "xxx1", "fr_FR": "xxx1"}');
  });

  it('keeps key order, duplicate keys and whitespace byte for byte', () => {
    expect(maskJsonShape('{"a":1,"a":2}', leaf)).toBe('{"a":0,"a":0}');
    expect(maskJsonShape('{"b":"x","2":"y","a":"z","1":"w"}', leaf)).toBe('{"b":"xxx1","2":"xxx1","a":"xxx1","1":"xxx1"}');
    expect(maskJsonShape(' \r\n\t{ "k" :\n\t[ 1 ,\r"v" ] ,"e" : { } , "f":[ ] } \n', leaf)).toBe(
      ' \r\n\t{ "k" :\n\t[ 0 ,\r"xxx1" ] ,"e" : { } , "f":[ ] } \n',
    );
    // As PostgreSQL 15 stored a json value in the COPY test table.
    expect(maskJsonShape('{"k":\n  [1,\t2]}', leaf)).toBe('{"k":\n  [0,\t0]}');
  });

  it('turns every form of number into 0', () => {
    for (const n of ['0', '-0', '7', '-12', '1e10', '1E+2', '1.5E-3', '-0.0', '123.456e-789', '1e0', '0.5']) {
      expect(maskJsonShape(n, leaf)).toBe('0');
      expect(maskJsonShape(`[${n}]`, leaf)).toBe('[0]');
      expect(maskJsonShape(`{"n":${n} }`, leaf)).toBe('{"n":0 }');
    }
  });

  it('turns booleans into false and keeps null', () => {
    expect(maskJsonShape('[true,false,null]', leaf)).toBe('[false,false,null]');
    expect(maskJsonShape('true', leaf)).toBe('false');
    expect(maskJsonShape('null', leaf)).toBe('null');
    expect(maskJsonShape(' false ', leaf)).toBe(' false ');
  });

  it('masks a top-level string', () => {
    expect(maskJsonShape('"abc"', leaf)).toBe('"xxx1"');
    expect(pathsOf('"abc"')).toEqual([[]]);
  });

  it('masks nested arrays', () => {
    expect(maskJsonShape('[[1,[2,"s"]],[],[[[]]],"t"]', leaf)).toBe('[[0,[0,"xxx1"]],[],[[[]]],"xxx1"]');
  });

  it('masks the json PostgreSQL 15 wrote, escapes and surrogate pairs included', () => {
    const stored = '[1, -0, 1e10, 1.5E-3, true, false, null, "x\\u00e9\\"y\\ud83d\\ude00"]';
    expect(maskJsonShape(stored, leaf)).toBe('[0, 0, 0, 0, false, false, null, "xxx1"]');
  });

  it('skips escaped strings correctly', () => {
    const text = '{"a":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uD83D\\uDE00\\udc00😀","b":"]}\\"{[","c":1}';
    expect(maskJsonShape(text, leaf)).toBe('{"a":"xxx1","b":"xxx1","c":0}');
  });

  it('keeps escaped keys as written and passes them decoded in the path', () => {
    const text = '{"k\\"ey\\u00e9\\n": "v", "\\ud83d\\ude00": ["w"]}';
    expect(maskJsonShape(text, leaf)).toBe('{"k\\"ey\\u00e9\\n": "xxx1", "\\ud83d\\ude00": ["xxx1"]}');
    expect(pathsOf(text)).toEqual([['k"eyé\n'], ['😀', 0]]);
  });

  it('passes the path of each string leaf', () => {
    const text = '{"a":[{"b":"x"},"y",3,{"c":[null,"z"]}],"d":"w","":{"":""}}';
    expect(pathsOf(text)).toEqual([['a', 0, 'b'], ['a', 1], ['a', 3, 'c', 1], ['d'], ['', '']]);
  });

  it('JSON-escapes the replacement', () => {
    const masked = maskJsonShape('{"a":"b"}', () => 'q"\\\n\u0001\u2028😀');
    expect(masked).toBe('{"a":"q\\"\\\\\\n\\u0001\u2028😀"}');
    expect(JSON.parse(masked)).toEqual({ a: 'q"\\\n\u0001\u2028😀' });
  });

  it('handles 10,000 and 100,000 levels of nesting', () => {
    for (const depth of [10_000, 100_000]) {
      const arrays = '['.repeat(depth) + '"s"' + ']'.repeat(depth);
      expect(maskJsonShape(arrays, leaf)).toBe('['.repeat(depth) + '"xxx1"' + ']'.repeat(depth));
      const objects = '{"k":'.repeat(depth) + '1' + '}'.repeat(depth);
      expect(maskJsonShape(objects, leaf)).toBe('{"k":'.repeat(depth) + '0' + '}'.repeat(depth));
    }
    let depthSeen = -1;
    maskJsonShape('[{"a":'.repeat(10_000) + '"s"' + '}]'.repeat(10_000), (path) => ((depthSeen = path.length), ''));
    expect(depthSeen).toBe(20_000);
  });

  it('keeps the shape of random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.nat(), { minLength: 1, maxLength: 16 }), (value, choices) => {
        const text = writeSpaced(value, choices);
        const masked = maskJsonShape(text, leaf);
        // Same tokens in the same places: only leaves change.
        expect(masked).toBe(writeSpaced(maskValue(JSON.parse(text)), choices));
        expect(JSON.parse(masked)).toEqual(maskValue(JSON.parse(text)));
      }),
      { numRuns: 1500 },
    );
  });

  it('reports paths that lead to strings in the original', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const original: unknown = JSON.parse(text);
        const paths = pathsOf(text);
        let strings = 0;
        const count = (v: unknown): void => {
          if (typeof v === 'string') strings++;
          else if (v !== null && typeof v === 'object') Object.values(v).forEach(count);
        };
        count(original);
        expect(paths.length).toBe(strings);
        for (const path of paths) {
          const target = path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], original);
          expect(typeof target).toBe('string');
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('accepts exactly what JSON.parse accepts', () => {
    const token = fc.constantFrom(
      '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '\t', '\x01', '\x1f', '\x7f', 'a', 'u', '0', '1', '9', '-', '+', '.', 'e', 'E',
      'true', 'false', 'null', 'nul', '"k"', '"\\u00e9"', '"\\ud83d"', '\\u', '\\x', 'é', '😀', '\u00a0',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
        const text = tokens.join('');
        let ours: boolean;
        try {
          maskJsonShape(text, leaf);
          ours = true;
        } catch (error) {
          expect(error).toBeInstanceOf(PgcloakError);
          ours = false;
        }
        expect(ours, JSON.stringify(text)).toBe(isValidJson(text));
      }),
      { numRuns: 10_000 },
    );
  });

  it('passes the live path stack, not a copy (documented: copy it to keep it)', () => {
    const seen: JsonPath[] = [];
    maskJsonShape('["a","b"]', (path) => (seen.push(path), ''));
    expect(seen[0]).toBe(seen[1]);
  });
});

describe('maskJsonShape on invalid json', () => {
  const invalid = [
    '',
    ' ',
    '{',
    '[',
    '[1,]',
    '[,1]',
    '{"a":1,}',
    '{"a"}',
    '{"a" 1}',
    '{1:2}',
    "{'a':1}",
    "'SECRET'",
    '[1 2]',
    '1 2',
    '01',
    '-01',
    '1.',
    '.5',
    '+1',
    '-',
    '1e',
    '1e+',
    'NaN',
    'Infinity',
    '"abc',
    '"a\\x"',
    '"\\u12G4"',
    '"\\u12"',
    '"\\',
    '"tab\there"',
    '"nl\nhere"',
    '"unit\x1fseparator"',
    'tru',
    'nul',
    'True',
    '[1]]',
    '{"a":1}}',
    '{"a":1}x',
    '{"SECRET":1,}',
    "['SECRET']",
    '"SECRET',
    '[1,2]SECRET',
    '{"SECRET":"SECRET"',
    '\ufeff{}',
    '\u00a0[]',
  ];

  it.each(invalid)('rejects %j with COPY_VALUE', (text) => {
    expectInvalid(text, text.includes('SECRET') ? 'SECRET' : undefined);
    expect(isValidJson(text)).toBe(false);
  });

  it('rejects a truncated document even after masking part of it', () => {
    expect(() => maskJsonShape('["ok", ', leaf)).toThrow(PgcloakError);
  });
});
