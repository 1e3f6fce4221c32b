// Run once by global-setup.ts: the public corpus vendored in fixtures/corpus (the scripts as
// their projects publish them) loaded into the test cluster and dumped again by its own
// pg_dump, in every form the suites read. Made here rather than committed: pg_dump writes
// them in seconds, and 25 MB of re-dumps would be most of the repository.
//
// Each database is dropped once dumped: the chinook script creates its own `chinook`, and
// the corpus suite runs that script again on a masked copy.

import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CorpusName, PgInfo, RedumpForm } from './global-setup.js';

const run = promisify(execFile);

/** The pg_dump options of each re-dump form, and the file or directory it is written to. */
export const REDUMP_FORMS: Record<RedumpForm, { args: string[]; file: (name: CorpusName) => string }> = {
  plain: { args: [], file: (name) => `${name}.plain.sql` },
  inserts: { args: ['--inserts'], file: (name) => `${name}.inserts.sql` },
  'column-inserts': { args: ['--column-inserts'], file: (name) => `${name}.column-inserts.sql` },
  custom: { args: ['-Fc'], file: (name) => `${name}.dump` },
  directory: { args: ['-Fd'], file: (name) => `${name}.dir` },
};

/** How each published script is loaded: into a new database, or run against postgres (it creates its own). */
const LOADS: Record<CorpusName, { scripts: string[]; createsItsDatabase: boolean }> = {
  pagila: { scripts: ['pagila-schema.sql', 'pagila-data.sql'], createsItsDatabase: false },
  chinook: { scripts: ['Chinook_PostgreSql.sql'], createsItsDatabase: true },
  northwind: { scripts: ['northwind.sql'], createsItsDatabase: false },
};

/** The client tools' environment: no stray PG* settings of the developer's. */
function clientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG')) env[name] = value;
  env.PGTZ = 'UTC';
  env.PGCLIENTENCODING = 'UTF8';
  return env;
}

async function tool(pg: PgInfo, file: string, args: string[]): Promise<void> {
  const argv = ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, ...args];
  try {
    await run(path.join(pg.bin, file), argv, { env: clientEnv(), maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`corpus set-up: ${file} ${args.join(' ')} failed: ${stderr.trim() || String(error)}`);
  }
}

const psql = (pg: PgInfo, db: string, args: string[]): Promise<void> => tool(pg, 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, ...args]);

async function redumpOne(pg: PgInfo, fixtures: string, out: string, name: CorpusName): Promise<void> {
  const load = LOADS[name];
  if (!load.createsItsDatabase) await psql(pg, 'postgres', ['-c', `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`]);
  for (const script of load.scripts) await psql(pg, load.createsItsDatabase ? 'postgres' : name, ['-f', path.join(fixtures, name, script)]);
  mkdirSync(path.join(out, name));
  // One form after another: the three databases already keep both cores busy.
  for (const form of Object.values(REDUMP_FORMS)) await tool(pg, 'pg_dump', ['-d', name, '-f', path.join(out, name, form.file(name)), ...form.args]);
  await psql(pg, 'postgres', ['-c', `DROP DATABASE ${name} WITH (FORCE)`]);
}

/** Loads every corpus database from `fixtures` and writes its re-dumps under `out/<name>/`. */
export async function redumpCorpus(pg: PgInfo, fixtures: string, out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  await Promise.all((Object.keys(LOADS) as CorpusName[]).map((name) => redumpOne(pg, fixtures, out, name)));
}
