// The contract every masking strategy implements. A strategy is format-independent:
// it turns a column's declared type and its rule parameters into a ValueMask, which
// says what a non-NULL value becomes. NULL always stays NULL (a NULL reveals nothing
// and keeps NOT NULL-free columns restorable). The dump formats (COPY text today)
// decode and encode around it, and skip decoding when the mask does not need it.

import type { ResolvedType } from '../schema/types.js';

export interface RowContext {
  /** The row key as text: key column values joined with `-`, or the row's position. */
  key(): string;
  /** The original value of another column of the row (decoded); null for NULL or a column the row lacks. */
  field(column: string): string | null;
}

export type ValueMask =
  | { kind: 'keep' }
  /** The same replacement for every non-NULL value; `null` writes NULL. */
  | { kind: 'constant'; value: string | null }
  /** Depends on the row (its key, other columns), not on this column's original: it need not be decoded. */
  | {
      kind: 'row';
      derive: (row: RowContext) => string;
      /**
       * Set when derive(row) is fitPlaceholderText(row.key(), maxLength): a row masker may
       * then build the value from the key field's bytes, without strings.
       */
      keyText?: { maxLength: number | undefined };
    }
  /** Depends on the original value (json shape, array elements). */
  | {
      kind: 'value';
      derive: (value: string, row: RowContext) => string;
      /**
       * Set when derive(value, row) is maskJsonShape(value, () => `xxx${row.key()}`): the
       * native kernel may then mask plain values from their bytes.
       */
      jsonKeyText?: true;
      /**
       * Set when derive is a keyed hash cut to this many bits: different values may share a
       * result, likely enough on a large table for masking to warn (birthday bound).
       */
      collisionBits?: number;
    };

export interface ColumnContext {
  /** `schema.table` of the rule, for messages. */
  table: string;
  column: string;
  type: ResolvedType;
  notNull: boolean;
  /** The rules-file path of this column's rule, e.g. `tables.res_partner.columns.name`. */
  path: string;
  /** A warning for the summary, once per column. */
  warn(message: string): void;
  /** The table's columns, as the dump declares them (for strategies that read other columns). */
  columns: readonly string[];
  /** The table's columns that its rule masks (any strategy but keep): their originals must not be copied. */
  masked: ReadonlySet<string>;
  /**
   * The 32-byte key of keyed strategies (pseudonym, hash): the same for every table of a run,
   * made for the run or derived from a persistent key (see mask/strategy-secret.ts); undefined
   * when the run has none.
   */
  secret: Buffer | undefined;
  /** The pseudonym algorithm (pseudonym.ts): the vault's when unmasking; absent: the current one. */
  pseudonymVersion?: number | undefined;
}

export interface StrategyParameter {
  name: string;
  description: string;
  required: boolean;
}

/**
 * What a strategy's output keeps of the differences between rows, for the keys a dump
 * declares (rules/key-collisions.ts): can two rows that differed now hold the same value, and
 * does a value still match the same value in another column? NULL stays NULL under every
 * strategy; this is about the other values.
 */
export type Distinctness =
  /** Written as it was. */
  | { kind: 'kept' }
  /**
   * A function of the value alone, one to one: different values stay different, and equal
   * values in any column masked by the same `fn` (pseudonym, hash: the same domain and
   * length) stay equal, so references between such columns still match.
   */
  | { kind: 'value'; fn: string }
  /** Made from the row key (xxx<key>, a uuid from it): a value no other row has, and no other table. */
  | { kind: 'row' }
  /** Made from other columns of the row (template {col:NAME}): rows that agree on them agree on it. */
  | { kind: 'columns'; columns: readonly string[] }
  /**
   * The same for every row: `value` as COPY would read it, null for NULL, undefined when it
   * varies only with something other than the original (an array's length). `what` says it
   * for messages ("1", "NULL", "an array of 1s of the same length").
   */
  | { kind: 'same'; value: string | null | undefined; what: string };

export interface StrategyDefinition {
  name: string;
  description: string;
  /** Which column types it takes, in words (for the help text and README). */
  accepts: string;
  parameters: readonly StrategyParameter[];
  /** Needs ColumnContext.secret: a run with such a rule must have a pseudonym key. */
  keyed?: boolean;
  /**
   * What its output keeps of the column's differences (Distinctness), for a column of `type`
   * and the rule's parameters (checked already); undefined when the strategy cannot take
   * that type (prepare refuses it). Read before any data, by mask and by inspect.
   */
  distinctness(type: ResolvedType, params: Readonly<Record<string, unknown>>): Distinctness | undefined;
  /** Checks the rule's parameters alone (before the dump is read): problems as messages. */
  checkParams(params: Readonly<Record<string, unknown>>): string[];
  /** Builds the mask for one column; throws PgcloakError when the type cannot take it. */
  prepare(column: ColumnContext, params: Readonly<Record<string, unknown>>): ValueMask;
}
