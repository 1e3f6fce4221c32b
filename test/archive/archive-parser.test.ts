// The custom-format byte state machine on its own: what it reads from pg_dump 15's archives,
// and that cutting the input anywhere (every split point of a small archive, one byte at a
// time through a larger one) changes nothing it reports.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ArchiveHandler, ArchiveParser } from '../../src/archive/archive-parser.js';
import { BLK_BLOBS, OFFSET_NO_DATA, OFFSET_POS_SET, version } from '../../src/archive/format.js';
import { createDatabase, describeWithPg, dropDatabase, psqlCommand, uniqueDatabaseName } from '../integration/pg.js';
import { describeWithCorpus } from '../integration/corpus-files.js';
import { CORPUS_ARCHIVES, pgTool } from './helpers.js';

/** Everything the parser reports, with each stream's and each block's bytes joined, as lines to compare. */
function events(bytes: Buffer, cuts: number[] | number): string[] {
  const log: string[] = [];
  let payload: Buffer[] = [];
  let payloadAt = -1;
  let raw: Buffer[] = [];
  const flushPayload = (): void => {
    if (payload.length > 0) log.push(`payload @${payloadAt} ${Buffer.concat(payload).toString('base64')}`);
    payload = [];
    payloadAt = -1;
  };
  const handler: ArchiveHandler = {
    header: (h) => log.push(`header ${h.raw.toString('hex')}`),
    tocEntry: (e) => log.push(`toc ${e.dumpId} @${e.offset} ${e.core.toString('hex')} ${e.dataState} ${e.dataOffset}`),
    tocEnd: (at) => log.push(`tocEnd ${at}`),
    blockStart: (type, entry, at) => log.push(`block ${type} ${entry.dumpId} @${at}`),
    lobStart: (oid, at) => {
      flushPayload();
      log.push(`lob ${oid} @${at}`);
    },
    payload: (b, at) => {
      if (payloadAt < 0) payloadAt = at;
      payload.push(Buffer.from(b));
    },
    streamEnd: (at) => {
      flushPayload();
      log.push(`streamEnd @${at}`);
    },
    raw: (b) => raw.push(Buffer.from(b)),
    blockEnd: (entry, at) => {
      log.push(`raw ${Buffer.concat(raw).toString('base64')}`);
      raw = [];
      log.push(`blockEnd ${entry.dumpId} @${at}`);
    },
    end: (length) => log.push(`end ${length}`),
  };
  const parser = new ArchiveParser(handler);
  if (typeof cuts === 'number') {
    for (let i = 0; i < bytes.length; i += cuts) parser.write(bytes.subarray(i, i + cuts));
  } else {
    let from = 0;
    for (const at of [...cuts, bytes.length]) {
      parser.write(bytes.subarray(from, at));
      from = at;
    }
  }
  parser.end();
  return log;
}

describeWithCorpus('custom archives of the corpus', () => {
  it('reads pagila: header fields, every TOC entry, every data block with an offset the TOC agrees with', () => {
    const bytes = readFileSync(CORPUS_ARCHIVES[0]!);
    const blocks: number[] = [];
    const parser = new ArchiveParser({ blockStart: (_t, entry, at) => (expect(entry.dataOffset).toBe(at), blocks.push(entry.dumpId)) }, 'custom', bytes.length);
    parser.write(bytes);
    parser.end();
    const h = parser.header!;
    expect(h.version).toBe(version(1, 14, 0));
    expect([h.intSize, h.offSize, h.format]).toEqual([4, 8, 1]);
    expect(h.compression).toEqual({ algorithm: 'gzip', level: -1 });
    expect(h.dbname).toBe('pagila');
    expect(h.dumpVersion).toMatch(/^15\./);
    expect(parser.toc).toHaveLength(217);
    const data = parser.toc.filter((e) => e.dataState !== OFFSET_NO_DATA);
    expect(data).toHaveLength(21); // `pg_restore -l pagila.dump | grep -c "TABLE DATA"`
    expect(data.every((e) => e.dataState === OFFSET_POS_SET && e.desc === 'TABLE DATA' && e.hadDumper)).toBe(true);
    expect(blocks).toEqual(data.map((e) => e.dumpId));
    const payment = parser.toc.find((e) => e.desc === 'TABLE DATA' && e.tag === 'payment_p2022_01')!;
    expect(payment.copyStmt).toBe('COPY public.payment_p2022_01 (payment_id, customer_id, staff_id, rental_id, amount, payment_date) FROM stdin;\n');
    expect(payment.namespace).toBe('public');
    expect(payment.owner).toBe('postgres');
    expect(payment.dependencies.length).toBeGreaterThan(0);
    expect(parser.toc.find((e) => e.desc === 'ENCODING')!.defn).toBe("SET client_encoding = 'UTF8';\n");
  });

  it('gives the same events when northwind comes one byte at a time', () => {
    const bytes = readFileSync(CORPUS_ARCHIVES[2]!);
    const whole = events(bytes, []);
    expect(whole.filter((l) => l.startsWith('block '))).toHaveLength(14);
    expect(events(bytes, 1)).toEqual(whole);
  });
});

describeWithPg('a small archive cut at every byte', () => {
  const db = uniqueDatabaseName('archive_tiny');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-archive-tiny-'));
  const archives: Record<string, Buffer> = {};

  beforeAll(() => {
    createDatabase(db);
    psqlCommand(
      db,
      `CREATE TABLE t (id int, v text);
       INSERT INTO t SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 60) i;
       CREATE TABLE "empty ""one""" (x int);
       SELECT lo_from_bytea(4242, 'a large object');`,
    );
    for (const [name, args] of [
      ['gzip', []],
      ['none', ['-Z0']],
    ] as const) {
      const file = path.join(dir, `${name}.dump`);
      pgTool('pg_dump', ['-Fc', ...args, '-f', file, '-d', db]);
      archives[name] = readFileSync(file);
    }
  });
  afterAll(() => {
    dropDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['gzip', 'none']) {
    it(`${name}: every split point, and single bytes, give the events of the whole`, () => {
      const bytes = archives[name]!;
      const whole = events(bytes, []);
      expect(whole.filter((l) => l.startsWith(`block ${BLK_BLOBS} `))).toHaveLength(1);
      expect(whole.some((l) => l.startsWith('lob 4242 '))).toBe(true);
      for (let at = 0; at <= bytes.length; at++) {
        const split = events(bytes, [at]);
        if (split.length !== whole.length || split.some((l, i) => l !== whole[i])) expect({ at, split }).toEqual({ at, split: whole });
      }
      expect(events(bytes, 1)).toEqual(whole);
      expect(events(bytes, 7)).toEqual(whole);
    });
  }
});
