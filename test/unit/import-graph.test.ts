/**
 * No import circles: walks the import graph of all of src/**\/*.ts (every `import … from`, `export …
 * from`, `import(…)` and `require(…)` of a relative path, type-only imports included) and finds its
 * cycles, and asserts there are none.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../src');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The relative specifiers a file imports, with comments and string contents outside them left aside. */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  const re =
    /(?:^|[;\s])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of code.matchAll(re)) {
    const s = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (s?.startsWith('.')) specs.push(s);
  }
  return specs;
}

function resolveSpec(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const c of [`${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')])
    if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** Every elementary cycle's members (strongly connected components of more than one file, or a self-import). */
function circles(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import graph of src/', () => {
  const graph = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) {
    const deps = importsOf(readFileSync(f, 'utf8'))
      .map((s) => resolveSpec(f, s))
      .filter((d): d is string => d !== undefined);
    graph.set(relative(SRC, f), [...new Set(deps.map((d) => relative(SRC, d)))]);
  }
  const found = circles(graph).map((c) => c.join(' ↔ '));

  it('parses what it must: the walk sees the nanny and its probes', () => {
    assert.ok(graph.size > 50, `${graph.size} files`);
    assert.deepEqual(graph.get('nanny/probes/exchange.ts'), [], 'the contract imports nothing');
    assert.ok(graph.get('nanny/probes/tcp.ts')?.includes('nanny/probes/transport.ts'));
    // the finder itself: a two-file circle and a self-import are found, a chain is not
    const g = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', []],
      ['d', ['d']],
    ]);
    assert.deepEqual(circles(g), [['a', 'b'], ['d']]);
    assert.deepEqual(
      importsOf("import type { X } from './x';\nexport { y } from '../y';\n// import z from './z'"),
      ['./x', '../y'],
    );
  });

  it('src/ has no import circle', () => {
    assert.deepEqual(found, []);
  });
});
