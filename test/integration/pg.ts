// Helpers for tests that talk to the throwaway cluster started by global-setup.ts.
// Everything goes through the real client binaries (psql, pg_dump) over the Unix
// socket, as a user would run them.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, inject } from 'vitest';
import type { PgInfo } from './global-setup.js';

export const pg: PgInfo | null = inject('pg');

if (pg === null) {
  console.warn('PostgreSQL is not available: integration suites using describeWithPg are SKIPPED');
}

export const pgAvailable = pg !== null;

/** `describe` when the test cluster is running, skipped otherwise. */
export const describeWithPg = describe.skipIf(!pgAvailable);

// Field and record separators for query output: ASCII unit and record separators
// never occur in the test data, unlike tabs and newlines.
const FIELD_SEPARATOR = '\x1f';
const RECORD_SEPARATOR = '\x1e';
/** How queryRows shows SQL NULL (psql would otherwise print it as an empty string). */
export const NULL_TEXT = '\u2400';

const MAX_BUFFER = 1024 * 1024 * 1024;

function connection(): PgInfo {
  if (pg === null) throw new Error('the PostgreSQL test cluster is not running');
  return pg;
}

/** Client environment: no stray PG* settings, UTC so timestamptz output is stable. */
function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PG')) env[name] = value;
  }
  env.PGTZ = 'UTC';
  env.PGCLIENTENCODING = 'UTF8';
  return env;
}

function connectionArgs(db: string): string[] {
  const { host, port, user } = connection();
  return ['-h', host, '-p', String(port), '-U', user, '-d', db];
}

function run(tool: string, args: string[], input?: string): string {
  const file = path.join(connection().bin, tool);
  const result = spawnSync(file, args, {
    env: clientEnv(),
    maxBuffer: MAX_BUFFER,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited with ${result.status}:\n${result.stderr}`);
  }
  return result.stdout;
}

/** Double-quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL (standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A database name no other test file will pick: test files share the cluster and run in parallel. */
export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function createDatabase(name: string): void {
  psqlCommand('postgres', `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`);
}

export function dropDatabase(name: string): void {
  psqlCommand('postgres', `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Runs a SQL file; with onErrorStop (the default) the first error aborts and throws with psql's stderr. */
export function psqlFile(db: string, file: string, options: { onErrorStop?: boolean } = {}): string {
  const onErrorStop = options.onErrorStop ?? true;
  return run('psql', ['-X', '-v', `ON_ERROR_STOP=${onErrorStop ? 1 : 0}`, '-q', ...connectionArgs(db), '-f', file]);
}

/** Runs SQL given as a string, stopping at the first error. */
export function psqlCommand(db: string, sql: string): string {
  return run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-q', ...connectionArgs(db)], sql);
}

/**
 * Rows of a single query as text, exactly as PostgreSQL outputs each value, with
 * NULL shown as NULL_TEXT. Values may hold tabs and newlines.
 */
export function queryRows(db: string, sql: string): string[][] {
  const out = run(
    'psql',
    [
      '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-A', '-t',
      '-F', FIELD_SEPARATOR, '-R', RECORD_SEPARATOR, '-P', `null=${NULL_TEXT}`,
      ...connectionArgs(db),
    ],
    // Over stdin, not -c: the query may be long and contain anything.
    sql,
  );
  // No rows print nothing at all; otherwise psql ends the last record with a newline
  // instead of the record separator (so one empty value prints as "\n").
  if (out === '') return [];
  const body = out.endsWith('\n') ? out.slice(0, -1) : out;
  return body.split(RECORD_SEPARATOR).map((record) => record.split(FIELD_SEPARATOR));
}

/** The single value of a one-row, one-column query. */
export function queryValue(db: string, sql: string): string {
  const rows = queryRows(db, sql);
  const value = rows[0]?.[0];
  if (rows.length !== 1 || rows[0]?.length !== 1 || value === undefined) {
    throw new Error(`expected one value from ${sql}, got ${JSON.stringify(rows)}`);
  }
  return value;
}

/** Plain-format pg_dump of a database to a file. */
export function pgDump(db: string, outFile: string, extraArgs: string[] = []): void {
  run('pg_dump', [...connectionArgs(db), '-f', outFile, ...extraArgs]);
}

/** The path of a PostgreSQL client binary of the test cluster (pg_restore, …). */
export function pgBinary(tool: string): string {
  return path.join(connection().bin, tool);
}

/** A connection URL for `pgcloak unmask --db`, over the test cluster's socket. */
export function databaseUrl(db: string): string {
  const { host, port, user } = connection();
  return `postgresql://${user}@/${encodeURIComponent(db)}?host=${encodeURIComponent(host)}&port=${port}`;
}
