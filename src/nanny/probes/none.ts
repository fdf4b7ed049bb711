/** The `none` probe: always up (Piranha with no send/expect on a non-HTTP port still connected; this does not). */
import type { Probe, ProbeResult } from '../types';

const UP: ProbeResult = { ok: true, detail: 'no check configured', ms: 0 };

/** A probe that is always up, at once (`none`). */
export function noneProbe(): Probe {
  return () => Promise.resolve(UP);
}
