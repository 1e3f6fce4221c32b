// Mutations of a dump for the fuzz suite (issue 18): what a damaged file, a bad copy, a cut
// pipe or a careless edit does to it. Each is a fast-check arbitrary, so a failing case
// shrinks to the smallest mutation that breaks, and the whole suite replays from its seed.

import fc from 'fast-check';

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate-line'; line: number }
  | { kind: 'remove-line'; line: number }
  | { kind: 'swap-lines'; line: number };

/** Byte sequences that mean something to a dump's reader: where bugs hide, more than in random bytes. */
const TOKENS = [
  '\\.\n',
  '\\.',
  '\t',
  '\n',
  '\r\n',
  "'",
  "''",
  '"',
  '$$',
  '$a$',
  ';',
  '\\',
  '\\N',
  '\\x',
  '\\\\',
  'E\'\\',
  '--',
  '/*',
  '*/',
  '(',
  ')',
  ',',
  '{',
  '}',
  'NULL',
  'COPY public.person (id) FROM stdin;\n',
  'INSERT INTO public.person VALUES (1);\n',
  'CREATE TABLE public.person (id integer);\n',
  'SET client_encoding = \'LATIN1\';\n',
  'SET standard_conforming_strings = off;\n',
  '\x00',
  '\xff\xfe',
  '\xc3',
  '\xe2\x82',
];

/**
 * Positions are fractions of the length, so that one mutation fits any input. From integers:
 * fc.double spreads evenly over the floats, not over [0, 1), and nearly all of them are tiny.
 */
const at = fc.integer({ min: 0, max: 999_999 }).map((n) => n / 1_000_000);

// Cutting ends most runs early (one in three would be cut with equal weights): less of it.
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: at.map((a) => ({ kind: 'truncate', at: a }) as const), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at,
      bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constantFrom(...TOKENS).map((t) => Uint8Array.from(Buffer.from(t, 'latin1')))),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('duplicate-line' as const), line: at }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('remove-line' as const), line: at }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('swap-lines' as const), line: at }), weight: 2 },
);

/** One to three mutations, applied in order. */
export const mutations: fc.Arbitrary<Mutation[]> = fc.array(mutation, { minLength: 1, maxLength: 3 });

function lineBounds(input: Buffer): [number, number][] {
  const lines: [number, number][] = [];
  let start = 0;
  for (let nl = input.indexOf(0x0a); nl !== -1; nl = input.indexOf(0x0a, start)) {
    lines.push([start, nl + 1]);
    start = nl + 1;
  }
  if (start < input.length) lines.push([start, input.length]);
  return lines;
}

export function applyMutation(input: Buffer, m: Mutation): Buffer {
  const pos = (f: number): number => Math.floor(f * input.length);
  switch (m.kind) {
    case 'truncate':
      return input.subarray(0, pos(m.at));
    case 'flip': {
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      out[pos(m.at)] = out[pos(m.at)]! ^ m.mask;
      return out;
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, pos(m.at)), m.bytes, input.subarray(pos(m.at))]);
    default: {
      const lines = lineBounds(input);
      if (lines.length === 0) return input;
      const i = Math.floor(m.line * lines.length);
      const [s, e] = lines[i]!;
      if (m.kind === 'duplicate-line') return Buffer.concat([input.subarray(0, e), input.subarray(s, e), input.subarray(e)]);
      if (m.kind === 'remove-line') return Buffer.concat([input.subarray(0, s), input.subarray(e)]);
      // The line and the one after it (the last line: the one before it).
      const [a, b] = i + 1 < lines.length ? [lines[i]!, lines[i + 1]!] : [lines[i - 1], lines[i]!];
      if (!a) return input;
      return Buffer.concat([input.subarray(0, a[0]), input.subarray(b[0], b[1]), input.subarray(a[0], a[1]), input.subarray(b[1])]);
    }
  }
}

export function applyMutations(input: Buffer, ms: readonly Mutation[]): Buffer {
  return ms.reduce((b, m) => applyMutation(b, m), input);
}

/** Chunk sizes to feed an input in: whole, or cut at arbitrary points. */
export const chunking: fc.Arbitrary<number[]> = fc.oneof(fc.constant<number[]>([]), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }));
