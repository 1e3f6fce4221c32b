// Runs the built CLI (bin/pgcloak.js → dist/) as a user would, in a child process.
// `npm test` builds dist/ before vitest runs.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binPath = path.join(repoRoot, 'bin', 'pgcloak.js');

export interface PgcloakResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface PgcloakOptions {
  /** stdin: the bytes themselves, or the path of a file to connect to stdin. */
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
}

export function runPgcloak(args: string[], options: PgcloakOptions = {}): PgcloakResult {
  if (!existsSync(binPath) || !existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error(`the CLI is not built (${binPath} or dist/cli/main.js missing): run \`npm test\` or \`npm run build\``);
  }
  const { input, env } = options;
  // A file path is passed as a file descriptor, so large dumps stream instead of sitting in memory twice.
  const stdinFd = typeof input === 'string' ? openSync(input, 'r') : undefined;
  try {
    const result = spawnSync(process.execPath, [binPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
      ...(Buffer.isBuffer(input) ? { input } : {}),
      maxBuffer: 1024 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
  } finally {
    if (stdinFd !== undefined) closeSync(stdinFd);
  }
}

/** Message for a failed expectation on a CLI run: what ran and what it said. */
export function describeRun(args: string[], result: PgcloakResult): string {
  return `pgcloak ${args.join(' ')} → exit ${result.status}\n${result.stderr}`;
}

/** Runs the CLI and throws, with its stderr, unless it exits 0. */
export function runPgcloakOk(args: string[], options: PgcloakOptions = {}): PgcloakResult {
  const result = runPgcloak(args, options);
  if (result.status !== 0) throw new Error(`expected success: ${describeRun(args, result)}`);
  return result;
}
