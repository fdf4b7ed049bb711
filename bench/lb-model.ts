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

/** 1 % of all real servers get a new weight (spread over services). */
export function onePercentChange(shape: BenchShape): [string, string, number | null][] {
  const total = shape.services * shape.reals;
  const n = Math.max(1, Math.round(total / 100));
  const out: [string, string, number | null][] = [];
  for (let k = 0; k < n; k++) {
    const idx = Math.floor((k * total) / n);
    const i = Math.floor(idx / shape.reals);
    const j = idx % shape.reals;
    out.push([`vs${i}`, `rs${j}`, 10 + (j % 5)]);
  }
  return out;
}

/** One real server of one service removed. */
export function oneRemoval(shape: BenchShape): [string, string, number | null][] {
  return [[`vs${Math.floor(shape.services / 2)}`, 'rs0', null]];
}
