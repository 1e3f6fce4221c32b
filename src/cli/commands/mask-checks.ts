// `mask --require-coverage` and `--leak-check`: loaded only when asked for (they bring
// the schema follower and the leak scanner with them).
import { WriteStream, createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CoverageGuard } from '../../inspect/coverage-guard.js';
import { SchemaFollower } from '../../inspect/schema-follower.js';
import { formatLeakReport } from '../../leaks/leak-report.js';
import { OriginalsCollector, OriginalsIndex, maskedColumnType } from '../../leaks/originals.js';
import { scanWithOriginals } from '../../leaks/scan.js';
import type { Input } from '../../engine/drive.js';
import type { MaskOptions } from '../../mask/run.js';
import type { RuleSet } from '../../rules/rules-file.js';
import { leaksFound } from './scan.js';

/** A chunk source as a Readable (its chunks copied: a stream stage may hold on to them). */
function asReadable(input: Input): Readable {
  if (input instanceof Readable) return input;
  return Readable.from(
    (async function* () {
      for (let c = await input.next(); c !== null; c = await input.next()) yield Buffer.from(c);
    })(),
    { objectMode: false },
  );
}

/**
 * --require-coverage and --leak-check: a stage ahead of the masker follows the schema (the
 * guard fails there, before the data of an uncovered table); the originals are gathered
 * as the vault receives them, and the output file is scanned for them once written,
 * before the vault is finished. An error leaves neither output nor vault behind.
 */
/** The options of mask that ask for these checks. */
export interface CheckArgs {
  requireCoverage?: boolean | undefined;
  leakCheck?: boolean | undefined;
  allowLeaks?: boolean | undefined;
  quiet?: boolean | undefined;
}

export function maskChecks(rules: RuleSet, args: CheckArgs, source: Input, output: Writable): Partial<MaskOptions> {
  if (!args.requireCoverage && !args.leakCheck) return {};
  const input = asReadable(source);
  const follower = new SchemaFollower();
  if (args.requireCoverage) new CoverageGuard(follower, rules);
  const stage = follower.transform();
  // Errors reach the masker's pipeline through the stage; this promise only must not go unhandled.
  pipeline(input, stage).catch(() => undefined);
  const checks: Partial<MaskOptions> = { input: stage };
  if (!args.leakCheck) return checks;
  const index = new OriginalsIndex();
  checks.originals = new OriginalsCollector(index, (table, column, display) => maskedColumnType(follower.catalog, table, column, display));
  checks.beforeFinish = async () => {
    if (!(output instanceof WriteStream)) throw new Error('--leak-check without an output file');
    const report = await scanWithOriginals(createReadStream(String(output.path)), index);
    if (report.places.length > 0 || !args.quiet) process.stderr.write(formatLeakReport('mask --leak-check', report));
    if (report.places.length > 0 && !args.allowLeaks) throw leaksFound(report.places.length, report.finds);
  };
  return checks;
}
