// `null`: every value becomes NULL. Refused for NOT NULL columns, whose dump would not restore.
import { PgcloakError } from '../errors.js';
import type { StrategyDefinition } from './strategy.js';

export const nullStrategy: StrategyDefinition = {
  name: 'null',
  description: 'replace every value with NULL',
  accepts: 'any nullable column',
  parameters: [],
  checkParams: () => [],
  distinctness: () => ({ kind: 'same', value: null, what: 'NULL' }),
  prepare(column) {
    if (column.notNull || column.type.notNull) {
      throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'null' on a NOT NULL column`, {
        table: column.table,
        column: column.column,
      });
    }
    return { kind: 'constant', value: null };
  },
};
