// What a column's declared type means for masking: a data table of the built-in types
// we know how to mask, resolved through domains and arrays to one of a few kinds.
// https://www.postgresql.org/docs/current/datatype.html

export type TypeKind =
  | 'text'
  | 'integer'
  | 'numeric'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'timetz'
  | 'interval'
  | 'bytea'
  | 'json'
  | 'jsonb'
  | 'enum'
  | 'uuid'
  | 'inet'
  | 'cidr'
  | 'macaddr'
  | 'macaddr8'
  | 'array'
  | 'unsupported';

export interface ResolvedType {
  kind: TypeKind;
  /** The type as the dump declares it, for messages (`character varying(64)`). */
  display: string;
  /** The underlying built-in type name (`varchar`, `int4`, `mpaa_rating`, …). */
  base: string;
  /** Character limit of varchar(n) / char(n). */
  maxLength?: number;
  /** Enum labels in declaration order. */
  labels?: readonly string[];
  /** Element type of an array. */
  element?: ResolvedType;
  /** A domain along the way declares NOT NULL. */
  notNull: boolean;
}

/** Built-in type names as libpg-query reports them (pg_catalog names) → kind. */
export const BUILTIN_KINDS: ReadonlyMap<string, TypeKind> = new Map<string, TypeKind>([
  ['text', 'text'],
  ['varchar', 'text'],
  ['bpchar', 'text'],
  ['char', 'text'], // "char": a single byte
  ['name', 'text'],
  ['citext', 'text'], // extension type, whatever schema it lives in
  ['int2', 'integer'],
  ['int4', 'integer'],
  ['int8', 'integer'],
  ['smallint', 'integer'],
  ['integer', 'integer'],
  ['bigint', 'integer'],
  ['oid', 'integer'],
  ['numeric', 'numeric'],
  ['decimal', 'numeric'],
  ['float4', 'numeric'],
  ['float8', 'numeric'],
  ['real', 'numeric'],
  ['money', 'numeric'],
  ['bool', 'boolean'],
  ['boolean', 'boolean'],
  ['date', 'date'],
  ['timestamp', 'timestamp'],
  ['timestamptz', 'timestamptz'],
  ['time', 'time'],
  ['timetz', 'timetz'],
  ['interval', 'interval'],
  ['bytea', 'bytea'],
  ['json', 'json'],
  ['jsonb', 'jsonb'],
  ['uuid', 'uuid'],
  ['inet', 'inet'],
  ['cidr', 'cidr'],
  ['macaddr', 'macaddr'],
  ['macaddr8', 'macaddr8'],
]);
