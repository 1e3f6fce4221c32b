// Optimizer statistics of PostgreSQL 18 dumps (issue 21, item 4): a masked column's
// statistics keep no value, every other statement is untouched, unmask restores the
// original statements byte for byte, and statistics forms pgcloak does not know are refused
// where they may concern masked data. The golden case fixtures/golden/statistics is run by
// golden.test.ts (every split point, one byte at a time).
import { describe, expect, it } from 'vitest';
import { errorOf, goldenCase, maskInMemory, MemoryVault, unmaskInMemory } from './run-in-memory.js';

const { INPUT, EXPECTED, RULES } = goldenCase('statistics');

/** The masked columns' originals in the golden input (as text and as the statistics spell them). */
const ORIGINALS = ['Alice Martin', 'alice@example.com', "Bob O'Brien", "Bob O''Brien", 'bob@example.com', 'Carol Weiß', 'carol@example.com', 'early bird'];

/** The statements of a dump, split at each `;` that ends a line (enough for these dumps). */
function statements(dump: string): string[] {
  return dump.split(/;\n/).map((s) => s.trim());
}

function statsOf(dump: string, relname: string, column: string): string {
  const found = statements(dump).filter((s) => s.includes(`'relname', '${relname}'`) && s.includes(`'${column}'`) && s.includes('pg_restore_attribute_stats'));
  expect(found, `${relname}.${column}`).toHaveLength(1);
  return found[0]!;
}

describe('statistics of masked columns', () => {
  it('hold no original anywhere in the output but the kept notes column, which copies one', async () => {
    const { output, vault } = await maskInMemory([INPUT], RULES);
    const text = output.toString('utf8');
    // customer.notes is kept (rule: keep) and holds a copy of an e-mail, in its rows and its
    // statistics: that is the leak scan's to find (see test/cli/statistics.test.ts).
    const notes = [statsOf(text, 'customer', 'notes'), 'copied: alice@example.com'];
    let rest = text;
    for (const n of notes) rest = rest.replace(n, '');
    for (const original of ORIGINALS) expect(rest, original).not.toContain(original);
    expect(vault.records.filter((r) => r.type === 'statement')).toHaveLength(7);
  });

  it('keep the pairs that name the column and null_frac, avg_width, n_distinct', async () => {
    const text = (await maskInMemory([INPUT], RULES)).output.toString('utf8');
    expect(statsOf(text, 'customer', 'email')).toBe(
      "SELECT * FROM pg_catalog.pg_restore_attribute_stats(\n\t'version', '180000'::integer,\n\t'schemaname', 'public',\n\t'relname', 'customer',\n\t'attname', 'email',\n\t'inherited', 'f'::boolean,\n\t'null_frac', '0'::real,\n\t'avg_width', '18'::integer,\n\t'n_distinct', '-1'::real\n)",
    );
    // The partition follows its parent's rule; the parent's inherited statistics their own.
    expect(statsOf(text, 'events_2024', 'actor')).not.toContain('most_common');
    expect(statsOf(text, 'events', 'actor')).not.toContain('histogram_bounds');
    // An expression index and a materialized view over the masked table keep no values either.
    expect(statsOf(text, 'customer_lower_email', 'attnum')).not.toContain('histogram_bounds');
    expect(statsOf(text, 'customer_domains', 'domain')).not.toContain('most_common_vals');
  });

  it('leave every other statistics statement byte for byte', async () => {
    const text = (await maskInMemory([INPUT], RULES)).output.toString('utf8');
    const input = INPUT.toString('utf8');
    for (const [relname, column] of [
      ['customer', 'id'],
      ['customer', 'notes'],
      ['city', 'name'],
      ['city_lower_name', 'attnum'],
    ] as const) {
      expect(statsOf(text, relname, column)).toBe(statsOf(input, relname, column));
    }
    const relationStats = (dump: string) => statements(dump).filter((s) => s.includes('pg_restore_relation_stats'));
    expect(relationStats(text)).toEqual(relationStats(input));
    expect(relationStats(text)).toHaveLength(7);
  });

  it('come back byte for byte, and an edited or missing statement is refused', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    expect((await unmaskInMemory([EXPECTED], RULES, vault)).equals(INPUT)).toBe(true);
    const edited = Buffer.from(EXPECTED.toString('utf8').replace("'avg_width', '18'::integer", "'avg_width', '19'::integer"));
    expect((await errorOf(() => unmaskInMemory([edited], RULES, vault))).code).toBe('VAULT_MISMATCH');
    const email = statsOf(EXPECTED.toString('utf8'), 'customer', 'email');
    const dropped = Buffer.from(EXPECTED.toString('utf8').replace(`${email};\n`, ''));
    expect((await errorOf(() => unmaskInMemory([dropped], RULES, vault))).code).toBe('VAULT_MISMATCH');
    // An unmasked column's statistics that were changed are not the vault's business, but the digest's (CLI).
  });

  it('are untouched when the rules mask nothing', async () => {
    const { output } = await maskInMemory([INPUT], 'tables:\n  customer:\n    columns:\n      email: keep\n');
    expect(output.equals(INPUT)).toBe(true);
  });
});

