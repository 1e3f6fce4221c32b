// The layout of src/ shows the architecture (shared/STYLE.md): each layer imports only from
// the layers below it, mask, unmask, leaks and inspect never import each other, and nothing
// imports itself back. The same check run over fixtures/layering, a fake tree that breaks
// each of those rules, shows that it can fail.
import { describe, expect, it } from 'vitest';
import { cycles, importsOf, layeringProblems, SRC_LAYERS } from './layering.js';

describe('the layering of src/', () => {
  it('has no import cycle and no import that goes up a layer or across peers', () => {
    expect(layeringProblems('src', SRC_LAYERS)).toEqual([]);
  });

  it('reads the imports it checks: static, type-only, re-exports and dynamic ones', () => {
    const { files, imports } = importsOf('src');
    expect(files.length).toBeGreaterThan(100);
    const has = (from: string, to: string): boolean => imports.some((i) => i.from === from && i.to === to);
    expect(has('cli/main.ts', 'cli/commands/mask.ts')).toBe(true); // import() of a command
    expect(has('index.ts', 'mask/run.ts')).toBe(true); // export ... from
    expect(has('engine/workers/messages.ts', 'errors.ts')).toBe(true); // import type
  });
});

describe('the layering check', () => {
  it('fails on a cycle, an import up a layer, peers importing each other, a folder in no layer and a missing file', () => {
    expect(layeringProblems('fixtures/layering/src', SRC_LAYERS)).toEqual([
      'plugins/extra.ts: plugins is in no layer',
      'dump/scanner.ts imports engine/a.ts: up from dump (layer 2) to engine (layer 5)',
      'mask/run.ts imports unmask/run.ts: mask and unmask are peers, which never import each other',
      'unmask/run.ts imports engine/missing.ts, which is not a source file here',
      'import cycle among: engine/a.ts, engine/b.ts',
    ]);
  });

  it('finds folders of one layer that import each other in a circle', () => {
    const layers = [{ members: ['errors.ts', 'dump', 'engine', 'mask', 'unmask', 'cli'] }, { members: ['plugins'] }];
    expect(layeringProblems('fixtures/layering/src', layers)).toContain('folders of one layer import each other in a circle: dump, engine');
  });

  it('finds every circle of a graph, and no other', () => {
    const edges = new Map<string, Set<string>>([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set(['d'])],
      ['e', new Set(['a'])],
    ]);
    expect(cycles(['a', 'b', 'c', 'd', 'e'], edges)).toEqual([['d'], ['a', 'b', 'c']]);
  });
});
