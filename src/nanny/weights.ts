/**
 * Weight arithmetic of the nanny, pure: Piranha's `load_monitor` formula, slow start after a failure, and
 * parsers for load-average and weight-feedback text coming from real servers (untrusted input).
 */

/** Largest weight IPVS accepts. */
export const MAX_WEIGHT = 65535;

/**
 * One step of Piranha's load_monitor formula. With configured weight `w`, last applied weight `x` and the
 * real server's 1-minute load average `load`:
 * - load < 1: new = x + (w/2)·cbrt(1 − load), capped at 10·w;
 * - load > 1: new = x − (w/2)·cbrt(load − 1), floored at w;
 * - the new weight is applied only when |new − x| ≥ w/4; otherwise `x` is returned unchanged.
 * The applied value is rounded to an integer (IPVS weights are integers). `w/2` is a real division (C's
 * integer division would make weight 1 never move).
 *
 * @returns the weight to apply (=== x when nothing changes).
 * @example loadMonitorStep(4, 4, 0) // 6
 */
export function loadMonitorStep(w: number, x: number, load: number): number {
  if (!(w > 0) || !Number.isFinite(load) || load < 0) return x;
  let next = x;
  if (load < 1) next = Math.min(x + (w / 2) * Math.cbrt(1 - load), 10 * w);
  else if (load > 1) next = Math.max(x - (w / 2) * Math.cbrt(load - 1), w);
  if (Math.abs(next - x) < w / 4) return x;
  return Math.min(MAX_WEIGHT, Math.round(next));
}

/** Piranha's slow-start entry weight: max(1, w >> 5); a weight of 0 stays 0. */
export function slowStartInitial(w: number): number {
  if (w <= 0) return w;
  return Math.max(1, w >> 5);
}

/**
 * Slow start after a real server comes back from a failure: the weight starts at max(1, w>>5) and doubles
 * at equal steps spread over `durationMs` until it reaches `w` (Piranha doubled about every 20 s; with
 * w = 32 and 100 s that is exactly Piranha's schedule).
 */
export class SlowStart {
  /** Number of doublings from the initial weight to w. */
  readonly steps: number;
  /** Time between doublings, ms. */
  readonly stepMs: number;
  private weight: number;

  constructor(
    readonly target: number,
    durationMs: number,
  ) {
    this.weight = slowStartInitial(target);
    this.steps = this.weight >= target ? 0 : Math.ceil(Math.log2(target / this.weight));
    this.stepMs = this.steps > 0 ? durationMs / this.steps : 0;
  }

  /** Current slow-start weight. */
  get current(): number {
    return this.weight;
  }

  /** True once the target is reached. */
  get done(): boolean {
    return this.weight >= this.target;
  }

  /** Doubles the weight (capped at the target); returns the new weight. */
  step(): number {
    this.weight = Math.min(this.target, this.weight * 2);
    return this.weight;
  }
}

/**
 * Parses a load average from a real server's agent or command output. Accepts a bare number (`0.42`),
 * /proc/loadavg (`0.42 0.30 0.10 1/123 456`), uptime output (`... load average: 0.42, 0.30, 0.10`), or JSON
 * with `load1`/`load` (`{"load1":0.42}`). Returns undefined for anything else (and for negative / absurd
 * values).
 */
export function parseLoadAverage(text: string): number | undefined {
  const s = text.slice(0, 4096).trim();
  let m = /load averages?:\s*([0-9]+(?:[.,][0-9]+)?)/i.exec(s);
  if (!m && s.startsWith('{')) {
    try {
      const j = JSON.parse(s) as Record<string, unknown>;
      const v = j['load1'] ?? j['load'];
      if (typeof v === 'number' || typeof v === 'string') m = ['', String(v)] as unknown as RegExpExecArray;
    } catch {
      return undefined;
    }
  }
  if (!m) m = /^([0-9]+(?:\.[0-9]+)?)(?:\s|$)/.exec(s);
  if (!m?.[1]) return undefined;
  const v = Number(m[1].replace(',', '.'));
  if (!Number.isFinite(v) || v < 0 || v > 1e6) return undefined;
  return v;
}

/**
 * Parses a weight sent back by a real server (a response header value or program output): an integer
 * 0..65535, surrounding spaces allowed. Returns undefined otherwise.
 */
export function parseWeight(text: string): number | undefined {
  const s = text.trim();
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const v = Number(s);
  return v <= MAX_WEIGHT ? v : undefined;
}

/**
 * keepalived's misc_dynamic exit-code convention: 0 = up at the configured weight, 1 = down, 2..255 = up
 * with weight (code − 2).
 * @returns `{ ok, weight? }`
 */
export function exitCodeFeedback(code: number): { ok: boolean; weight?: number } {
  if (code === 0) return { ok: true };
  if (code === 1) return { ok: false };
  if (code >= 2 && code <= 255) return { ok: true, weight: code - 2 };
  return { ok: false };
}