const HEAD = "SET standard_conforming_strings = on;\nCREATE TABLE public.t (id integer, email text, note text);\nCOPY public.t (id, email, note) FROM stdin;\n1\ta@b.example\tx\n\\.\n";
const RULE = 'tables:\n  t:\n    columns:\n      email: placeholder\n';

describe('statistics forms and relations pgcloak cannot place', () => {
  it('refuses a statistics function it does not know for a masked table, or one it cannot name', async () => {
    const unknown = `${HEAD}SELECT * FROM pg_catalog.pg_restore_extended_stats('version', '190000'::integer, 'schemaname', 'public', 'relname', 't', 'most_common_vals', '{a@b.example}'::text);\n`;
    const e = await errorOf(() => maskInMemory([Buffer.from(unknown)], RULE));
    expect(e.code).toBe('INPUT_FORMAT');
    expect(e.message).toMatch(/pg_catalog\.pg_restore_extended_stats\(\) is a statistics form this pgcloak does not know, for public\.t, which may hold values of masked columns: dump with --no-statistics \(line 6/);
    const nameless = `${HEAD}SELECT pg_catalog.pg_restore_extended_stats('statistics_schemaname', 'public', 'statistics_name', 's1', 'most_common_vals', '{x}'::text);\n`;
    expect((await errorOf(() => maskInMemory([Buffer.from(nameless)], RULE))).code).toBe('INPUT_FORMAT');
    // For a table without masked columns it passes untouched; so does anything when nothing is masked.
    const other = `${HEAD}CREATE TABLE public.u (id integer);\nSELECT pg_catalog.pg_restore_extended_stats('schemaname', 'public', 'relname', 'u', 'most_common_vals', '{1}'::text);\n`;
    expect((await maskInMemory([Buffer.from(other)], RULE)).output.toString()).toContain("'relname', 'u', 'most_common_vals', '{1}'::text);");
    expect((await maskInMemory([Buffer.from(unknown)], 'tables:\n  t:\n    columns:\n      email: keep\n')).output.equals(Buffer.from(unknown))).toBe(true);
  });

  it('refuses a statistics call whose arguments it cannot read, when the rules mask anything', async () => {
    const odd = `${HEAD}SELECT pg_catalog.pg_restore_attribute_stats('schemaname', 'public', 'relname', 't', 'attname', 'email', lower('HISTOGRAM_BOUNDS'), '{a@b.example}'::text);\n`;
    const e = await errorOf(() => maskInMemory([Buffer.from(odd)], RULE));
    expect(e.code).toBe('INPUT_FORMAT');
    expect(e.message).toContain('are not name/value pairs pgcloak can read');
  });

  it('leaves out the values of a relation the dump does not declare, with a warning, and restores them', async () => {
    const text = `${HEAD}SELECT * FROM pg_catalog.pg_restore_attribute_stats('version', '180000'::integer, 'schemaname', 'public', 'relname', 'elsewhere', 'attname', 'x', 'inherited', 'f'::boolean, 'histogram_bounds', '{a@b.example}'::text);\n`;
    const warnings: string[] = [];
    const { output, vault } = await maskInMemory([Buffer.from(text)], RULE, new MemoryVault(), warnings);
    expect(output.toString()).toContain("'attname', 'x', 'inherited', 'f'::boolean);\n");
    expect(output.toString()).not.toContain('{a@b.example}');
    expect(warnings).toContain('statistics of public.elsewhere, which the dump does not declare: their values are left out (they may be a masked column\'s)');
    expect((await unmaskInMemory([output], RULE, vault)).equals(Buffer.from(text))).toBe(true);
  });

  it('reads values with standard_conforming_strings off, and gives them back', async () => {
    const text = `SET standard_conforming_strings = off;\nCREATE TABLE public.t (id integer, email text);\nCOPY public.t (id, email) FROM stdin;\n1\ta\\\\b\n\\.\nSELECT * FROM pg_catalog.pg_restore_attribute_stats('schemaname', 'public', 'relname', 't', 'attname', 'email', 'null_frac', '0'::real, 'histogram_bounds', E'{"a\\\\\\\\b","it\\'s"}'::text);\n`;
    const { output, vault } = await maskInMemory([Buffer.from(text)], RULE);
    expect(output.toString()).toContain("'attname', 'email', 'null_frac', '0'::real);");
    expect((await unmaskInMemory([output], RULE, vault)).equals(Buffer.from(text))).toBe(true);
  });
});
