// PostgreSQL's errors without the values they quote (issue 18, item 9). The messages are
// PostgreSQL 15's own wording, as node-postgres hands them over (message, detail, where).
// test/integration/restore-errors.test.ts checks the same against the real server.

import { describe, expect, it } from 'vitest';
import { describeKey, failingRowOf, ownError, raisingFunction, redactedMessage, type PgError } from '../../src/unmask/db-error.js';

function pgError(fields: PgError): Error & PgError {
  return Object.assign(new Error(fields.message), fields);
}

describe('redactedMessage', () => {
  it.each([
    ['invalid input syntax for type integer: "Alice"', '22P02', 'invalid input syntax for type integer: "…"'],
    ['value "99999999999" is out of range for type integer', '22003', 'value "…" is out of range for type integer'],
    ['invalid value "Alic" for "YYYY"', '22007', 'invalid value "…"'],
    ['invalid input value for enum mood: "sad"', '22P02', 'invalid input value for enum mood: "…"'],
    ['malformed array literal: "{a,"b"', '22P02', 'malformed array literal: "…"'],
    ['malformed array literal: "{"Alice"}"', '22P02', 'malformed array literal: "…"'],
    ['invalid byte sequence for encoding "UTF8": 0xe9 0x20 0x41', '22021', 'invalid byte sequence for encoding "…": 0x…'],
    ['value too long for type character varying(3)', '22001', 'value too long for type character varying(3)'],
    ['a message with (email)=(alice@example.org) in it', '23505', 'a message with (…)=(…) in it'],
  ])('%s', (message, code, expected) => {
    expect(redactedMessage(pgError({ message, code }))).toBe(expected);
  });

  it('keeps the quoted names the error itself gives', () => {
    const err = pgError({ message: 'new row for relation "person" violates check constraint "no_private_domain"', code: '23514', table: 'person', constraint: 'no_private_domain' });
    expect(redactedMessage(err)).toBe(err.message);
    const unique = pgError({ message: 'duplicate key value violates unique constraint "person_email"', code: '23505' });
    expect(redactedMessage(unique)).toBe('duplicate key value violates unique constraint "…"');
    expect(redactedMessage(pgError({ message: unique.message, code: '23505', constraint: 'person_email' }))).toBe(unique.message);
  });

  it('cuts to the last quote: a value may hold quotes, PostgreSQL does not escape them', () => {
    expect(redactedMessage(pgError({ message: 'invalid value "Al" for "ice" for "YYYY"', code: '22007' }))).toBe('invalid value "…"');
    expect(redactedMessage(pgError({ message: 'odd: "Alice', code: '22000' }))).toBe('odd: "…');
    const named = pgError({ message: 'null value in column "a" of relation "t" violates not-null constraint', code: '23502', column: 'a', table: 't' });
    expect(redactedMessage(named)).toBe(named.message);
  });

  it('keeps syntax and name errors (class 42): they quote the statement, never data', () => {
    const err = pgError({ message: 'column "nmae" does not exist', code: '42703' });
    expect(redactedMessage(err)).toBe(err.message);
  });

  it('never shows what a trigger or function raised, whatever its SQLSTATE', () => {
    const raised = pgError({ message: 'bad name: Alice', code: 'P0001', where: 'PL/pgSQL function refuse_names() line 3 at RAISE' });
    expect(redactedMessage(raised)).toBe('function refuse_names() raised an error (its message is not shown: it may hold a value)');
    const asCheck = pgError({ message: 'Alice is not allowed', code: '23514', where: 'PL/pgSQL function refuse() line 3 at RAISE\nSQL statement "UPDATE x"\nPL/pgSQL function inline_code_block line 5 at SQL statement' });
    expect(redactedMessage(asCheck)).not.toContain('Alice');
    expect(raisingFunction(asCheck)).toBe('refuse()');
    const inSql = pgError({ message: 'invalid input syntax for type integer: "Alice"', code: '22P02', where: 'SQL function "to_age" statement 1' });
    expect(raisingFunction(inSql)).toBe('to_age');
    // No CONTEXT at all, but a PL/pgSQL code: still the author's text.
    expect(redactedMessage(pgError({ message: 'Alice', code: 'P0001' }))).not.toContain('Alice');
  });
});

describe('our own errors', () => {
  it('are ours only when raised by our anonymous block itself, not by a trigger imitating them', () => {
    const where = 'PL/pgSQL function inline_code_block line 8 at RAISE';
    expect(ownError(pgError({ message: 'VAULT_MISMATCH: none of the rows', code: 'P0001', where }))?.code).toBe('VAULT_MISMATCH');
    expect(ownError(pgError({ message: 'VAULT_MISMATCH: Alice', code: 'P0001', where: 'PL/pgSQL function t() line 1 at RAISE' }))).toBeUndefined();
  });

  it('the diagnosis answer is read back, and only from our block', () => {
    const where = 'PL/pgSQL function inline_code_block line 12 at RAISE';
    expect(failingRowOf(pgError({ message: 'PGCLOAK_FAILING_ROW {"key" : ["7", null], "column" : 2, "which" : "written"}', code: 'P0001', where }))).toEqual({
      key: ['7', null],
      column: 2,
      which: 'written',
    });
    expect(failingRowOf(pgError({ message: 'PGCLOAK_FAILING_ROW {"key" : ["7"]}', code: 'P0001', where: 'PL/pgSQL function t() line 1 at RAISE' }))).toBeUndefined();
    expect(failingRowOf(pgError({ message: 'PGCLOAK_FAILING_ROW not json', code: 'P0001', where }))).toBeUndefined();
  });
});

describe('describeKey', () => {
  it('reads like PostgreSQL, quoting what is unusual and cutting what is long', () => {
    expect(describeKey(['id'], ['3'])).toBe('key (id)=(3)');
    expect(describeKey(['order_id', 'line'], ['7', null])).toBe('key (order_id, line)=(7, NULL)');
    expect(describeKey(['code'], ['a b\nc'])).toBe('key (code)=("a b\\nc")');
    expect(describeKey(['code'], ['x'.repeat(100)])).toBe(`key (code)=(${'x'.repeat(64)}…)`);
  });
});
