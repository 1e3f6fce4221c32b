// Vault row records serialized into a growable buffer, for the vault writer to append
// later as they are (rows masked on a worker thread, or on the main thread while earlier
// rows are still out on workers).

import { rowRecordSize, writeRowRecord, type FieldRef } from '../../vault/row-record.js';
import type { RowRecorder } from '../masked-row.js';

export class RecordBuffer implements RowRecorder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  reset(): void {
    this.length = 0;
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    const size = rowRecordSize(tableIndex, ordinal, fields);
    if (this.length + size > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + size));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length = writeRowRecord(this.buf, this.length, tableIndex, ordinal, fields);
  }

  /** A view of the records so far; valid until the next row or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** The records so far, in a buffer of their own. */
  copy(): Uint8Array {
    const c = new Uint8Array(this.length);
    c.set(this.buf.subarray(0, this.length));
    return c;
  }
}
