// `empty`: text becomes '', bytea (attachments) becomes empty, arrays become '{}'.
import { PgcloakError } from '../errors.js';
import type { ResolvedType } from '../schema/types.js';
import type { StrategyDefinition } from './strategy.js';

/** The empty value of a type this strategy takes, in COPY text; undefined for the others. */
function emptyValue(type: ResolvedType): string | undefined {
  if (type.kind === 'text' || type.kind === 'bytea') return '';
  if (type.kind === 'array') return '{}';
  return undefined;
}

export const emptyStrategy: StrategyDefinition = {
  name: 'empty',
  description: "replace every value with an empty one: '' for text and bytea, {} for arrays",
  accepts: 'text types, bytea, arrays',
  parameters: [],
  checkParams: () => [],
  distinctness(type) {
    const value = emptyValue(type);
    return value === undefined ? undefined : { kind: 'same', value, what: value === '' ? 'empty' : value };
  },
  prepare(column) {
    const value = emptyValue(column.type);
    if (value !== undefined) return { kind: 'constant', value };
    throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'empty' does not fit type ${column.type.display}`, {
      table: column.table,
      column: column.column,
    });
  },
};
