// PostgreSQL's errors, as `unmask --db` prints them: without any value they may carry
// (issue 18, item 9). An original must never be printed, and PostgreSQL puts values in
// several parts of an error: the primary message quotes the text that did not convert
// (`invalid input syntax for type integer: "Alice"`), DETAIL quotes keys and whole rows
// (`Key (email)=(…) already exists`, `Failing row contains (…)`), CONTEXT the COPY field
// (`COPY t, line 3, column a: "Alice"`), and a trigger's RAISE says whatever its author
// wrote (`bad name: Alice`). So DETAIL, HINT and CONTEXT are never printed; CONTEXT is only
// read for its structure (the COPY line, the function that raised); the primary message is
// printed with every quoted part that is not a known name cut out, and not at all when
// user code (a trigger, a function) raised it. The row is named by its key instead, which
// the masked dump carries in clear anyway.
// https://www.postgresql.org/docs/current/protocol-error-fields.html
// https://www.postgresql.org/docs/current/errcodes-appendix.html

import { PgcloakError, type ErrorCode, type Position } from '../errors.js';

/** The fields of a node-postgres DatabaseError that are read here. */
export interface PgError {
  message: string;
  code?: string | undefined;
  detail?: string | undefined;
  where?: string | undefined;
  schema?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  dataType?: string | undefined;
  constraint?: string | undefined;
}

export function isPgError(err: unknown): err is PgError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/** What the diagnosis found out about the row a statement failed at (restore-sql.ts failingRow*). */
export interface FailingRow {
  /** The key values, as text (null: NULL), in the order of the table's key columns. */
  key: (string | null)[];
  /** 1-based among the table's active columns, when known. */
  column?: number;
  /** Which value of the column: the original or what masking wrote. */
  which?: 'original' | 'written';
}

/** The tag our own diagnosis raises with; see restore-sql.ts. */
export const FAILING_ROW_TAG = 'PGCLOAK_FAILING_ROW ';

/** Our own DO blocks raise from an anonymous code block and nothing else. */
const OWN_RAISE = /^PL\/pgSQL function inline_code_block line \d+ at RAISE$/;

/** The diagnosis's answer, if this error is it. */
export function failingRowOf(err: unknown): FailingRow | undefined {
  if (!isPgError(err) || !err.message.startsWith(FAILING_ROW_TAG) || !OWN_RAISE.test(err.where ?? '')) return undefined;
  try {
    const j = JSON.parse(err.message.slice(FAILING_ROW_TAG.length)) as { key?: unknown; column?: unknown; which?: unknown };
    if (!Array.isArray(j.key) || !j.key.every((k) => k === null || typeof k === 'string')) return undefined;
    const row: FailingRow = { key: j.key as (string | null)[] };
    if (typeof j.column === 'number') row.column = j.column;
    if (j.which === 'original' || j.which === 'written') row.which = j.which;
    return row;
  } catch {
    return undefined;
  }
}

/** An error raised by our own checks (restore-sql.ts) carries its code in front of its message. */
export function ownError(err: PgError): PgcloakError | undefined {
  if (!OWN_RAISE.test(err.where ?? '')) return undefined;
  const m = /^(VAULT_MISMATCH|TARGET_SCHEMA): (.*)$/s.exec(err.message);
  return m ? new PgcloakError(m[1] as ErrorCode, m[2]!) : undefined;
}

/**
 * The function (trigger, or one a `using:` expression calls) whose code raised the error,
 * when it was not PostgreSQL's own: its message is the author's text and may hold any value.
 * The innermost function of the CONTEXT, our anonymous blocks aside.
 */
export function raisingFunction(err: PgError): string | undefined {
  for (const line of (err.where ?? '').split('\n')) {
    const m = /^(?:PL\/pgSQL function (.+?) line \d+ at |SQL function "(.+?)" )/.exec(line);
    const name = m?.[1] ?? m?.[2];
    if (name !== undefined && name !== 'inline_code_block') return name;
  }
  return err.code?.startsWith('P0') ? '(unknown)' : undefined;
}

/**
 * PostgreSQL's primary message without the values it may quote. Quoted parts stay only when
 * they are names the error itself gives (table, column, constraint, schema, type); byte
 * sequences (`0xe9 0x41`) and `(…)=(…)` pairs are cut. Syntax and name errors (class 42)
 * come from the statement's text, never from data: kept.
 */
export function redactedMessage(err: PgError): string {
  const fn = raisingFunction(err);
  if (fn !== undefined) return `function ${fn} raised an error (its message is not shown: it may hold a value)`;
  if (err.code?.startsWith('42')) return err.message;
  const names = [err.table, err.column, err.constraint, err.schema, err.dataType].filter((n): n is string => n !== undefined && n !== '');
  return cutQuoted(err.message, names)
    .replace(/\(.*\)=\(.*\)/gs, '(…)=(…)')
    .replace(/0x[0-9a-fA-F]{2}(?: 0x[0-9a-fA-F]{2})*/g, '0x…');
}

/**
 * PostgreSQL quotes a value as "%s" without escaping the quotes inside it (`malformed array
 * literal: "{a,"b"`), so a value's end cannot be told from its text: from the first quote
 * that does not open a known name, everything up to the message's last quote is cut.
 * What follows the last quote is the message's own wording.
 */
function cutQuoted(message: string, names: readonly string[]): string {
  const last = message.lastIndexOf('"');
  let out = '';
  let i = 0;
  for (;;) {
    const q = message.indexOf('"', i);
    if (q === -1) return out + message.slice(i);
    out += message.slice(i, q);
    const name = names.find((n) => message.startsWith(`"${n}"`, q));
    if (name !== undefined) {
      out += `"${name}"`;
      i = q + name.length + 2;
    } else if (q === last) {
      return `${out}"…`; // an unmatched quote: the rest may be a value
    } else {
      out += '"…"';
      i = last + 1;
    }
  }
}

/** A message from a non-database failure (connection, protocol), quoted parts cut all the same. */
export function errorText(err: unknown): string {
  if (isPgError(err)) return redactedMessage(err);
  if (err instanceof Error) return err.message.replace(/"((?:[^"]|"")*)"/g, '"…"');
  return String(err);
}

/** `key (id)=(3)`, `key (order_id, line)=(7, 2)`: a value with anything unusual is JSON-quoted, a long one cut. */
export function describeKey(columns: readonly string[], values: readonly (string | null)[]): string {
  const show = (v: string | null): string => {
    if (v === null) return 'NULL';
    const shown = /^[\p{L}\p{N}_.:@+/-]+$/u.test(v) ? v : JSON.stringify(v);
    return shown.length > 64 ? `${shown.slice(0, 64)}…` : shown;
  };
  return `key (${columns.join(', ')})=(${values.map(show).join(', ')})`;
}

/** `22P02`, `23514`: the code, for the message. */
export function sqlstate(err: PgError): string {
  return `SQLSTATE ${err.code ?? '?'}`;
}

/** The error as a PgcloakError of `code`, its message redacted, with what is known of where. */
export function databaseError(code: ErrorCode, what: string, err: PgError, position: Position, advice?: string): PgcloakError {
  return new PgcloakError(code, `${what}${redactedMessage(err)} (${sqlstate(err)})${advice === undefined ? '' : `; ${advice}`}; nothing was changed`, position);
}
