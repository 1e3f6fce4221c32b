// The command line: a dispatcher to commands/ (each with its own options), and the only
// place that turns errors into messages (options shown as their flags, ./option-flags.ts)
// and exit codes.

import { setFlagsFromString } from 'node:v8';
import yargs from 'yargs';
import { EXIT_CODES, PgcloakError } from '../errors.js';
import { VERSION } from '../version.js';
// Each command's options are its own (commands/<name>.ts); what it runs is loaded when it
// runs: a mask need not load the database client or the leak scanner.
import { inspectCommandModule } from './commands/inspect.js';
import { keygenCommandModule } from './commands/keygen.js';
import { maskCommandModule } from './commands/mask.js';
import { scanCommandModule } from './commands/scan.js';
import { strategiesCommandModule } from './commands/strategies.js';
import { unmaskCommandModule } from './commands/unmask.js';
import { vaultCommandModule } from './commands/vault-info.js';
import { messageWithFlags } from './option-flags.js';
import { removeTempFiles } from './run-files.js';

// libpg-query is WebAssembly. V8 compiles it quickly (Liftoff), then recompiles the functions
// that get hot with TurboFan on background threads; the process waits for those compiles when
// it exits, and they take a core from the run while the schema is parsed. The parser only
// ever sees DDL, a small part of any dump, so the quick code is the better deal (figures in
// bench/RESULTS.md). Set for the CLI's process only: the library leaves V8 as its host
// configured it.
setFlagsFromString('--liftoff-only');
// V8 doubles a heap's young generation when much of it survives a scavenge, and keeps it: a
// long unmask's main thread grew its heap by half for nothing; not growing it cost no
// measurable time (bench/RESULTS.md). Read when a heap grows, so workers get it too.
setFlagsFromString('--semi-space-growth-factor=1');

/**
 * yargs lays out a command's whole help text before running it, to show it if the command
 * fails (most of a command's start-up, measuring string widths: bench/RESULTS.md); our fail
 * handler never shows help, so that layout is skipped. Through yargs' internal methods: if a
 * version lacks them, nothing changes but the time.
 */
function skipHelpCache(cli: unknown): void {
  const internal = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

/** Signals that stop a run, with their numbers: the exit code is 128 + the number, as a shell reports it. */
const STOP_SIGNALS = [
  ['SIGHUP', 1],
  ['SIGINT', 2],
  ['SIGTERM', 15],
] as const;

/**
 * A run stopped by a signal (Ctrl-C, `timeout`, a closed terminal) removes its temporary
 * files and the vault's lock: for unmask they hold originals (issue 18).
 */
function stopOnSignals(): void {
  for (const [signal, number] of STOP_SIGNALS) {
    process.once(signal, () => {
      const removed = removeTempFiles();
      process.stderr.write(`\npgcloak: stopped by ${signal}${removed > 0 ? ': its temporary files are removed, nothing was put in place' : ''}\n`);
      process.exit(128 + number);
    });
  }
}

let brokenPipeReported = false;

/** `pgcloak mask ... | head`: the reader stopped early. One line, exit IO, whenever it is noticed. */
function reportBrokenPipe(): number {
  if (!brokenPipeReported) {
    brokenPipeReported = true;
    process.stderr.write('pgcloak: IO: the output was closed before the end (EPIPE: whatever read it, such as head, stopped reading); the run stopped and put nothing in place\n');
  }
  return EXIT_CODES.IO;
}

/** stdout's errors after a command has written its last byte would otherwise end the process with a stack trace. */
function guardStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exitCode = reportBrokenPipe();
    else {
      process.stderr.write(`pgcloak: IO: cannot write standard output (${err.code ?? err.message})\n`);
      process.exitCode = EXIT_CODES.IO;
    }
  });
}

/**
 * An option that takes one value, given twice (`--vault a --vault b`): yargs makes it an
 * array, which would reach the command as a path "a,b", after all the work. Refused as
 * the arguments are read. Boolean flags given twice mean the same as once.
 */
function refuseRepeatedOptions(argv: Record<string, unknown>): void {
  const repeated = Object.entries(argv).filter(([name, value]) => name !== '_' && name !== '$0' && Array.isArray(value) && value.some((v) => typeof v !== 'boolean'));
  if (repeated.length === 0) return;
  // The long name as written (`key-file`), rather than an alias (`o`) or yargs' camel-case copy (`keyFile`).
  const [name, value] = repeated.find(([n]) => n.length > 1 && !/[A-Z]/.test(n)) ?? repeated[0]!;
  const values = value as unknown[];
  throw new PgcloakError('USAGE', `${name.length === 1 ? '-' : '--'}${name} is given ${values.length} times: it takes one value`);
}

export async function main(argv: string[]): Promise<number> {
  stopOnSignals();
  guardStdout();
  try {
    const cli = yargs(argv)
      .scriptName('pgcloak')
      .usage('$0 <command> [options]\n\nMask a PostgreSQL dump into typed placeholders, keep the originals in an encrypted vault, and reverse it.')
      .command(maskCommandModule)
      .command(unmaskCommandModule)
      .command(keygenCommandModule)
      .command(vaultCommandModule)
      .command(inspectCommandModule)
      .command(scanCommandModule)
      .command(strategiesCommandModule)
      .demandCommand(1, 'name a command: mask, unmask, inspect, scan, keygen, vault, strategies')
      .middleware((a) => refuseRepeatedOptions(a), true)
      .strict()
      .version(VERSION)
      .help()
      .alias('h', 'help')
      // Help text is laid out on every run (yargs caches it before a command runs): wrapped only when asked for.
      .wrap(argv.includes('--help') || argv.includes('-h') ? Math.min(110, process.stdout.columns || 100) : null)
      .fail((message, err) => {
        if (err) throw err;
        throw new PgcloakError('USAGE', message);
      });
    skipHelpCache(cli);
    await cli.parseAsync();
    return EXIT_CODES.OK;
  } catch (err) {
    if (err instanceof PgcloakError) {
      process.stderr.write(`pgcloak: ${messageWithFlags(err)}\n`);
      if (err.code === 'USAGE') process.stderr.write('pgcloak: see pgcloak --help\n');
      return EXIT_CODES[err.code];
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPIPE') return reportBrokenPipe();
    // A failed system call (a file that cannot be opened, a disk that is full): its message names the call and the path, never file content.
    if (typeof e.code === 'string' && typeof e.syscall === 'string') {
      process.stderr.write(`pgcloak: IO: ${e.message}\n`);
      return EXIT_CODES.IO;
    }
    process.stderr.write(`pgcloak: internal error: ${e.stack ?? String(err)}\n`);
    return EXIT_CODES.INTERNAL;
  }
}
