// `keep`: the column passes through untouched; says so explicitly in the rules.
import type { StrategyDefinition } from './strategy.js';

export const keepStrategy: StrategyDefinition = {
  name: 'keep',
  description: 'leave the column as it is (documents a deliberate decision)',
  accepts: 'any type',
  parameters: [],
  checkParams: () => [],
  distinctness: () => ({ kind: 'kept' }),
  prepare: () => ({ kind: 'keep' }),
};
