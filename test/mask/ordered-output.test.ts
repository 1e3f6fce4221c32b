import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedOutput } from '../../src/engine/ordered-output.js';

/** A promise with its settle functions. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('OrderedOutput', () => {
  it('runs steps at once while nothing is pending', () => {
    const o = new OrderedOutput();
    const seen: string[] = [];
    o.then(() => seen.push('a'));
    expect(seen).toEqual(['a']);
    expect(o.idle).toBe(true);
  });

  it('runs everything in submission order, whatever order the batches finish in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
        async (kinds, order) => {
          const o = new OrderedOutput();
          const seen: number[] = [];
          const jobs: { resolve: (v: number) => void }[] = [];
          kinds.forEach((isJob, i) => {
            if (isJob) {
              const d = deferred<number>();
              jobs.push(d);
              o.job(d.promise, (v) => seen.push(v));
              void i;
            } else o.then(() => seen.push(i));
          });
          // Finish the batches in a shuffled order, each resolving with its own index.
          const indexes = kinds.flatMap((isJob, i) => (isJob ? [i] : []));
          const shuffled = jobs.map((j, k) => ({ j, v: indexes[k]!, key: order[k % order.length]! + k / 1000 })).sort((a, b) => a.key - b.key);
          for (const { j, v } of shuffled) {
            j.resolve(v);
            await Promise.resolve();
          }
          await o.waitUntil(0);
          expect(seen).toEqual(kinds.map((_, i) => i));
          expect(o.idle).toBe(true);
        },
      ),
    );
  });

  it('reports the first failure in order and runs nothing after it', async () => {
    const o = new OrderedOutput();
    const seen: string[] = [];
    const first = deferred<string>();
    const second = deferred<string>();
    o.job(first.promise, (v) => seen.push(v));
    o.then(() => seen.push('between'));
    o.job(second.promise, (v) => seen.push(v));
    o.then(() => seen.push('after'));
    second.reject(new Error('second'));
    await Promise.resolve();
    first.reject(new Error('first'));
    await expect(o.waitUntil(0)).rejects.toThrow('first');
    expect(seen).toEqual([]);
  });

  it('waitUntil(max) returns once at most max batches are pending', async () => {
    const o = new OrderedOutput();
    const ds = [deferred<number>(), deferred<number>(), deferred<number>()];
    for (const d of ds) o.job(d.promise, () => undefined);
    let done = false;
    const wait = o.waitUntil(1).then(() => (done = true));
    ds[0]!.resolve(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    ds[1]!.resolve(1);
    await wait;
    expect(o.pending).toBe(1);
    ds[2]!.resolve(2);
    await o.waitUntil(0);
    expect(o.idle).toBe(true);
  });
});
