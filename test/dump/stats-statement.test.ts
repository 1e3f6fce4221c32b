// Reading optimizer statistics statements (pg_dump of PostgreSQL 18) and cutting pairs out of
// them with every other byte kept.
import { describe, expect, it } from 'vitest';
import { isUnreadable, keepPairs, pairValue, parseStatsCall, type StatsCall } from '../../src/dump/stats-statement.js';

const STANDARD = { standardStrings: true, encoding: 'utf8' as const };

const ATTRIBUTE = Buffer.from(
  "SELECT * FROM pg_catalog.pg_restore_attribute_stats(\n\t'version', '180000'::integer,\n\t'schemaname', 'public',\n\t'relname', 'T x',\n\t'attname', 'e''mail',\n\t'inherited', 'f'::boolean,\n\t'null_frac', '0'::real,\n\t'most_common_vals', '{\"a,b\",c}'::text,\n\t'most_common_freqs', '{0.5,0.5}'::real[]\n);",
);

function call(text: Buffer | string, options = STANDARD): StatsCall {
  const c = parseStatsCall(Buffer.isBuffer(text) ? text : Buffer.from(text), options);
  if (c === undefined || isUnreadable(c)) throw new Error('not a readable statistics call');
  return c;
}

describe('parseStatsCall', () => {
  it('reads the function and its name/value pairs, casts outside the literal', () => {
    const c = call(ATTRIBUTE);
    expect(c.fn).toBe('pg_restore_attribute_stats');
    expect(c.pairs.map((p) => p.name)).toEqual(['version', 'schemaname', 'relname', 'attname', 'inherited', 'null_frac', 'most_common_vals', 'most_common_freqs']);
    const value = (name: string) => pairValue(ATTRIBUTE, c.pairs.find((p) => p.name === name)!, STANDARD);
    expect(value('relname')).toBe('T x');
    expect(value('attname')).toBe("e'mail");
    expect(value('most_common_vals')).toBe('{"a,b",c}');
    expect(value('version')).toBe('180000');
    const last = c.pairs.at(-1)!;
    expect(ATTRIBUTE.toString('utf8', last.start, last.end)).toBe("'most_common_freqs', '{0.5,0.5}'::real[]");
  });

  it('takes the forms without * FROM, unqualified, in other cases, with names cast', () => {
    expect(call("select pg_restore_attribute_stats('relname', 't', 'null_frac', 0.1::real);").pairs).toHaveLength(2);
    expect(call("SELECT PG_CATALOG.PG_RESTORE_RELATION_STATS('relname'::text, 't'::name);").fn).toBe('pg_restore_relation_stats');
    expect(call('SELECT pg_catalog.pg_clear_attribute_stats();').pairs).toEqual([]);
    expect(call("SELECT pg_catalog.pg_restore_extended_stats('statistics_name', 's');").fn).toBe('pg_restore_extended_stats');
  });

  it('is not a statistics call: other functions, other schemas, other statements', () => {
    for (const text of [
      "SELECT pg_catalog.setval('public.s', 1, true);",
      "SELECT pg_catalog.set_config('search_path', '', false);",
      "SELECT public.pg_restore_attribute_stats('relname', 't');",
      'SELECT * FROM t;',
      'INSERT INTO t VALUES (1);',
      'SELECT pg_catalog.pg_stat_reset();',
    ]) {
      expect(parseStatsCall(Buffer.from(text), STANDARD), text).toBeUndefined();
    }
  });

  it('says when the arguments cannot be read as pairs', () => {
    for (const text of [
      "SELECT pg_catalog.pg_restore_attribute_stats('relname', 't', 'attname');",
      "SELECT pg_catalog.pg_restore_attribute_stats('relname', 't') AS x;",
      "SELECT * FROM pg_catalog.pg_restore_attribute_stats('relname', 't'), other;",
      "SELECT pg_catalog.pg_restore_attribute_stats(upper('relname'), 't');",
      "SELECT pg_catalog.pg_restore_attribute_stats('relname', 't;",
    ]) {
      const c = parseStatsCall(Buffer.from(text), STANDARD);
      expect(c && isUnreadable(c), text).toBe(true);
    }
  });

  it('reads backslashes as standard_conforming_strings says', () => {
    const off = { standardStrings: false, encoding: 'utf8' as const };
    const text = Buffer.from("SELECT pg_catalog.pg_restore_attribute_stats('relname', 't', 'histogram_bounds', '{a\\\\b,\\'q\\'}'::text, 'x', E'\\\\');");
    const c = call(text, off);
    expect(pairValue(text, c.pairs[1]!, off)).toBe("{a\\b,'q'}");
    expect(pairValue(text, c.pairs[2]!, off)).toBe('\\');
  });
});

describe('keepPairs', () => {
  it('cuts out pairs with their separators, every other byte as it was', () => {
    const c = call(ATTRIBUTE);
    const kept = keepPairs(ATTRIBUTE, c, (p) => !p.name.startsWith('most_common'));
    expect(kept.toString()).toBe(
      "SELECT * FROM pg_catalog.pg_restore_attribute_stats(\n\t'version', '180000'::integer,\n\t'schemaname', 'public',\n\t'relname', 'T x',\n\t'attname', 'e''mail',\n\t'inherited', 'f'::boolean,\n\t'null_frac', '0'::real\n);",
    );
    const middle = keepPairs(ATTRIBUTE, c, (p) => p.name !== 'inherited' && p.name !== 'attname');
    expect(middle.toString()).toContain("'relname', 'T x',\n\t'null_frac', '0'::real,\n\t'most_common_vals'");
    const first = keepPairs(ATTRIBUTE, c, (p) => p.name !== 'version');
    expect(first.toString()).toMatch(/^SELECT \* FROM pg_catalog\.pg_restore_attribute_stats\(\n\t'schemaname', 'public',/);
    expect(keepPairs(ATTRIBUTE, c, () => true)).toBe(ATTRIBUTE);
    // What is kept reads back as the same call, less the pairs cut.
    expect(call(kept).pairs.map((p) => p.name)).toEqual(['version', 'schemaname', 'relname', 'attname', 'inherited', 'null_frac']);
  });
});
