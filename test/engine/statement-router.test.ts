// The statement router: the events a dump gives (listeners before the handler, a setting in
// force from the statement after its SET), every byte handed on once and in order, the same
// at every split point; and the adapters' ways in: raw COPY data (a CSV header naming the
// columns), and an archive's shape (TOC definitions learnt apart, a TABLE DATA block given
// with its COPY statement and ending with `\.`, a block of INSERT statements, a block cut short).
import { beforeAll, describe, expect, it } from 'vitest';
import type { CopyDataMode } from '../../src/dump/sql-scanner.js';
import { StatementRouter, type CopyBlock, type DumpHandler, type DumpListener, type RoutedStatement } from '../../src/engine/statement-router.js';
import { PgcloakError } from '../../src/errors.js';
import { loadSqlParser } from '../../src/schema/catalog.js';

interface Trace {
  events: string[];
  /** The bytes the handler was given to write, in order. */
  out: string;
}

interface Traced {
  router: StatementRouter;
  trace: Trace;
}

/**
 * A router whose handler writes every byte it is given (none of a schemaOnly statement)
 * and notes each event with the string setting in force; and a listener noting its events
 * into the same trace, with a `listener` prefix.
 */
function traced(mode: CopyDataMode = 'rows'): Traced {
  const trace: Trace = { events: [], out: '' };
  const write = (buf: Buffer, start = 0, end = buf.length): void => {
    trace.out += buf.subarray(start, end).toString('latin1');
  };
  const statement = (kind: string, s: RoutedStatement): void => {
    trace.events.push(`${kind} ${s.keyword}${s.schemaOnly ? ' (schema)' : ''} @${s.at.line}:${s.at.offset} standard=${router.literal.standardStrings}`);
    if (!s.schemaOnly) write(s.text);
  };
  const handler: DumpHandler = {
    text: (buf, start, end) => write(buf, start, end),
    other: (s) => statement('other', s),
    ddl: (s, learnt) => statement(`ddl ${learnt.kind}`, s),
    statistics: (s) => statement('statistics', s),
    insert(s, header) {
      statement(`insert ${header ? header.key.replace(/\s+/g, ' ') : '(no header)'}`, s);
      return undefined;
    },
    copyStart(block: CopyBlock): CopyDataMode {
      trace.events.push(`copyStart ${block.target.key} (${router.columnsOf(block.target).join(', ')}) ${block.form}${block.raw ? ' raw' : ''}${block.statement ? '' : ' apart'}`);
      if (block.statement) write(block.statement.text);
      return mode;
    },
    copyRow(buf, start, end, eolEnd, at) {
      trace.events.push(`row @${at.line}:${at.offset} ${buf.subarray(start, end).toString('latin1')}`);
      write(buf, start, eolEnd);
    },
    copyFields(buf, start, end, eolEnd, starts, ends, at) {
      trace.events.push(`fields @${at.line}:${at.offset} ${starts.map((s, i) => buf.subarray(s, ends[i]).toString('latin1')).join('|')}`);
      write(buf, start, eolEnd);
    },
    copyEnd: (rows) => trace.events.push(`copyEnd ${rows}`),
  };
  const listener: DumpListener = {
    ddl: (_s, learnt) => trace.events.push(`listener ddl ${learnt.kind}`),
    insert: () => trace.events.push('listener insert'),
    copyStart: (block) => trace.events.push(`listener copyStart ${block.target.key}`),
    end: () => trace.events.push('listener end'),
  };
  const router = new StatementRouter(handler);
  router.listen(listener);
  return { router, trace };
}

/** The trace of a whole input given in `chunks`. */
function routed(chunks: readonly Buffer[]): Trace {
  const { router, trace } = traced();
  for (const c of chunks) router.write(c);
  router.end();
  return trace;
}

