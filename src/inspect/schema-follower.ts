// Follows a dump's schema as it streams, ahead of the masker in the same pipeline: a
// pass-through stage that learns each CREATE TABLE, type and partition and says when the
// data begins (a COPY, an INSERT). Since it sees every chunk before the masker does, what
// it knows is never behind what the masker is working on. Used by `mask --require-coverage`
// (coverage-guard.ts) and `mask --leak-check` (to know the types of masked columns).

import { Transform } from 'node:stream';
import { SqlScanner, type CopyDataMode, type ScannerHandler } from '../dump/sql-scanner.js';
import { nativeLineCounter } from '../engine/native.js';
import type { SourcePosition } from '../errors.js';
import { SchemaCatalog, type TableInfo } from '../schema/catalog.js';
import { firstKeyword } from './inspector.js';

const DDL_KEYWORDS = new Set(['CREATE', 'ALTER', 'COPY', 'SET', 'SELECT']);

export interface SchemaHooks {
  /** A CREATE TABLE was read. */
  onTable?(table: TableInfo): void;
  /** Data begins: a COPY statement or an INSERT. */
  onData?(): void;
  /** The input ended. */
  onEnd?(): void;
}

export class SchemaFollower implements ScannerHandler {
  readonly catalog = new SchemaCatalog();
  private readonly scanner = new SqlScanner(this, { lineCounter: nativeLineCounter() });
  private readonly hooks: SchemaHooks[] = [];

  addHooks(hooks: SchemaHooks): void {
    this.hooks.push(hooks);
  }

  write(chunk: Buffer): void {
    this.scanner.write(chunk);
  }

  end(): void {
    this.scanner.end();
    for (const h of this.hooks) h.onEnd?.();
  }

  emit(): void {
    // Only reads.
  }

  statement(text: Buffer, at: SourcePosition): CopyDataMode | undefined {
    const keyword = firstKeyword(text);
    if (keyword === 'INSERT') {
      for (const h of this.hooks) h.onData?.();
      return undefined;
    }
    if (!DDL_KEYWORDS.has(keyword)) return undefined;
    const learnt = this.catalog.learn(text.toString('utf8'), at);
    switch (learnt.kind) {
      case 'table':
        for (const h of this.hooks) h.onTable?.(learnt.table);
        return undefined;
      case 'standard_conforming_strings':
        this.scanner.setStandardConformingStrings(learnt.on);
        return undefined;
      case 'copy':
        for (const h of this.hooks) h.onData?.();
        return 'passthrough';
      default:
        return undefined;
    }
  }

  row(): void {
    // Never asked for: COPY data passes through.
  }

  copyEnd(): void {}

  /** A pass-through stage: each chunk is read, then handed on unchanged; an error stops it first. */
  transform(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        try {
          this.write(chunk);
          callback(null, chunk);
        } catch (err) {
          callback(err as Error);
        }
      },
      flush: (callback) => {
        try {
          this.end();
          callback();
        } catch (err) {
          callback(err as Error);
        }
      },
    });
  }
}
