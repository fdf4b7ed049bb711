/** The benchmark's LB model: N virtual services × M real servers, and the weight steps applied to it. */
import type { LvsModel, VirtualServer } from '../src/config/model';
import { model, rs, vs } from '../test/unit/ipvs/fixture';

export interface BenchShape {
  services: number;
  reals: number;
}

/** VIPs 198.18.2.0 – 198.18.x.y, port 80 each; real servers 198.18.1.21 … (port 80, NAT). */
export function benchModel(shape: BenchShape): LvsModel {
  const vss: VirtualServer[] = [];
  for (let i = 0; i < shape.services; i++) {
    const vip = `198.18.${2 + Math.floor(i / 256)}.${i % 256}`;
    vss.push(
      vs(`vs${i}`, {
        vip: { address: vip, prefixLength: 32 },
        scheduler: 'wrr',
        realServers: Array.from({ length: shape.reals }, (_, j) => rs(`rs${j}`, `198.18.1.${21 + j}`)),
      }),
    );
  }
  return model(vss);
}

/** Initial weights: every real server in with weight 1 + (j mod 5). */
export function fullWeights(shape: BenchShape): [string, string, number | null][] {
  const out: [string, string, number | null][] = [];
  for (let i = 0; i < shape.services; i++)
    for (let j = 0; j < shape.reals; j++) out.push([`vs${i}`, `rs${j}`, 1 + (j % 5)]);
  return out;
}

/** Round `round` of the 1 % weight change: 1 % of all real servers flip between two weights. */
export function onePercentChange(shape: BenchShape, round = 0): [string, string, number | null][] {
  const total = shape.services * shape.reals;
  const n = Math.max(1, Math.round(total / 100));
  const out: [string, string, number | null][] = [];
  for (let k = 0; k < n; k++) {
    const idx = Math.floor((k * total) / n);
    const i = Math.floor(idx / shape.reals);
    const j = idx % shape.reals;
    out.push([`vs${i}`, `rs${j}`, round % 2 === 0 ? 10 + (j % 5) : 1 + (j % 5)]);
  }
  return out;
}

/** Round `round` of the removal: one real server of one service (a different one each round) goes. */
export function oneRemoval(shape: BenchShape, round = 0): [string, string, number | null][] {
  return [[`vs${(Math.floor(shape.services / 2) + round * 7) % shape.services}`, 'rs0', null]];
}

/** Puts back what {@link oneRemoval} took out (untimed, between rounds). */
export function undoRemoval(shape: BenchShape, round = 0): [string, string, number | null][] {
  return [[`vs${(Math.floor(shape.services / 2) + round * 7) % shape.services}`, 'rs0', 1]];
}

/** Median of samples. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
