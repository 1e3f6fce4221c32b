// `mask --require-coverage` and `--leak-check`: loaded only when asked for (they bring the
// coverage guard and the leak scanner with them).
import { WriteStream, createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { CoverageGuard } from '../../inspect/coverage-guard.js';
import { formatLeakReport } from '../../leaks/leak-report.js';
import { OriginalsCollector, OriginalsIndex, maskedColumnType } from '../../leaks/originals.js';
import { scanWithOriginals } from '../../leaks/scan.js';
import type { MaskOptions } from '../../mask/run.js';
import type { RuleSet } from '../../rules/rules-file.js';
import type { SchemaCatalog } from '../../schema/catalog.js';
import { leaksFound } from './scan.js';

/** The options of mask that ask for these checks. */
export interface CheckArgs {
  requireCoverage?: boolean | undefined;
  leakCheck?: boolean | undefined;
  allowLeaks?: boolean | undefined;
  quiet?: boolean | undefined;
}

/**
 * --require-coverage and --leak-check follow the dump as the masker reads it, through its
 * statement router: the guard is told of each statement before the masker handles it (and
 * fails before the data of an uncovered table), and the originals are gathered as the vault
 * receives them, typed by the schema the masker learnt. The output file is scanned for them
 * once written, before the vault is finished. An error leaves neither output nor vault behind.
 */
export function maskChecks(rules: RuleSet, args: CheckArgs, output: Writable): Partial<MaskOptions> {
  if (!args.requireCoverage && !args.leakCheck) return {};
  let catalog: SchemaCatalog | undefined;
  const checks: Partial<MaskOptions> = {
    follow: (dump) => {
      catalog = dump.catalog;
      if (args.requireCoverage) dump.listen(new CoverageGuard(dump.catalog, rules));
    },
  };
  if (!args.leakCheck) return checks;
  const index = new OriginalsIndex();
  checks.originals = new OriginalsCollector(index, (table, column, display) => maskedColumnType(catalog!, table, column, display));
  checks.beforeFinish = async () => {
    if (!(output instanceof WriteStream)) throw new Error('--leak-check without an output file');
    const report = await scanWithOriginals(createReadStream(String(output.path)), index);
    if (report.places.length > 0 || !args.quiet) process.stderr.write(formatLeakReport('mask --leak-check', report));
    if (report.places.length > 0 && !args.allowLeaks) throw leaksFound(report.places.length, report.finds);
  };
  return checks;
}
