// Starts one throwaway PostgreSQL 15 cluster for the whole test run and hands its
// connection details to the test files through vitest's provide/inject.
//
// Environment:
//   PGCLOAK_PG_BIN     directory holding initdb, pg_ctl, psql, pg_dump
//                      (default /usr/lib/postgresql/15/bin)
//   PGCLOAK_PG_TMPDIR  where the cluster directory is created (default os.tmpdir());
//                      the postgres OS user must be able to reach it
//   PGCLOAK_PG_KEEP=1  leave the cluster directory behind after the run (for debugging)
//   PGCLOAK_REQUIRE_PG=1  binaries not found are an error, not skipped suites (CI sets it)
//
// It also loads the public corpus vendored in fixtures/corpus into the cluster and dumps it
// again in every form the suites read (corpus-setup.ts), handed over as `corpus`.
//
// When run as root the server runs as the `postgres` OS user (the server refuses root);
// otherwise it runs as the current user.

import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { redumpCorpus } from './corpus-setup.js';

export interface PgInfo {
  /** Directory of the PostgreSQL client and server binaries. */
  bin: string;
  /** Unix socket directory: pass as `-h` to the client tools. */
  host: string;
  port: number;
  user: string;
  /** Root of the throwaway cluster (data/, sock/, log). */
  dir: string;
}

export type CorpusName = 'pagila' | 'chinook' | 'northwind';
export type RedumpForm = 'plain' | 'inserts' | 'column-inserts' | 'custom' | 'directory';

export interface CorpusInfo {
  /** Where the re-dumps are: `<name>/<name>.plain.sql` and so on (corpus-setup.ts REDUMP_FORMS). */
  dir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg: PgInfo | null;
    /** The corpus re-dumps; null exactly when pg is (no PostgreSQL binaries). */
    corpus: CorpusInfo | null;
  }
}

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function setup(project: TestProject): Promise<() => void> {
  const bin = process.env.PGCLOAK_PG_BIN ?? DEFAULT_BIN;
  if (!existsSync(path.join(bin, 'initdb'))) {
    if (process.env.PGCLOAK_REQUIRE_PG === '1') {
      throw new Error(`PostgreSQL 15 binaries not found in ${bin}, and PGCLOAK_REQUIRE_PG=1: the integration suites must run`);
    }
    process.stderr.write(
      `\n*** PostgreSQL 15 binaries not found in ${bin}: integration suites are SKIPPED ` +
        `(set PGCLOAK_PG_BIN to the directory holding initdb) ***\n\n`,
    );
    project.provide('pg', null);
    project.provide('corpus', null);
    return () => {};
  }

  const asRoot = process.getuid?.() === 0;
  const runAsServerUser = (file: string, args: string[]): string => {
    const [cmd, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, file), ...args]]
      : [path.join(bin, file), args];
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() });
  };

  const dir = mkdtempSync(path.join(process.env.PGCLOAK_PG_TMPDIR ?? os.tmpdir(), 'pgcloak-pg-'));
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  const logFile = path.join(dir, 'log');
  mkdirSync(sockDir);
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    chownSync(sockDir, uid, gid);
  }

  let started = false;
  let stopped = false;
  const teardown = (): void => {
    if (stopped) return;
    stopped = true;
    if (started) {
      try {
        runAsServerUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      } catch (error) {
        process.stderr.write(`pgcloak integration: pg_ctl stop failed: ${errorText(error)}\n`);
      }
    }
    if (process.env.PGCLOAK_PG_KEEP === '1') {
      process.stderr.write(`pgcloak integration: cluster directory kept at ${dir}\n`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // If vitest is killed before it calls the teardown, still stop the server: an
  // orphaned postmaster would hold the directory and a port until reboot.
  process.once('exit', teardown);

  try {
    initCluster(runAsServerUser, dataDir);
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      `-k ${sockDir}`,
      `-c listen_addresses=''`,
      // A throwaway cluster: durability buys nothing and costs seconds per restore.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    try {
      runAsServerUser('pg_ctl', ['-D', dataDir, '-o', serverOptions, '-w', '-t', '60', '-l', logFile, 'start']);
    } catch (error) {
      throw new Error(`pg_ctl start failed: ${errorText(error)}\n--- server log ---\n${readLog(logFile)}`);
    }
    started = true;
    const info: PgInfo = { bin, host: sockDir, port, user: 'postgres', dir };
    process.stderr.write(`pgcloak integration: PostgreSQL cluster on ${sockDir} port ${port}\n`);
    project.provide('pg', info);
    // A failure here fails the run: the corpus suites are never skipped for want of their data.
    const corpusDir = path.join(dir, 'corpus');
    const corpusStarted = Date.now();
    await redumpCorpus(info, path.join(repoRoot, 'fixtures', 'corpus'), corpusDir);
    process.stderr.write(`pgcloak integration: the corpus loaded and dumped again in ${((Date.now() - corpusStarted) / 1000).toFixed(1)} s\n`);
    project.provide('corpus', { dir: corpusDir });
  } catch (error) {
    teardown();
    throw error;
  }

  return () => {
    process.removeListener('exit', teardown);
    teardown();
  };
}

function initCluster(run: (file: string, args: string[]) => string, dataDir: string): void {
  const base = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'];
  try {
    run('initdb', [...base, '--locale=C.UTF-8']);
  } catch (error) {
    // Minimal images may lack the C.UTF-8 locale; plain C sorts the same for our purposes.
    process.stderr.write(`pgcloak integration: initdb with C.UTF-8 failed, retrying with C: ${errorText(error)}\n`);
    rmSync(dataDir, { recursive: true, force: true });
    run('initdb', [...base, '--locale=C']);
  }
}

function postgresIds(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root but there is no `postgres` OS user to run the server as');
  }
}

/** The server and initdb must not pick up a developer's PG* settings. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PG')) env[name] = value;
  }
  env.LC_ALL = 'C';
  return env;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function errorText(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'stderr' in error) {
    const stderr = String((error as { stderr: unknown }).stderr).trim();
    if (stderr !== '') return stderr;
  }
  return error instanceof Error ? error.message : String(error);
}
