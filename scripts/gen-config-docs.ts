/**
 * Writes docs/config-reference.md from the config schema (so the reference cannot drift).
 * Usage: npm run docs:config   (tsx scripts/gen-config-docs.ts)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigReference } from '../src/config/reference.js';

const out = join(__dirname, '..', 'docs', 'config-reference.md');
writeFileSync(out, renderConfigReference());
console.log(`wrote ${out}`);
