// The integration harness itself: the cluster starts, the helpers round-trip awkward
// values, pg_dump writes a dump. If this suite fails, the others cannot be trusted.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  NULL_TEXT,
  createDatabase,
  describeWithPg,
  dropDatabase,
  pgDump,
  psqlCommand,
  psqlFile,
  queryRows,
  queryValue,
  uniqueDatabaseName,
} from './pg.js';

describeWithPg('integration harness', () => {
  const db = uniqueDatabaseName('harness');
  let tmp = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-harness-'));
    createDatabase(db);
  });

  afterAll(() => {
    dropDatabase(db);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs a query on PostgreSQL 15', () => {
    expect(queryValue(db, 'SHOW server_version_num')).toMatch(/^15\d{4}$/);
    expect(queryValue(db, 'SHOW server_encoding')).toBe('UTF8');
    expect(queryValue(db, 'SHOW TimeZone')).toBe('UTC');
  });

  it('returns no rows, empty values and NULLs distinctly', () => {
    expect(queryRows(db, 'SELECT 1 WHERE false')).toEqual([]);
    expect(queryRows(db, "SELECT ''")).toEqual([['']]);
    expect(queryRows(db, 'SELECT NULL::text')).toEqual([[NULL_TEXT]]);
    expect(queryRows(db, "SELECT '', NULL, 'x' UNION ALL SELECT 'a', 'b', ''")).toEqual([
      ['', NULL_TEXT, 'x'],
      ['a', 'b', ''],
    ]);
  });

  it('keeps tabs, newlines, backslashes and multi-byte text in values', () => {
    const awkward = "tab\there\nnewline\r\ncrlf \\ back'slash \"q\" é 🎉";
    psqlCommand(db, `CREATE TABLE t (v text); INSERT INTO t VALUES ($x$${awkward}$x$), (NULL)`);
    expect(queryRows(db, 'SELECT v FROM t ORDER BY v NULLS LAST')).toEqual([[awkward], [NULL_TEXT]]);
  });

  it('loads a file and stops at the first error', () => {
    const good = path.join(tmp, 'good.sql');
    writeFileSync(good, 'CREATE TABLE loaded (id int);\nINSERT INTO loaded VALUES (1), (2);\n');
    psqlFile(db, good);
    expect(queryValue(db, 'SELECT count(*) FROM loaded')).toBe('2');

    const bad = path.join(tmp, 'bad.sql');
    writeFileSync(bad, 'INSERT INTO loaded VALUES (3);\nSELECT * FROM no_such_table;\nINSERT INTO loaded VALUES (4);\n');
    expect(() => psqlFile(db, bad)).toThrow(/no_such_table/);
    expect(queryValue(db, 'SELECT count(*) FROM loaded')).toBe('3');
  });

  it('dumps a database with pg_dump', () => {
    const dump = path.join(tmp, 'dump.sql');
    pgDump(db, dump);
    const text = readFileSync(dump, 'utf8');
    expect(text).toMatch(/^-- Dumped by pg_dump version 15\./m);
    expect(text).toContain('COPY public.loaded (id) FROM stdin;\n1\n2\n3\n\\.\n');
  });
});
