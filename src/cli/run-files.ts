// The files a mask or unmask run writes, the output and the vault, and how they are put in
// place (issue 18: the vault is the only copy of the originals; never replace or lose it).
//
// Before any work: a file the run writes must differ from every file it names (same real
// path, or same device and inode: `./x`, symlinks and hard links are the same file); an
// existing vault is refused without --force; the vault is locked for the run by an
// exclusive create of `<vault>.lock` (holding the pid), so that a second run on it fails.
//
// Both are written to temporary files beside their targets (mode 0600: either can hold
// originals), and only once both are complete are they synced and renamed into place: the
// vault first, then the output. A vault that replaces one (--force) first gets the old one
// hard-linked to `<vault>.old`, so that when the output's rename fails the old vault is put
// back; a new vault is simply removed again. The old output is replaced by the very last
// rename, so any failure before it leaves it as it was. Whatever fails, the temporary files
// and the lock are removed, also on SIGINT, SIGTERM and SIGHUP (removeTempFiles, from main).

import {
  closeSync,
  constants,
  copyFileSync,
  createWriteStream,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { PgcloakError } from '../errors.js';
import { syncDirectory } from '../io/sync-directory.js';

/** A file named on the command line: `--rules` and its path (undefined: not given). */
export interface NamedFile {
  option: string;
  path: string | undefined;
}

export interface RunFilesOptions {
  /** --output (undefined: stdout). */
  output?: string | undefined;
  /** The vault this run writes (mask). */
  vault?: { path: string; force: boolean } | undefined;
  /** Every other file the run names: input, key files, rules, schema, map, a vault it reads. */
  reads: NamedFile[];
  /** The run reads standard input (no --input): it, too, must not be the output or the vault. */
  readsStdin: boolean;
}

/** Steps of commit() that the fault-injection suite makes fail (PGCLOAK_TEST_FAIL_AT). */
export type CommitStep = 'sync-output' | 'backup-vault' | 'rename-vault' | 'rename-output';

/** Temporary files and locks of this process, removed on a signal. */
const temporary = new Set<string>();

/** Removes every temporary file and lock of this process (a signal stops the run); how many there were. */
export function removeTempFiles(): number {
  const n = temporary.size;
  for (const path of temporary) unlinkQuietly(path);
  temporary.clear();
  return n;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}

function errno(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e?.message ?? err);
}

interface FileIdentity {
  /** The real path (symlinks resolved), or the real path of its directory and its name when it does not exist. */
  real: string;
  stats: Stats | undefined;
}

function identify(path: string): FileIdentity {
  const absolute = resolve(path);
  let stats: Stats | undefined;
  try {
    stats = statSync(absolute);
  } catch {
    stats = undefined;
  }
  try {
    return { real: stats ? realpathSync(absolute) : join(realpathSync(dirname(absolute)), basename(absolute)), stats };
  } catch {
    return { real: absolute, stats };
  }
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  if (a.real === b.real) return true;
  return a.stats !== undefined && b.stats !== undefined && a.stats.dev === b.stats.dev && a.stats.ino === b.stats.ino;
}

/** Standard input's identity when it is a file (`pgcloak mask < x.sql`), else undefined. */
function stdinIdentity(): FileIdentity | undefined {
  try {
    const stats = fstatSync(0);
    return stats.isFile() ? { real: '(standard input)', stats } : undefined;
  } catch {
    return undefined;
  }
}

/** The directory a new file goes into must exist. */
function checkDirectory(option: string, target: FileIdentity, given: string): void {
  const dir = dirname(target.real);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    throw new PgcloakError('IO', `cannot write ${option} ${given}: directory ${dirname(given)} does not exist`);
  }
  if (!st.isDirectory()) throw new PgcloakError('IO', `cannot write ${option} ${given}: ${dirname(given)} is not a directory`);
}

