// Where the suites find the public corpus (fixtures/corpus/README.md): the scripts as their
// projects publish them, vendored, and the re-dumps global-setup made of them with the test
// cluster's pg_dump (corpus-setup.ts). Both are there wherever PostgreSQL is: a missing file
// fails the suite that reads it, it is never a reason to skip.

import os from 'node:os';
import path from 'node:path';
import { describe, inject } from 'vitest';
import { repoRoot } from './cli.js';
import { REDUMP_FORMS } from './corpus-setup.js';
import type { CorpusName, RedumpForm } from './global-setup.js';

export const corpus = inject('corpus');

if (corpus === null) console.warn('PostgreSQL is not available, so neither are the corpus re-dumps: corpus suites are SKIPPED');

/** `describe` where the re-dumps were made (wherever the test cluster runs), skipped otherwise. */
export const describeWithCorpus = describe.skipIf(corpus === null);

export const CORPUS_FIXTURES = path.join(repoRoot, 'fixtures', 'corpus');

/** A script as its project publishes it (pagila-data.sql, Chinook_PostgreSql.sql, northwind.sql, …). */
export function publishedFile(name: CorpusName, file: string): string {
  return path.join(CORPUS_FIXTURES, name, file);
}

/**
 * The re-dump of a corpus database in one form: a file, or the directory of `-Fd`. Without
 * PostgreSQL a path that does not exist, for suites that are skipped then anyway.
 */
export function redumpFile(name: CorpusName, form: RedumpForm): string {
  const dir = corpus?.dir ?? path.join(os.tmpdir(), 'pgcloak-no-corpus-redumps-without-postgresql');
  return path.join(dir, name, REDUMP_FORMS[form].file(name));
}
