/**
 * The nftables edge: apply the ruleset from {@link buildRuleset} as ONE `nft -f -` transaction (only our
 * tables are deleted and redefined), read it back with `nft -j list table …` and verify each rule's map;
 * retry once, else raise {@link LbApplyError}. Foreign tables are never read or touched.
 */
import type { Log } from '../lib/log';
import { LbApplyError, type LbDriver, type SyncReport } from './backend';
import type { Exec } from './exec';
import {
  buildRuleset,
  NFT_TABLE_V4,
  NFT_TABLE_V6,
  type NftExpected,
  type NftPick,
  parseNftJson,
  verifyRules,
} from './nftrules';
import type { LbReal, LbService, LbTableState } from './table';

/** Drives nftables through the nft binary. */
export class NftDriver implements LbDriver {
  readonly name = 'nftables' as const;
  private lastScript = '';

  constructor(private readonly opts: { path?: string; exec: Exec; log: Log }) {}

  private nft(args: string[], input?: string) {
    return this.opts.exec(this.opts.path ?? 'nft', args, input);
  }

  /** Read our tables back: rules by service key per family (a missing table reads as no rules). */
  async read(): Promise<{ v4: Map<string, NftPick>; v6: Map<string, NftPick>; problems: string[] }> {
    const problems: string[] = [];
    const one = async (family: 'ip' | 'ip6', name: string) => {
      const r = await this.nft(['-j', 'list', 'table', family, name]);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return new Map<string, NftPick>();
        throw new Error(`nft list table ${family} ${name} failed (exit ${r.code}): ${r.stderr.trim()}`);
      }
      const parsed = parseNftJson(r.stdout);
      problems.push(...parsed.problems);
      return parsed.rules;
    };
    return { v4: await one('ip', NFT_TABLE_V4), v6: await one('ip6', NFT_TABLE_V6), problems };
  }

  private async verify(expected: NftExpected): Promise<{ diff: string[]; actual: LbService[] }> {
    const got = await this.read();
    const diff = [
      ...verifyRules(expected.v4, got.v4),
      ...verifyRules(expected.v6, got.v6),
      ...got.problems.map((p) => `unexpected: ${p}`),
    ];
    return { diff, actual: [...toServices(got.v4, 4), ...toServices(got.v6, 6)] };
  }

  async sync(desired: LbTableState, _owned: ReadonlySet<string>): Promise<SyncReport> {
    const rs = buildRuleset(desired);
    if (rs.script === this.lastScript) {
      const v = await this.verify(rs.expected);
      if (v.diff.length === 0) return { ops: 0, foreign: [], actual: v.actual, warnings: rs.warnings };
      this.opts.log.warn('nftables table drifted from what we applied; re-applying', {
        diff: v.diff.slice(0, 10),
      });
    }
    let errors: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await this.nft(['-f', '-'], rs.script);
      errors = r.code === 0 ? [] : [`nft -f - exit ${r.code}: ${r.stderr.trim()}`];
      const v = await this.verify(rs.expected);
      if (v.diff.length === 0 && errors.length === 0) {
        this.lastScript = rs.script;
        return { ops: 1, foreign: [], actual: v.actual, warnings: rs.warnings };
      }
      errors.push(...v.diff);
      if (attempt === 0)
        this.opts.log.warn('nftables apply did not verify; retrying once', { errors: errors.slice(0, 10) });
    }
    this.lastScript = '';
    throw new LbApplyError('nftables', errors);
  }
}

/** Our rules read back, in the shape of the LB table (weight = slots; scheduler = the nft pick mode). */
function toServices(rules: Map<string, NftPick>, family: 4 | 6): LbService[] {
  const out: LbService[] = [];
  for (const [key, pick] of rules) {
    const reals: LbReal[] = [];
    for (const [t, n] of pick.slots) {
      const [address = '', port = '0'] = t.split(' . ');
      const p = Number(port);
      reals.push({
        key: family === 6 ? `[${address}]:${p}` : `${address}:${p}`,
        address,
        port: p,
        forwarding: 'nat',
        weight: n,
      });
    }
    const kind = key.startsWith('-f') ? 'fwmark' : key.startsWith('-u') ? 'udp' : 'tcp';
    out.push({ key, kind, family, scheduler: `nft:${pick.mode}`, persistentS: 0, reals });
  }
  return out;
}
