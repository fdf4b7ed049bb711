/**
 * Every export of src/ says what it is: a declaration exported from a module has a doc comment (or a line
 * comment) right above it, or belongs to a run of exported constants under one. Re-exports (`export {…}
 * from`, `export type {…}`) are documented where they are declared.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../src');
const DECL =
  /^export (default )?(declare )?(async )?(function|class|const|let|interface|type|enum|abstract class)\b/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** Exported declarations with no comment above them (nor above the run of exports they belong to). */
function undocumented(text: string): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (!DECL.test(line) || /^export type \{/.test(line)) return;
    let j = i - 1;
    // a run of one-line exported constants shares the comment above its first line
    while (
      j >= 0 &&
      /^export const \w+(: [^=]+)? = [^{[(]*;\s*(\/\/.*)?$/.test(lines[j]!) &&
      /^export const/.test(line)
    )
      j--;
    const prev = (lines[j] ?? '').trim();
    if (!(prev.endsWith('*/') || prev.startsWith('//') || prev.startsWith('@'))) out.push(i + 1);
  });
  return out;
}

describe('doc comments on every export of src/', () => {
  it('the finder finds what it must', () => {
    assert.deepEqual(
      undocumented('export const a = 1;\n/** b */\nexport function b() {}\nexport class C {}'),
      [1, 4],
    );
    assert.deepEqual(undocumented('/** group */\nexport const A = 1;\nexport const B = 2;'), []);
    assert.deepEqual(undocumented("export type { X } from './x';"), []);
  });

  it('every exported declaration has one', () => {
    const missing: string[] = [];
    for (const f of tsFiles(SRC)) {
      for (const line of undocumented(readFileSync(f, 'utf8'))) missing.push(`${relative(SRC, f)}:${line}`);
    }
    assert.deepEqual(missing, []);
  });
});
