// What a column's mask is made from, as plain data: the strategy's name, its rule
// parameters and the column it applies to. The main thread prepares masks from it as the
// DDL streams by; worker threads (./workers) prepare the very same masks from a copy.

import { STRATEGIES } from '../strategies/registry.js';
import type { ColumnContext, ValueMask } from '../strategies/strategy.js';

export type ActiveMask = Exclude<ValueMask, { kind: 'keep' }>;

export interface MaskSpec {
  strategy: string;
  params: Readonly<Record<string, unknown>>;
  /** The column context without its callbacks and key; `masked` as a list. */
  column: Omit<ColumnContext, 'warn' | 'secret' | 'masked'> & { masked: readonly string[] };
}

/** The column's mask, or undefined for `keep`. */
export function prepareMask(spec: MaskSpec, warn: (message: string) => void, secret: Buffer | undefined): ActiveMask | undefined {
  const strategy = STRATEGIES.get(spec.strategy);
  if (!strategy) throw new Error(`unknown strategy ${spec.strategy}`);
  const mask = strategy.prepare({ ...spec.column, masked: new Set(spec.column.masked), warn, secret }, spec.params);
  return mask.kind === 'keep' ? undefined : mask;
}