const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  "SET client_encoding = 'UTF8';",
  'SET standard_conforming_strings = on;',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  '',
  'CREATE TABLE public.t (',
  '    id integer NOT NULL,',
  '    name text',
  ');',
  '',
  "COMMENT ON TABLE public.t IS 'people; and more';",
  '',
  'COPY public.t (id, name) FROM stdin;',
  '1\tAda',
  '2\t\\N',
  '\\.',
  '',
  'SET standard_conforming_strings = off;',
  "INSERT INTO public.t VALUES (3, 'O\\'Brien; Ltd');",
  "SELECT pg_catalog.pg_restore_attribute_stats('relation', 'public.t'::regclass, 'attname', 'name'::name, 'null_frac', '0'::real);",
  '',
  '-- PostgreSQL database dump complete',
  '',
].join('\n');

/** `line:offset` of the first `text` in DUMP (after `from`). */
function at(text: string, from = 0): string {
  const offset = DUMP.indexOf(text, from);
  expect(offset).toBeGreaterThanOrEqual(0);
  return `${DUMP.slice(0, offset).split('\n').length}:${offset}`;
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('StatementRouter, a plain dump', () => {
  it('tells listeners, then the handler, of each statement; a SET is in force from the next statement', () => {
    const trace = routed([Buffer.from(DUMP, 'latin1')]);
    expect(trace.events).toEqual([
      `listener ddl client_encoding`,
      `ddl client_encoding SET @${at("SET client_encoding")} standard=true`,
      `listener ddl standard_conforming_strings`,
      `ddl standard_conforming_strings SET @${at('SET standard_conforming_strings = on')} standard=true`,
      `listener ddl other`,
      `ddl other SELECT @${at('SELECT pg_catalog.set_config')} standard=true`,
      `listener ddl table`,
      `ddl table CREATE @${at('CREATE TABLE')} standard=true`,
      `other COMMENT @${at('COMMENT ON')} standard=true`,
      'listener copyStart public.t',
      'copyStart public.t (id, name) text',
      `row @${at('1\tAda')} 1\tAda`,
      `row @${at('2\t')} 2\t\\N`,
      'copyEnd 2',
      'listener ddl standard_conforming_strings',
      // The SET's own event still sees the old setting; the statement after it, the new one.
      `ddl standard_conforming_strings SET @${at('SET standard_conforming_strings = off')} standard=true`,
      'listener insert',
      `insert INSERT INTO public.t VALUES INSERT @${at('INSERT INTO')} standard=false`,
      `statistics SELECT @${at('SELECT pg_catalog.pg_restore')} standard=false`,
      'listener end',
    ]);
    expect(trace.out).toBe(DUMP);
  });

  it('gives the same events and bytes at every split point, and byte by byte', () => {
    const bytes = Buffer.from(DUMP, 'latin1');
    const whole = routed([bytes]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(routed([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    expect(routed([...bytes].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  it('reads the dump in its encoding, and says which table a dump cut inside COPY data was in', () => {
    const { router } = traced();
    router.write(Buffer.from("SET client_encoding = 'LATIN1';\nCREATE TABLE caf\xe9 (n text);\nCOPY caf\xe9 (n) FROM stdin;\nx\n", 'latin1'));
    expect(router.encodingName).toBe('LATIN1');
    expect([...router.catalog.tables.keys()]).toEqual(['public."café"']);
    let err: unknown;
    try {
      router.end();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PgcloakError);
    expect((err as PgcloakError).code).toBe('COPY_UNTERMINATED');
    expect((err as PgcloakError).position).toMatchObject({ table: 'public."café"', line: 3 });
  });
});

describe('StatementRouter, input given apart (the adapters)', () => {
  it('raw CSV data: its header row names the columns and is passed on as text', () => {
    const t = traced();
    const router = t.router;
    router.startCopyData({ form: 'csv', target: { table: { schema: 'public', name: 't' }, key: 'public.t', columns: undefined, nonDefaultOptions: [] }, csv: { delimiter: 0x2c, quote: 0x22, header: true }, endMarker: 'optional' });
    const data = 'id,"full name"\n1,"Ada, Countess"\n2,\n';
    for (const b of Buffer.from(data)) router.write(Buffer.from([b]));
    router.end();
    expect(t.trace.events).toEqual(['listener copyStart public.t', 'copyStart public.t (id, full name) csv raw apart', 'fields @2:15 1|"Ada, Countess"', 'fields @3:33 2|', 'copyEnd 2', 'listener end']);
    expect(t.trace.out).toBe(data);
  });

  it("an archive's shape: TOC definitions learnt apart (settings in force), TABLE DATA with its COPY statement, a block of INSERTs", () => {
    const t = traced();
    const router = t.router;
    // ENCODING, STDSTRINGS, SEARCHPATH and TABLE entries, as pg_dump writes their definitions.
    for (const defn of ["SET client_encoding = 'LATIN1';\n", "SET standard_conforming_strings = 'off';\n", "SELECT pg_catalog.set_config('search_path', '', false);\n", 'CREATE TABLE public.t (\n    id integer,\n    name text\n);\n']) {
      router.learnSchema(Buffer.from(defn, 'latin1'), { settings: true });
    }
    expect(router.encodingName).toBe('LATIN1');
    expect(router.literal.standardStrings).toBe(false);
    // A TABLE DATA block: its COPY statement from the TOC, its data ending as pg_dump ends it.
    router.startCopyData({ form: 'text', statement: Buffer.from('COPY public.t (id, name) FROM stdin;\n'), endMarker: 'required' });
    for (const b of Buffer.from('1\tJos\xe9\n2\t\\N\n\\.\n\n\n', 'latin1')) router.write(Buffer.from([b]));
    router.endBlock();
    // A TABLE DATA block of pg_dump --inserts: SQL text, read with the archive's settings.
    router.write(Buffer.from("INSERT INTO public.t VALUES (3, 'it\\'s');\n", 'latin1'));
    router.endBlock();
    router.end();
    // Definitions are not the data: nothing of them is written, and their positions are in their own text.
    expect(t.trace.events).toEqual([
      'listener ddl client_encoding',
      'ddl client_encoding SET (schema) @1:0 standard=true',
      'listener ddl standard_conforming_strings',
      'ddl standard_conforming_strings SET (schema) @1:0 standard=true',
      'listener ddl other',
      'ddl other SELECT (schema) @1:0 standard=false',
      'listener ddl table',
      'ddl table CREATE (schema) @1:0 standard=false',
      'listener copyStart public.t',
      'copyStart public.t (id, name) text apart',
      'row @1:0 1\tJos\xe9',
      'row @2:7 2\t\\N',
      'copyEnd 2',
      'listener insert',
      'insert INSERT INTO public.t VALUES INSERT @6:17 standard=false',
      'listener end',
    ]);
    expect(t.trace.out).toBe("1\tJos\xe9\n2\t\\N\n\\.\n\n\nINSERT INTO public.t VALUES (3, 'it\\'s');\n");
  });

  it('a schema file given with raw data changes no setting', () => {
    const t = traced();
    const router = t.router;
    router.learnSchema(Buffer.from("SET client_encoding = 'LATIN1';\nSET standard_conforming_strings = off;\nCREATE TABLE t (a text);\n"));
    expect(router.encodingName).toBe('UTF8');
    expect(router.literal.standardStrings).toBe(true);
    expect([...router.catalog.tables.keys()]).toEqual(['public.t']);
    expect(t.trace.out).toBe('');
  });

  it('a TABLE DATA block cut short (no `\\.` line) fails at its end, naming the table', () => {
    const t = traced();
    const router = t.router;
    router.learnSchema(Buffer.from('CREATE TABLE public.t (id integer);\n'), { settings: true });
    router.startCopyData({ form: 'text', statement: Buffer.from('COPY public.t (id) FROM stdin;\n'), endMarker: 'required' });
    router.write(Buffer.from('1\n2\n'));
    expect(() => router.endBlock()).toThrow(expect.objectContaining({ code: 'COPY_UNTERMINATED' }));
  });
});