/** Test hook: PGCLOAK_TEST_FAIL_AT=<step> makes that step of commit() fail as a failed system call would. */
function step(name: CommitStep): void {
  if (process.env['PGCLOAK_TEST_FAIL_AT'] === name) {
    throw Object.assign(new Error(`EIO: i/o error (injected by PGCLOAK_TEST_FAIL_AT=${name})`), { code: 'EIO' });
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}


function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

interface OutputFile {
  given: string;
  target: string;
  /** undefined: written directly (a device or a pipe, as `-o /dev/null`), nothing to rename. */
  tmp: string | undefined;
  stream: WriteStream | undefined;
}

interface VaultFile {
  given: string;
  target: string;
  lock: string;
  staging: string;
  backup: string;
  force: boolean;
}

export class RunFiles {
  private readonly output: OutputFile | undefined;
  private readonly vault: VaultFile | undefined;
  private done = false;

  private constructor(output: OutputFile | undefined, vault: VaultFile | undefined) {
    this.output = output;
    this.vault = vault;
  }

  /** Checks the paths, locks the vault: before any work. */
  static prepare(options: RunFilesOptions): RunFiles {
    const named = options.reads.filter((f): f is { option: string; path: string } => f.path !== undefined).map((f) => ({ ...f, id: identify(f.path) }));
    const stdin = options.readsStdin ? stdinIdentity() : undefined;
    if (stdin) named.push({ option: 'standard input', path: '(standard input)', id: stdin });

    let vaultId: FileIdentity | undefined;
    if (options.vault) {
      const path = options.vault.path;
      vaultId = identify(path);
      for (const f of named) {
        if (sameFile(vaultId, f.id)) {
          throw new PgcloakError('USAGE', `--vault and ${f.option} name the same file (${path}): the vault would replace it; give the vault a path of its own (--force does not change this)`);
        }
      }
      if (options.output !== undefined && sameFile(vaultId, identify(options.output))) {
        throw new PgcloakError('USAGE', `--vault and --output name the same file (${path}): give each a path of its own`);
      }
      if (vaultId.stats?.isDirectory()) throw new PgcloakError('USAGE', `--vault ${path} is a directory: name a file`);
      if (vaultId.stats && !vaultId.stats.isFile()) throw new PgcloakError('USAGE', `--vault ${path} is not a regular file`);
      if (!vaultId.stats) checkDirectory('--vault', vaultId, path);
    }

    let output: OutputFile | undefined;
    if (options.output !== undefined) {
      const path = options.output;
      const id = identify(path);
      for (const f of named) {
        if (sameFile(id, f.id)) throw new PgcloakError('USAGE', `--output and ${f.option} name the same file (${path}): the output would replace it; write it elsewhere`);
      }
      if (vaultId) {
        const v = vaultId.real;
        if ([`${v}.lock`, `${v}.tmp`, `${v}.old`].includes(id.real)) throw new PgcloakError('USAGE', `--output ${path} is a name the vault's run uses (${basename(v)}.lock/.tmp/.old): write it elsewhere`);
      }
      if (id.stats?.isDirectory()) throw new PgcloakError('USAGE', `--output ${path} is a directory: name a file`);
      if (!id.stats) checkDirectory('--output', id, path);
      // A device or a pipe (-o /dev/null, -o /dev/stdout) is written as it is: renaming a file over it would replace it.
      const direct = id.stats !== undefined && !id.stats.isFile();
      output = { given: path, target: id.real, tmp: direct ? undefined : `${id.real}.tmp-${process.pid}`, stream: undefined };
    }

    const vault = options.vault && vaultId ? lockVault(options.vault.path, vaultId.real, options.vault.force) : undefined;
    return new RunFiles(output, vault);
  }

  /** Where the vault writer builds the vault (left there for commit()). */
  get vaultStaging(): string | undefined {
    return this.vault?.staging;
  }

  /** The output target as the user named it, for the summary. */
  get outputPath(): string | undefined {
    return this.output?.given;
  }

  /** The output stream: a temporary file (mode 0600) beside --output, the device itself, or stdout. */
  openOutput(): Writable {
    const output = this.output;
    if (!output) return process.stdout;
    if (output.stream) return output.stream;
    if (output.tmp === undefined) {
      output.stream = createWriteStream(output.target, { flags: 'w', highWaterMark: 256 * 1024 });
      return output.stream;
    }
    temporary.add(output.tmp);
    output.stream = createWriteStream(output.tmp, { flags: 'wx', mode: 0o600, highWaterMark: 256 * 1024 });
    return output.stream;
  }

  /**
   * Puts the finished output and vault in place. The output stream must be ended (its data
   * handed to the file) and the vault finished into vaultStaging (`vaultBytes` long).
   */
  commit(vaultBytes?: number): void {
    const output = this.output?.tmp !== undefined ? this.output : undefined;
    const vault = this.vault;
    try {
      if (output) {
        const written = output.stream?.bytesWritten ?? 0;
        step('sync-output');
        fsyncPath(output.tmp!);
        checkSize(output.tmp!, written, 'the output');
      }
      if (vault && vaultBytes !== undefined) checkSize(vault.staging, vaultBytes, 'the vault');
    } catch (err) {
      throw commitError(err, 'finish the output');
    }
    let replaced = false;
    if (vault) {
      try {
        replaced = existsNoFollow(vault.target);
        if (replaced && !vault.force) throw vaultExists(vault.given);
        if (replaced) {
          step('backup-vault');
          backUp(vault.target, vault.backup);
          temporary.add(vault.backup);
        }
        step('rename-vault');
        renameSync(vault.staging, vault.target);
        temporary.delete(vault.staging);
      } catch (err) {
        if (replaced) unlinkQuietly(vault.backup);
        throw commitError(err, `put the vault in place at ${vault.given}`);
      }
    }
    if (output) {
      try {
        step('rename-output');
        renameSync(output.tmp!, output.target);
        temporary.delete(output.tmp!);
      } catch (err) {
        const error = commitError(err, `put the output in place at ${output.given}`);
        if (vault) rollBackVault(vault, replaced, error);
        throw error;
      }
      syncDirectory(dirname(output.target));
    }
    if (vault) {
      syncDirectory(dirname(vault.target));
      if (replaced) {
        temporary.delete(vault.backup);
        unlinkQuietly(vault.backup);
      }
    }
    this.finishRun();
  }

  /** Drops what the run wrote and releases the vault: after an error. Safe to call more than once. */
  abort(): void {
    if (this.done) return;
    const output = this.output;
    if (output?.stream && output.tmp !== undefined) output.stream.destroy();
    if (output?.tmp !== undefined) {
      unlinkQuietly(output.tmp);
      temporary.delete(output.tmp);
    }
    if (this.vault) unlinkQuietly(this.vault.staging);
    this.finishRun();
  }

  private finishRun(): void {
    this.done = true;
    if (this.vault) {
      temporary.delete(this.vault.staging);
      unlinkQuietly(this.vault.lock);
      temporary.delete(this.vault.lock);
    }
  }
}

function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function checkSize(path: string, expected: number, what: string): void {
  const size = statSync(path).size;
  if (size !== expected) throw new PgcloakError('IO', `${what} on disk is ${size} bytes, not the ${expected} written (${path})`);
}

function commitError(err: unknown, action: string): PgcloakError {
  if (err instanceof PgcloakError) return err;
  const error = new PgcloakError('IO', `cannot ${action} (${reason(err)}); nothing was replaced`);
  error.cause = err;
  return error;
}

/** The old vault, kept under another name until the output is in place: a hard link, or a copy where links are not supported. */
function backUp(target: string, backup: string): void {
  try {
    linkSync(target, backup);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw err;
    copyFileSync(target, backup, constants.COPYFILE_EXCL);
    fsyncPath(backup);
  }
}

/** The output could not be put in place: the vault goes back to what it was. */
function rollBackVault(vault: VaultFile, replaced: boolean, error: PgcloakError): void {
  try {
    if (replaced) {
      renameSync(vault.backup, vault.target);
      temporary.delete(vault.backup);
    } else {
      unlinkSync(vault.target);
    }
  } catch (err) {
    // Said plainly: the user must know which file is which. The backup is not removed.
    temporary.delete(vault.backup);
    const where = replaced
      ? `the new vault is at ${vault.given} and the one it replaced at ${vault.given}.old: keep the old one (rename it back) unless you mean to use the new one`
      : `the new vault was left at ${vault.given}`;
    error.message += `; and the vault could not be put back (${reason(err)}): ${where}`;
  }
}

function vaultExists(given: string): PgcloakError {
  return new PgcloakError(
    'VAULT_EXISTS',
    `vault ${given} exists already: it may be the only way back to the originals of a dump masked earlier. Give a new --vault path, or --force to replace it`,
  );
}

/** Takes the vault's lock, then checks it may be written; the lock is released on any error. */
function lockVault(given: string, target: string, force: boolean): VaultFile {
  const vault: VaultFile = { given, target, lock: `${target}.lock`, staging: `${target}.tmp`, backup: `${target}.old`, force };
  let fd: number;
  try {
    fd = openSync(vault.lock, 'wx', 0o600);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw lockedError(given, vault.lock);
    throw new PgcloakError('IO', `cannot create the lock file ${vault.lock} (${reason(err)})`);
  }
  temporary.add(vault.lock);
  try {
    try {
      writeSync(fd, `${process.pid} ${hostname()} ${new Date().toISOString()}\n`);
    } finally {
      closeSync(fd);
    }
    if (existsNoFollow(vault.backup)) {
      throw new PgcloakError(
        'VAULT_LOCKED',
        `${given}.old exists: a run that replaced ${given} was stopped before it finished, and it holds the vault ${given} had before. Keep the one you need (rename it to ${given}) and remove the other, then run again`,
      );
    }
    if (existsNoFollow(target) && !force) throw vaultExists(given);
    // Under the lock, a staging file can only be left from a run that was killed: its output was never put in place either.
    unlinkQuietly(vault.staging);
    temporary.add(vault.staging);
  } catch (err) {
    unlinkQuietly(vault.lock);
    temporary.delete(vault.lock);
    temporary.delete(vault.staging);
    throw err instanceof PgcloakError ? err : new PgcloakError('IO', `cannot lock the vault ${given} (${reason(err)})`);
  }
  return vault;
}

function lockedError(given: string, lock: string): PgcloakError {
  let text = '';
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    // gone since, or unreadable: said below without the details
  }
  const [pidText, host, since] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) {
    return new PgcloakError('VAULT_LOCKED', `vault ${given} is being written by another pgcloak run (lock file ${lock}); if no such run is going, remove ${lock} and run again`);
  }
  const here = host === hostname();
  if (here && !pidAlive(pid)) {
    return new PgcloakError(
      'VAULT_LOCKED',
      `vault ${given} is locked by pgcloak run ${pid} (since ${since}), which is no longer running: it was killed before it could clean up. If no other run is writing ${given}, remove ${lock} and run again (the *.tmp-${pid} file it left beside its output, if any, can go too)`,
    );
  }
  return new PgcloakError(
    'VAULT_LOCKED',
    `vault ${given} is being written by another pgcloak run (pid ${pid}${here ? '' : ` on ${host}`}, since ${since}; lock file ${lock}): wait for it to end, or give another --vault`,
  );
}
