// `empty`: text becomes '', bytea (attachments) becomes empty, arrays become '{}'.
import { PgcloakError } from '../errors.js';
import type { StrategyDefinition } from './strategy.js';

export const emptyStrategy: StrategyDefinition = {
  name: 'empty',
  description: "replace every value with an empty one: '' for text and bytea, {} for arrays",
  accepts: 'text types, bytea, arrays',
  parameters: [],
  checkParams: () => [],
  prepare(column) {
    const kind = column.type.kind;
    if (kind === 'text' || kind === 'bytea') return { kind: 'constant', value: '' };
    if (kind === 'array') return { kind: 'constant', value: '{}' };
    throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'empty' does not fit type ${column.type.display}`, {
      table: column.table,
      column: column.column,
    });
  },
};
