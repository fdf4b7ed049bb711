/**
 * Tests that need root, a package or a device: outside CI they skip with the reason printed; under
 * `CI=true` (where `.ci/run` has installed everything) a missing requirement is a FAILURE, never a skip,
 * so a broken CI machine cannot pass by skipping the lab.
 */
import type { Context } from 'mocha';

/** Whether this run is CI (`CI=true`): requirements must then be met. */
export const inCi = (): boolean => process.env.CI === 'true';

/**
 * Skips the test or suite when `missing` names a missing requirement (and fails it under CI); does
 * nothing when `missing` is undefined.
 */
export function need(ctx: Context, missing: string | undefined): void {
  if (missing === undefined) return;
  if (inCi()) throw new Error(`required in CI (CI=true) but missing: ${missing}`);
  console.log(`      skipped: ${missing}`);
  ctx.skip();
}

/** `need` for root. */
export function needRoot(ctx: Context): void {
  need(ctx, process.getuid?.() === 0 ? undefined : 'needs root');
}
