// The explicit list of strategies: rules are checked against it, and the help text
// and README table come from it. A duplicate name is a programming error.
import { constantStrategy } from './constant.js';
import { emptyStrategy } from './empty.js';
import { hashStrategy } from './hash.js';
import { keepStrategy } from './keep.js';
import { nullStrategy } from './null.js';
import { placeholderStrategy } from './placeholder.js';
import { pseudonymStrategy } from './pseudonym.js';
import type { StrategyDefinition } from './strategy.js';
import { templateStrategy } from './template.js';

function buildRegistry(list: readonly StrategyDefinition[]): ReadonlyMap<string, StrategyDefinition> {
  const map = new Map<string, StrategyDefinition>();
  for (const s of list) {
    if (map.has(s.name)) throw new Error(`duplicate strategy name '${s.name}'`);
    map.set(s.name, s);
  }
  return map;
}

export const STRATEGIES = buildRegistry([
  placeholderStrategy,
  nullStrategy,
  emptyStrategy,
  constantStrategy,
  pseudonymStrategy,
  hashStrategy,
  templateStrategy,
  keepStrategy,
]);

/** A Markdown table of the strategies, for the README and `pgcloak strategies`. */
export function strategiesTable(): string {
  const rows = [...STRATEGIES.values()].map(
    (s) => `| \`${s.name}\` | ${s.description} | ${s.accepts} | ${s.parameters.map((p) => `\`${p.name}\`: ${p.description}`).join('; ') || '—'} |`,
  );
  return ['| strategy | what it writes | column types | parameters |', '|---|---|---|---|', ...rows].join('\n');
}
