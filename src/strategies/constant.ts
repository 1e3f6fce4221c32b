// `constant`: every non-NULL value becomes the given value, checked against the
// column's type at start-up so that the masked dump still restores.
import { isIP } from 'node:net';
import { PgcloakError } from '../errors.js';
import type { ResolvedType } from '../schema/types.js';
import { textLength } from './text-fit.js';
import type { StrategyDefinition } from './strategy.js';

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  smallint: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  integer: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
  oid: [0n, 4294967295n],
};

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(NaN|Infinity|inf)\s*$/i;
const BOOLEAN = /^\s*(t|f|true|false|y|n|yes|no|on|off|1|0)\s*$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z)?$/;
const TIME = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const TIMETZ = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?)?$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const MACADDR = /^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$/i;
const MACADDR8 = /^[0-9a-f]{2}([:-]?[0-9a-f]{2}){7}$/i;

/** Why `value` is not a valid literal of `type`, or undefined when it is (or cannot be checked). */
export function constantProblem(type: ResolvedType, value: string): string | undefined {
  switch (type.kind) {
    case 'text':
      if (type.maxLength !== undefined && textLength(value) > type.maxLength) {
        return `is longer than ${type.display} allows`;
      }
      return undefined;
    case 'integer': {
      if (!/^\s*[+-]?\d+\s*$/.test(value)) return `is not an integer`;
      const range = INTEGER_RANGES[type.base];
      const n = BigInt(value.trim());
      if (range && (n < range[0] || n > range[1])) return `is out of range for ${type.display}`;
      return undefined;
    }
    case 'numeric':
      return NUMERIC.test(value) || (type.base === 'money' && /^\s*-?\$?[\d,]+(\.\d+)?\s*$/.test(value)) ? undefined : 'is not a number';
    case 'boolean':
      return BOOLEAN.test(value) ? undefined : 'is not a boolean';
    case 'date':
      return DATE.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : 'is not a date (YYYY-MM-DD)';
    case 'timestamp':
      return TIMESTAMP.test(value) ? undefined : 'is not a timestamp (YYYY-MM-DD HH:MM:SS)';
    case 'timestamptz':
      return TIMESTAMPTZ.test(value) ? undefined : 'is not a timestamp with time zone';
    case 'time':
      return TIME.test(value) ? undefined : 'is not a time (HH:MM:SS)';
    case 'timetz':
      return TIMETZ.test(value) ? undefined : 'is not a time with time zone';
    case 'uuid':
      return UUID.test(value) ? undefined : 'is not a uuid';
    case 'inet':
      return isIP(value) !== 0 || isIP(value.split('/')[0] ?? '') !== 0 ? undefined : 'is not an IP address';
    case 'cidr':
      return isIP(value.split('/')[0] ?? '') !== 0 ? undefined : 'is not a network address';
    case 'macaddr':
      return MACADDR.test(value) ? undefined : 'is not a MAC address';
    case 'macaddr8':
      return MACADDR8.test(value) ? undefined : 'is not an EUI-64 MAC address';
    case 'json':
    case 'jsonb':
      try {
        JSON.parse(value);
        return undefined;
      } catch {
        return 'is not valid JSON';
      }
    case 'enum':
      return type.labels?.includes(value) ? undefined : `is not a label of ${type.display}`;
    default:
      return undefined;
  }
}

/** Kinds whose constants we cannot check: accepted with a warning. */
function uncheckable(type: ResolvedType): boolean {
  return type.kind === 'unsupported' || type.kind === 'array' || type.kind === 'interval' || type.kind === 'bytea';
}

export const constantStrategy: StrategyDefinition = {
  name: 'constant',
  description: 'replace every non-NULL value with a fixed value, checked against the column type',
  accepts: 'any type (the value is checked for text limits, numbers, booleans, dates, times, uuid, inet, json, enums)',
  parameters: [{ name: 'value', description: 'the replacement, as PostgreSQL would read it in text form', required: true }],
  checkParams(params) {
    const v = params['value'];
    if (v === undefined) return ["needs a 'value'"];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return ["'value' must be a string, number or boolean"];
    return [];
  },
  prepare(column, params) {
    const value = String(params['value']);
    const problem = constantProblem(column.type, value);
    if (problem !== undefined) {
      throw new PgcloakError('RULES_SCHEMA', `${column.path}: constant ${problem} (column type ${column.type.display})`, {
        table: column.table,
        column: column.column,
      });
    }
    if (uncheckable(column.type)) column.warn(`${column.path}: constant not checked against type ${column.type.display}`);
    return { kind: 'constant', value };
  },
};
