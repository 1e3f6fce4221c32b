// maskDump's `follow`: what `mask --require-coverage` and `--leak-check` use instead of reading
// the input a second time. Listeners hear of each statement from the masker's own router,
// before the masker writes it, with the schema the masker learnt; the coverage guard listening
// there stops the run before a row (or the COPY statement) of an uncovered table is written.
import { Readable, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DumpListener, FollowedDump } from '../../src/engine/statement-router.js';
import { PgcloakError } from '../../src/errors.js';
import { CoverageGuard } from '../../src/inspect/coverage-guard.js';
import { maskDump } from '../../src/mask/run.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { loadSqlParser } from '../../src/schema/catalog.js';

const DUMP = [
  'SET standard_conforming_strings = on;',
  'CREATE TABLE public.customer (id integer, email text, phone text);',
  'COPY public.customer (id, email, phone) FROM stdin;',
  '1\tada@example.com\t+44 20 7946 0000',
  '\\.',
  "INSERT INTO public.customer VALUES (2, 'bob@example.com', NULL);",
  '',
].join('\n');

/** Masks DUMP (in chunks of `chunk` bytes) with `rules`; the output so far, and the error if the run failed. */
async function mask(rules: string, follow: (dump: FollowedDump) => void, chunk = 7): Promise<{ output: string; error: unknown }> {
  const bytes = Buffer.from(DUMP);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const out: Buffer[] = [];
  const output = new Writable({
    write(c: Buffer, _encoding, callback) {
      out.push(Buffer.from(c));
      callback();
    },
  });
  let error: unknown;
  try {
    await maskDump({ input: Readable.from(chunks), output, rules: parseRules(rules), follow });
  } catch (err) {
    error = err;
  }
  return { output: Buffer.concat(out).toString(), error };
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('maskDump follow', () => {
  it("tells a listener of the dump's statements as the masker reads them, with the masker's schema", async () => {
    const heard: string[] = [];
    const { output, error } = await mask('tables:\n  customer:\n    columns:\n      email: placeholder\n      phone: placeholder\n', (dump) => {
      const listener: DumpListener = {
        ddl: (_s, learnt) => heard.push(`ddl ${learnt.kind} ${[...dump.catalog.tables.keys()].join(',')}`),
        copyStart: (block) => heard.push(`copy ${block.target.key}`),
        insert: (_s, header) => heard.push(`insert ${header ? 'with header' : ''}`),
        end: () => heard.push('end'),
      };
      dump.listen(listener);
    });
    expect(error).toBeUndefined();
    expect(heard).toEqual(['ddl standard_conforming_strings ', 'ddl table public.customer', 'copy public.customer', 'insert with header', 'end']);
    expect(output).not.toContain('ada@example.com');
    expect(output).not.toContain('bob@example.com');
  });

  it('the coverage guard listening there stops the run before the COPY statement of an uncovered table is written', async () => {
    const rules = 'tables:\n  customer:\n    columns:\n      email: placeholder\n';
    for (const chunk of [1, 7, DUMP.length]) {
      const { output, error } = await mask(rules, (dump) => dump.listen(new CoverageGuard(dump.catalog, parseRules(rules))), chunk);
      expect(error).toBeInstanceOf(PgcloakError);
      expect((error as PgcloakError).code).toBe('RULES_COVERAGE');
      expect((error as PgcloakError).message).toContain('public.customer.phone');
      expect(output).not.toContain('COPY public.customer');
      expect(output).not.toContain('ada@example.com');
    }
  });
});
