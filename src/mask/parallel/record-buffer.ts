// Vault row records serialized into a growable buffer, for the vault writer to append
// later as they are (rows masked on a worker thread, or on the main thread while earlier
// rows are still out on workers).

import { rowRecordSize, writeRowRecord, type FieldRef } from '../../vault/row-record.js';
import { ScratchBuffer } from '../byte-sink.js';
import type { RowRecorder } from '../masked-row.js';

export class RecordBuffer implements RowRecorder {
  private readonly records = new ScratchBuffer();
  readonly serialized = this.records;

  get length(): number {
    return this.records.length;
  }

  reset(): void {
    this.records.reset();
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    const r = this.records;
    r.reserve(rowRecordSize(tableIndex, ordinal, fields));
    r.length = writeRowRecord(r.bytes, r.length, tableIndex, ordinal, fields);
  }

  /** A view of the records so far; valid until the next row or reset. */
  view(): Buffer {
    return this.records.view();
  }

  /** The records so far, in a buffer of their own. */
  copy(): Uint8Array {
    return Uint8Array.from(this.records.view());
  }
}
