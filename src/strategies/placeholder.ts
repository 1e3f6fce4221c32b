// `placeholder`: the typed placeholders of OpenERP's anonymization module, chosen so
// that the masked dump always restores: text → xxx<row key>, numbers → 1 or 0,
// dates → 2011-11-11, bytea → empty, json keeps its shape, arrays keep their length.
import { createHash } from 'node:crypto';
import { PgcloakError } from '../errors.js';
import type { ResolvedType } from '../schema/types.js';
import { mapArrayLiteral } from '../copy/array-literal.js';
import { maskJsonShape } from '../copy/json-shape.js';
import { fitPlaceholderText } from './text-fit.js';
import type { ColumnContext, Distinctness, RowContext, StrategyDefinition, ValueMask } from './strategy.js';

/** Constant placeholders by type kind. */
const CONSTANT_PLACEHOLDERS: Partial<Record<ResolvedType['kind'], string>> = {
  integer: '1',
  numeric: '0',
  boolean: 'false',
  date: '2011-11-11',
  timestamp: '2011-11-11 11:11:11',
  timestamptz: '2011-11-11 11:11:11+00',
  time: '11:11:11',
  timetz: '11:11:11+00',
  interval: '0',
  bytea: '',
  inet: '192.0.2.1', // TEST-NET-1, RFC 5737
  cidr: '192.0.2.0/24',
  macaddr: '00:00:5e:00:53:00', // documentation range, RFC 7042
  macaddr8: '00:00:5e:ff:fe:00:53:00',
};

/** A valid (version 8, RFC 9562) uuid derived from the row key: unique per row, reveals nothing. */
export function uuidFromKey(key: string): string {
  const h = createHash('sha256').update('pgcloak-uuid\0').update(key).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function placeholderMask(column: ColumnContext, type: ResolvedType): ValueMask {
  const constant = CONSTANT_PLACEHOLDERS[type.kind];
  if (constant !== undefined) return { kind: 'constant', value: constant };
  switch (type.kind) {
    case 'text': {
      let warned = false;
      const cut = (): void => {
        if (warned) return;
        warned = true;
        column.warn(`${column.path}: row keys are longer than ${type.display}: placeholders cut to fit may repeat`);
      };
      return { kind: 'row', derive: (row: RowContext) => fitPlaceholderText(row.key(), type.maxLength, cut), keyText: { maxLength: type.maxLength } };
    }
    case 'enum': {
      const first = type.labels?.[0];
      if (first === undefined) break;
      return { kind: 'constant', value: first };
    }
    case 'uuid':
      return { kind: 'row', derive: (row) => uuidFromKey(row.key()) };
    case 'json':
    case 'jsonb':
      return { kind: 'value', derive: (value, row) => maskJsonShape(value, () => `xxx${row.key()}`), jsonKeyText: true };
    case 'array': {
      if (!type.element) break;
      const element = placeholderMask(column, type.element);
      switch (element.kind) {
        case 'constant': {
          const v = element.value ?? '';
          return { kind: 'value', derive: (value) => mapArrayLiteral(value, () => v) };
        }
        case 'row':
          return { kind: 'value', derive: (value, row) => mapArrayLiteral(value, () => element.derive(row)) };
        case 'value':
          return { kind: 'value', derive: (value, row) => mapArrayLiteral(value, (e) => element.derive(e, row)) };
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
  throw new PgcloakError(
    'TYPE_UNSUPPORTED',
    `${column.path}: no safe placeholder for type ${column.type.display}; choose another strategy (null, constant, keep)`,
    { table: column.table, column: column.column },
  );
}

/**
 * What placeholderMask writes, as Distinctness: the constants of CONSTANT_PLACEHOLDERS and an
 * enum's first label are the same in every row; text (xxx<key>), uuid and json (their strings
 * xxx<key>) are made from the row key. A json value without a string keeps only its shape
 * (numbers 0, booleans false), which other rows may share: taken as per row all the same, since
 * a key over such json is rare and flagging every json key would be noise.
 */
export function placeholderDistinctness(type: ResolvedType): Distinctness | undefined {
  const constant = CONSTANT_PLACEHOLDERS[type.kind];
  if (constant !== undefined) return { kind: 'same', value: constant, what: constant === '' ? 'empty' : constant };
  switch (type.kind) {
    case 'text':
    case 'uuid':
    case 'json':
    case 'jsonb':
      return { kind: 'row' };
    case 'enum': {
      const first = type.labels?.[0];
      return first === undefined ? undefined : { kind: 'same', value: first, what: first };
    }
    case 'array': {
      const element = type.element ? placeholderDistinctness(type.element) : undefined;
      // Each element replaced: arrays of one length become the same.
      if (element?.kind === 'same') return { kind: 'same', value: undefined, what: `an array of ${element.what} of the same length` };
      return element;
    }
    default:
      return undefined;
  }
}

export const placeholderStrategy: StrategyDefinition = {
  name: 'placeholder',
  description:
    'typed placeholder: text xxx<key>, integers 1, numeric 0, boolean false, dates 2011-11-11, bytea empty, json same shape, arrays same length, enum first label, uuid from key, inet 192.0.2.1',
  accepts: 'text, numbers, boolean, date/time types, interval, bytea, json/jsonb, arrays of these, enums, uuid, inet/cidr, macaddr',
  parameters: [],
  checkParams: () => [],
  distinctness: (type) => placeholderDistinctness(type),
  prepare: (column) => placeholderMask(column, column.type),
};
