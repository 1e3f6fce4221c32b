// One error family for the whole tool. Only the CLI entry point turns these into
// messages and exit codes; everything else throws them with a code and a position.

export type ErrorCode =
  | 'USAGE'
  | 'RULES_INVALID'
  | 'RULES_SCHEMA'
  | 'RULES_NOT_EXISTING'
  | 'SQL_UNTERMINATED'
  | 'SQL_PARSE'
  | 'STATEMENT_TOO_LARGE'
  | 'COPY_UNTERMINATED'
  | 'COPY_FIELD_COUNT'
  | 'COPY_UNSUPPORTED'
  | 'INPUT_FORMAT'
  | 'COPY_VALUE'
  | 'TABLE_UNKNOWN'
  | 'TYPE_UNSUPPORTED'
  | 'KEY_INVALID'
  | 'KEY_MISSING'
  | 'KEY_FILE_EXISTS'
  | 'VAULT_WRONG_KEY'
  | 'VAULT_TAMPERED'
  | 'VAULT_SIGNATURE'
  | 'VAULT_TRUNCATED'
  | 'VAULT_FORMAT'
  | 'VAULT_MISMATCH'
  | 'VAULT_EXISTS'
  | 'VAULT_LOCKED'
  | 'IO'
  | 'MAP_INVALID'
  | 'TARGET_SCHEMA'
  | 'DB_ERROR'
  | 'RULES_COVERAGE'
  | 'RULES_KEY_COLLISION'
  | 'LEAKS_FOUND';

/** Where something begins in the input: the line (1-based) and byte offset (0-based) of its first byte. */
export interface SourcePosition {
  line: number;
  offset: number;
}

/** Where an error is: in the input (line, byte offset), and in the data (table, column), as far as known. */
export interface Position extends Partial<SourcePosition> {
  table?: string;
  column?: string;
}

/** Exit codes, documented in the README. */
export const EXIT_CODES: Record<ErrorCode | 'INTERNAL' | 'OK', number> = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  RULES_INVALID: 3,
  RULES_SCHEMA: 3,
  RULES_NOT_EXISTING: 3,
  SQL_UNTERMINATED: 4,
  SQL_PARSE: 4,
  STATEMENT_TOO_LARGE: 4,
  COPY_UNTERMINATED: 4,
  COPY_FIELD_COUNT: 4,
  COPY_UNSUPPORTED: 4,
  INPUT_FORMAT: 4,
  COPY_VALUE: 4,
  TABLE_UNKNOWN: 4,
  TYPE_UNSUPPORTED: 3,
  KEY_INVALID: 5,
  KEY_MISSING: 2,
  KEY_FILE_EXISTS: 5,
  VAULT_WRONG_KEY: 5,
  VAULT_TAMPERED: 5,
  VAULT_SIGNATURE: 5,
  VAULT_TRUNCATED: 5,
  VAULT_FORMAT: 5,
  VAULT_MISMATCH: 6,
  VAULT_EXISTS: 5,
  VAULT_LOCKED: 5,
  IO: 7,
  MAP_INVALID: 3,
  TARGET_SCHEMA: 8,
  DB_ERROR: 8,
  RULES_COVERAGE: 3,
  RULES_KEY_COLLISION: 3,
  LEAKS_FOUND: 9,
};

export class PgcloakError extends Error {
  readonly code: ErrorCode;
  readonly position: Position;
  /** The message without its code and position. */
  readonly detail: string;

  constructor(code: ErrorCode, message: string, position: Position = {}) {
    super(`${code}: ${message}${formatPosition(position)}`);
    this.name = 'PgcloakError';
    this.code = code;
    this.position = position;
    this.detail = message;
  }
}

/**
 * One thing wrong with the options a library function was given: where (`raw.delimiter`, the
 * path from the options object) and what, in the library's words. A message naming another
 * option writes it in backticks (`raw.schemaText`), so that the CLI can show its flag instead.
 */
export interface Problem {
  path: string;
  message: string;
}

/** Options that cannot be used, every problem found at once (normalizeMaskOptions, normalizeUnmaskOptions). */
export class OptionsError extends PgcloakError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    super('USAGE', problems.map((p) => `${p.path}: ${p.message}`).join('\n  '));
    this.name = 'OptionsError';
    this.problems = problems;
  }
}

/** Options checked and normalised: frozen, or the problems found. */
export type Normalized<T> = { ok: true; config: Readonly<T> } | { ok: false; problems: readonly Problem[] };

/** The config of `normalized`, or the OptionsError of its problems. */
export function configOrThrow<T>(normalized: Normalized<T>): Readonly<T> {
  if (!normalized.ok) throw new OptionsError(normalized.problems);
  return normalized.config;
}

export function formatPosition(p: Position): string {
  const parts: string[] = [];
  if (p.table !== undefined) parts.push(p.table);
  if (p.column !== undefined) parts.push(`column ${p.column}`);
  if (p.line !== undefined) parts.push(`line ${p.line}`);
  if (p.offset !== undefined) parts.push(`byte ${p.offset}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
