// The layers of src/ (shared/STYLE.md, "A layout that shows the architecture"), as data, and
// the check that keeps them true: every import of a source file (static, type-only,
// re-export or dynamic import()) goes to its own folder or to a lower layer; folders of one
// layer import each other only where the layer allows it, and never in a circle; peers
// (mask, unmask, leaks, inspect) never import each other; and no file imports itself back
// through others (an import cycle). Read from the TypeScript sources, so that type-only
// imports count: a cycle of types is a cycle of design all the same.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface Layer {
  /** Folders of src/ (`engine`), or files at its top (`errors.ts`). */
  members: readonly string[];
  /** Members that must not import each other (the peers that share the engine). */
  peers?: boolean;
}

/**
 * Bottom up. Where this differs from STYLE.md's list, a lower layer is what the one above
 * reads: schema/ names and types are what copy/ and dump/ decode by, so schema/ is not above
 * them; rules/ are checked against the strategies' registry; the vault sits below the
 * engine, whose table declarations and records are the vault's format. The libsodium and
 * version modules sit with errors.ts: the strategies' keyed hashes and the vault's
 * encryption share the one binding.
 */
export const SRC_LAYERS: readonly Layer[] = [
  { members: ['errors.ts', 'version.ts', 'sodium.ts'] },
  { members: ['io'] },
  { members: ['schema', 'copy', 'dump', 'archive'] },
  { members: ['strategies', 'rules'] },
  { members: ['vault'] },
  { members: ['engine'] },
  { members: ['mask', 'unmask', 'leaks', 'inspect'], peers: true },
  { members: ['cli'] },
  { members: ['index.ts'] },
];

export interface Import {
  from: string;
  to: string;
}

const IMPORT = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The relative imports of every .ts file under `root`, as paths relative to it. */
export function importsOf(root: string): { files: string[]; imports: Import[] } {
  const files = sourceFiles(root).map((f) => relative(root, f).split(sep).join('/'));
  const imports: Import[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const specs: string[] = [];
    for (const m of text.matchAll(IMPORT)) specs.push((m[1] ?? m[2])!);
    for (const line of text.split('\n')) {
      const code = line.trimStart();
      if (code.startsWith('//') || code.startsWith('*')) continue;
      for (const m of code.matchAll(DYNAMIC)) specs.push(m[1]!);
    }
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts'))).split(sep).join('/');
      imports.push({ from: file, to: target });
    }
  }
  return { files, imports };
}

/** The member (top folder or top file) a file belongs to. */
function memberOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash);
}

/** Circles in a graph: each strongly connected component of more than one node (or a node that imports itself), its nodes sorted. */
export function cycles(nodes: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's algorithm, iteratively (no recursion limit on a deep tree).
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; targets: string[]; i: number }[] = [];
    const visit = (node: string): void => {
      index.set(node, next);
      low.set(node, next);
      next++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, targets: [...(edges.get(node) ?? [])], i: 0 });
    };
    visit(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.i < top.targets.length) {
        const t = top.targets[top.i++]!;
        if (!index.has(t)) visit(t);
        else if (onStack.has(t)) low.set(top.node, Math.min(low.get(top.node)!, index.get(t)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        if (component.length > 1 || edges.get(top.node)?.has(top.node)) found.push(component.sort());
      }
    }
  }
  return found;
}

/** What breaks the layering of the tree under `root`, one line each; empty when nothing does. */
export function layeringProblems(root: string, layers: readonly Layer[]): string[] {
  const { files, imports } = importsOf(root);
  const problems: string[] = [];
  const layerOf = new Map<string, number>();
  layers.forEach((l, i) => l.members.forEach((m) => layerOf.set(m, i)));
  for (const file of files) {
    if (!layerOf.has(memberOf(file))) problems.push(`${file}: ${memberOf(file)} is in no layer`);
  }
  const known = new Set(files);
  const fileEdges = new Map<string, Set<string>>();
  const memberEdges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    if (!known.has(to)) {
      problems.push(`${from} imports ${to}, which is not a source file here`);
      continue;
    }
    if (!fileEdges.has(from)) fileEdges.set(from, new Set());
    fileEdges.get(from)!.add(to);
    const [a, b] = [memberOf(from), memberOf(to)];
    if (a === b) continue;
    const [la, lb] = [layerOf.get(a), layerOf.get(b)];
    if (la === undefined || lb === undefined) continue;
    if (lb > la) problems.push(`${from} imports ${to}: up from ${a} (layer ${la}) to ${b} (layer ${lb})`);
    else if (lb === la && layers[la]!.peers) problems.push(`${from} imports ${to}: ${a} and ${b} are peers, which never import each other`);
    else if (lb === la) {
      if (!memberEdges.has(a)) memberEdges.set(a, new Set());
      memberEdges.get(a)!.add(b);
    }
  }
  for (const c of cycles(files, fileEdges)) problems.push(`import cycle among: ${c.join(', ')}`);
  for (const c of cycles([...memberEdges.keys()], memberEdges)) problems.push(`folders of one layer import each other in a circle: ${c.join(', ')}`);
  return problems;
}
