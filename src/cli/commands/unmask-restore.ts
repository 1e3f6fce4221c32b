// `pgcloak unmask` into a database rather than back into the masked dump:
//   --sql          a SQL script for psql that restores the originals (to --output or stdout)
//   --db URL       the same, applied directly in one transaction (--dry-run: report, roll back)
//   --by-key       the input is a dump of the migrated database: restore by key, not by position
// with --map FILE (renames between the masked schema and the migrated one) and --force
// (overwrite values edited since masking).

import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { PgcloakError } from '../../errors.js';
import { applyToDatabase, type ApplyProgress } from '../../unmask/db-apply.js';
import { unmaskDumpByKey, type ByKeyUnmasker } from '../../unmask/dump-by-key.js';
import { NO_MIGRATION, parseMigrationMap, type MigrationMap } from '../../unmask/migration-map.js';
import { writeRestoreScript } from '../../unmask/sql-script.js';
import type { KeySource } from '../../vault/key.js';
import { openInput, readTextFile } from '../io.js';
import { warn } from '../report.js';
import { RestoreProgress, printRestoreSummary } from '../restore-summary.js';
import type { RunFiles } from '../run-files.js';

export interface RestoreArgs {
  vault: string;
  keySource: KeySource;
  /** The Ed25519 public key that must have signed the vault (`--verify`). */
  verify?: Buffer | undefined;
  sql?: boolean | undefined;
  db?: string | undefined;
  byKey?: boolean | undefined;
  map?: string | undefined;
  force?: boolean | undefined;
  fireTriggers?: boolean | undefined;
  dryRun?: boolean | undefined;
  input?: string | undefined;
  /** --output, checked (unmask.ts): where the script or the restored dump goes. */
  files: RunFiles;
  quiet?: boolean | undefined;
  json?: boolean | undefined;
}

/** Whether these arguments ask for a reversal into a database (or by key); checks their combination. */
export function wantsRestore(args: Omit<RestoreArgs, 'keySource' | 'vault' | 'files' | 'verify'> & { output?: string | undefined }): boolean {
  const modes = [args.sql && '--sql', args.db !== undefined && '--db', args.byKey && '--by-key'].filter((m) => typeof m === 'string');
  if (modes.length > 1) throw new PgcloakError('USAGE', `give one of ${modes.join(', ')}`);
  const mode = modes[0];
  if (mode === undefined) {
    const stray = [args.map !== undefined && '--map', args.force && '--force', args.dryRun && '--dry-run', args.fireTriggers && '--fire-triggers'].filter((m) => typeof m === 'string');
    if (stray.length > 0) throw new PgcloakError('USAGE', `${stray.join(', ')} go(es) with --sql, --db or --by-key`);
    return false;
  }
  if (args.dryRun && mode === '--by-key') throw new PgcloakError('USAGE', '--dry-run goes with --db or --sql');
  if (args.fireTriggers && mode === '--by-key') throw new PgcloakError('USAGE', '--fire-triggers goes with --db or --sql');
  if (mode !== '--by-key' && args.input !== undefined) throw new PgcloakError('USAGE', `${mode} reads only the vault: no --input`);
  if (mode === '--db' && args.output !== undefined) throw new PgcloakError('USAGE', '--db writes into the database: no --output');
  return true;
}

function loadMap(path: string | undefined): MigrationMap {
  if (path === undefined) return NO_MIGRATION;
  const text = readTextFile(path, 'migration map');
  return parseMigrationMap(text);
}

export async function restoreCommand(args: RestoreArgs): Promise<void> {
  const map = loadMap(args.map);
  const vault = { path: args.vault, keySource: args.keySource, verify: args.verify };
  const force = args.force ?? false;
  const dryRun = args.dryRun ?? false;
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  const progress = args.quiet ? undefined : new RestoreProgress('unmask');
  try {
    if (args.db !== undefined) {
      const report = await applyToDatabase({
        vault,
        map,
        connectionString: args.db,
        onWarning: warn,
        force,
        fireTriggers: args.fireTriggers ?? false,
        dryRun,
        onProgress: (p) => progress?.show(describeProgress(p)),
      });
      progress?.stop();
      if (!args.quiet) {
        const title = `pgcloak unmask --db: ${dryRun ? 'dry run: every change rolled back' : 'committed in one transaction'}`;
        printRestoreSummary(title, report, { seconds: seconds() }, args.json ?? false);
      }
      return;
    }
    const files = args.files;
    const outputPath = files.outputPath;
    const output = files.openOutput();
    try {
      if (args.sql) {
        const result = await writeRestoreScript({
          vault,
          map,
          output,
          onWarning: warn,
          force,
          fireTriggers: args.fireTriggers ?? false,
          dryRun,
          onProgress: (done, total, table) => progress?.show(`${done}/${total} rows ${table}`),
        });
        await endOutput(output, outputPath);
        files.commit();
        progress?.stop();
        if (!args.quiet) {
          const where = outputPath ?? '(stdout)';
          const title = `pgcloak unmask --sql: script written to ${where}: ${result.rows} row(s) of originals; apply with psql -v ON_ERROR_STOP=1 -f ${outputPath ?? 'SCRIPT'} DBNAME (it prints the counts)`;
          printRestoreSummary(title, { ...result, tables: result.tables.filter((t) => t.status !== 'restore') }, { bytes: result.bytesOut, seconds: seconds() }, args.json ?? false);
        }
        return;
      }
      const input = openInput(args.input);
      let core: ByKeyUnmasker | undefined;
      const timer = progress ? setInterval(() => core && progress.show(`${core.bytesIn} bytes${core.currentTable ? ` ${core.currentTable}` : ''}`), 250) : undefined;
      timer?.unref();
      try {
        const result = await unmaskDumpByKey({ input: input.stream, output, vault, map, force, onWarning: warn, onStart: (c) => (core = c) });
        await endOutput(output, outputPath);
        files.commit();
        progress?.stop();
        if (!args.quiet) {
          const title = `pgcloak unmask --by-key: ${outputPath ?? '(stdout)'}: values put back by key`;
          printRestoreSummary(title, result, { bytesIn: result.bytesIn, bytesOut: result.bytesOut, vaultRereads: result.vaultRereads, seconds: seconds() }, args.json ?? false);
        }
      } finally {
        if (timer) clearInterval(timer);
      }
    } catch (err) {
      files.abort();
      throw err;
    }
  } finally {
    progress?.stop();
  }
}

function describeProgress(p: ApplyProgress): string {
  if (p.phase === 'load') {
    const pct = p.rowsTotal > 0 ? ` (${Math.floor((100 * p.rowsDone) / p.rowsTotal)}%)` : '';
    return `loading originals ${p.rowsDone}/${p.rowsTotal} rows${pct} ${p.table}`;
  }
  return `${p.phase === 'match' ? 'matching' : 'updating'} table ${p.tablesDone + 1}/${p.tablesTotal} ${p.table}`;
}

/** A file output must be flushed before it is renamed into place; stdout is left open. */
async function endOutput(output: Writable, path: string | undefined): Promise<void> {
  if (path === undefined || output.writableEnded) return;
  output.end();
  await finished(output);
}
