// The row kernel in JavaScript (./row-kernel.ts): COPY text batches through ./copy-kernel.ts,
// INSERT runs and restoring row by row. What every run has; the native kernel hands it the
// rows it leaves.

import { CopyKernel } from './copy-kernel.js';
import { eachInsertRow } from './masked-row.js';
import type { RowKernel } from './row-kernel.js';

export const JS_ROW_KERNEL: RowKernel = {
  name: 'JavaScript',
  masksInsertRuns: false,
  maskBatch(rm, shape, buf, start, end, ordinal, line, offset, out, records, general) {
    return CopyKernel.for(rm)!.maskBatch(shape, buf, start, end, ordinal, line, offset, out, records, general);
  },
  maskInserts(rm, _shape, buf, rows, ordinal, offsetBase, out, _records, general) {
    return eachInsertRow(rm, buf, 0, buf.length, rows, offsetBase, out, (rowStart, rowEnd, at) => general(rowStart, rowEnd, ++ordinal, at));
  },
  restoreBatch(restorer, buf, start, end, records, ordinal, line, offset, out) {
    return restorer.restoreBatch(buf, start, end, records, ordinal, line, offset, out);
  },
  restoreInserts(restorer, buf, start, end, rows, ordinal, offsetBase, records, out) {
    return restorer.restoreInsertRows(buf, start, end, rows, ordinal, offsetBase, records, out);
  },
  lineCounter: undefined,
  recordSkipper: undefined,
  insertWalker: undefined,
};
