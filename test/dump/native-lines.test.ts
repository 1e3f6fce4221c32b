// The statement scanner's walk through COPY data with the native kernel's countLines against
// its own line-by-line walk: for any COPY data (end markers and lines that only look like
// them, CR line ends, lines longer than a batch), cut into chunks anywhere, passed through or
// handed over in batches, the same bytes out, batches, row counts, positions and errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlScanner, type CopyDataMode, type ScannerHandler } from '../../src/dump/sql-scanner.js';
import type { SourcePosition } from '../../src/errors.js';
import { nativeLineCounter, nativeRows } from '../../src/engine/native.js';

const native = nativeRows();
const required = process.env['PGCLOAK_REQUIRE_NATIVE'] === '1';
if (!native && !required) console.warn('native-lines.test.ts: SKIPPED, the native COPY kernel is not built or is off');

function scan(chunks: Buffer[], mode: CopyDataMode, withNative: boolean): { out: string; events: string[]; error?: string } {
  const out: Buffer[] = [];
  const events: string[] = [];
  const handler: ScannerHandler = {
    emit: (buf, s, e) => out.push(Buffer.from(buf.subarray(s, e))),
    statement(text: Buffer): CopyDataMode | undefined {
      out.push(Buffer.from(text));
      return /^COPY\b/.test(text.toString()) ? mode : undefined;
    },
    row(buf, s, e, eolEnd, at) {
      events.push(`row ${at.line}:${at.offset} ${buf.subarray(s, eolEnd).toString('latin1')}`);
      out.push(Buffer.from(buf.subarray(s, eolEnd)));
    },
    rows(buf, s, e, at: SourcePosition, count) {
      events.push(`rows ${at.line}:${at.offset} ${count} ${e - s}`);
      out.push(Buffer.from(buf.subarray(s, e)));
    },
    copyEnd: (rows) => events.push(`end ${rows}`),
  };
  const scanner = new SqlScanner(handler, { lineCounter: withNative ? nativeLineCounter(native) : undefined });
  try {
    for (const c of chunks) scanner.write(c);
    scanner.end();
  } catch (err) {
    return { out: Buffer.concat(out).toString('latin1'), events, error: (err as Error).message };
  }
  return { out: Buffer.concat(out).toString('latin1'), events };
}

const line = fc.oneof(
  fc.stringMatching(/^[a-z0-9\t ]{0,20}$/),
  fc.constantFrom('\\.', '\\.x', '\\\\.', '\\', '\\N\t1', '\\.\r', 'a\r', ''),
  fc.integer({ min: 100_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

describe.skipIf(!native && !required)('COPY data walked natively', () => {
  it('gives what the line-by-line walk gives, for any data, chunks and mode', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom<CopyDataMode>('passthrough', 'batch'),
        (lines, eol, terminated, cuts, mode) => {
          const data = lines.map((l) => l + eol).join('') + (terminated ? `\\.${eol}` : '');
          const dump = Buffer.from(`SET x = 1;\nCOPY public.t (a) FROM stdin;\n${data}SELECT 1;\n`, 'latin1');
          const points = [...new Set(cuts.map((c) => c % (dump.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((p, i, all) => dump.subarray(p, all[i + 1] ?? dump.length));
          expect(scan(chunks, mode, true)).toEqual(scan(chunks, mode, false));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cuts batches where the line-by-line walk does: at the first line end at or past 256 KiB', () => {
    // Lines that end exactly at the batch size, one byte short of it and one past it.
    for (const first of [256 * 1024 - 1, 256 * 1024 - 2, 256 * 1024]) {
      const data = `${'x'.repeat(first)}\n${'ab\n'.repeat(5)}\\.\n`;
      const dump = Buffer.from(`COPY public.t (a) FROM stdin;\n${data}`, 'latin1');
      const viaNative = scan([dump], 'batch', true);
      expect(viaNative).toEqual(scan([dump], 'batch', false));
      // The first batch: the long line alone once it reaches the batch size, else with the next.
      expect(viaNative.events[0]).toMatch(new RegExp(`^rows 2:\\d+ ${first + 1 >= 256 * 1024 ? 1 : 2} `));
    }
  });
});
