/**
 * Decision → first gratuitous ARP on the wire, measured in the lab (needs root).
 *
 *   node --import tsx bench/garp-latency.ts [--trials 30] [--vips 1] [--load 0] [--edge netlink|ip]
 *                                          [--no-rehearsal] [--out FILE]
 *
 * A Takeover runs in router r2 of the standard lab (lab/topology.ts). For each trial the agent takes
 * the wall-clock time (performance.timeOrigin + performance.now(), µs resolution) right before calling
 * claim() — the decision — and tcpdump (`-tt --time-stamp-precision=micro --immediate-mode`) records when
 * each ARP frame passed r2's eth0 (sender side) and the client's eth0 (receiver side). Latency = first frame
 * of the last VIP − decision. `--load N` runs N busy loops during the run (killed at the end). `--edge ip`
 * adds the addresses with ip(8) instead of rtnetlink, to compare. Results: JSON on stdout and a markdown
 * file in bench/results/ (or --out FILE).
 */
import { percentiles } from './report';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildLvsLab, LAB_NET } from '../lab/topology';
import { model, virtualServer } from '../test/unit/takeover/support';
import { Agent } from '../test/lab/takeover/agent-client';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const TRIALS = arg('trials', 30);
const VIPS = arg('vips', 1);
const LOAD = arg('load', 0);
const opt = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const EDGE = opt('edge') === 'ip' ? 'ip' : 'netlink';
const NO_REHEARSAL = process.argv.includes('--no-rehearsal');
const STAMP = new Date().toISOString().replace(/[:.]/g, '').slice(0, 17);
const OUT =
  opt('out') ??
  join(
    __dirname,
    'results',
    `garp-latency-${STAMP}-${VIPS}vip-${EDGE}-load${LOAD}${NO_REHEARSAL ? '-norehearsal' : ''}.md`,
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Frame {
  t: number; // ms since epoch (µs resolution)
  vip: string;
}

/** tcpdump -tt line: "1795629376.875539 ARP, Request who-has 198.18.0.10 tell 198.18.0.10, length 28". */
function capture(child: ChildProcess, frames: Frame[]): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^(\d+)\.(\d{6}) ARP, (?:Request who-has (\S+) tell|Reply (\S+) is-at)/.exec(line);
    if (!m) return;
    frames.push({ t: Number(m[1]) * 1000 + Number(m[2]) / 1000, vip: (m[3] ?? m[4])! });
  });
}

const stats = percentiles;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('garp-latency needs root (network namespaces)');
  const vips = Array.from({ length: VIPS }, (_, i) => (i === 0 ? LAB_NET.vip : `198.18.0.${30 + i}`));
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const L = await buildLvsLab({ prefix: 'lpt', realServers: 0 });
  const busy: ChildProcess[] = [];
  try {
    const m = model({
      announce: {
        count: 1,
        intervalMs: 1000,
        repeatDelayMs: 0,
        repeatCount: 0,
        refreshMs: 0,
        form: 'request',
      },
      virtualServers: vips.map((v, i) =>
        virtualServer(`vs${i}`, v, { vip: { address: v, device: 'eth0', prefixLength: 24 } }),
      ),
    });
    const tdArgs = [
      '-tt',
      '-n',
      '-l',
      '--immediate-mode',
      '--time-stamp-precision=micro',
      '-i',
      'eth0',
      'arp',
    ];
    const atSender: Frame[] = [];
    const atClient: Frame[] = [];
    capture(L.lab.spawn('r2', 'tcpdump', tdArgs), atSender);
    capture(L.lab.spawn('client', 'tcpdump', tdArgs), atClient);
    await sleep(1500); // tcpdump ready
    for (let i = 0; i < LOAD; i++) {
      busy.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    }
    const agent = await Agent.start(L.lab, 'r2', m, {
      ...(EDGE === 'ip' ? { TAKEOVER_ADDRESS_EDGE: 'ip' } : {}),
      ...(NO_REHEARSAL ? { TAKEOVER_NO_REHEARSAL: '1' } : {}),
    });
    await agent.call('open');
    const rows: { decision: number; firstFrames: number; done: number }[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const r = await agent.call<{ decisionMs: number; afterFirstFramesMs: number; doneMs: number }>(
        'claim',
        {
          reason: `bench ${i}`,
        },
      );
      rows.push({ decision: r.decisionMs, firstFrames: r.afterFirstFramesMs, done: r.doneMs });
      await sleep(150);
      await agent.call('release', { reason: 'bench' });
      await sleep(100);
    }
    await sleep(500);
    const match = (frames: Frame[]) =>
      rows.map((row) => {
        // First frame of each VIP at or after the decision (−1 ms tolerance for clock reading), within 1 s.
        const firsts = vips.map(
          (v) => frames.find((f) => f.vip === v && f.t >= row.decision - 1 && f.t < row.decision + 1000)?.t,
        );
        if (firsts.some((t) => t === undefined)) return Number.NaN;
        return Math.max(...(firsts as number[])) - row.decision;
      });
    // Spread: first frame of the first VIP → first frame of the last VIP, within one claim.
    const spread = rows.map((row) => {
      const ts = vips.map(
        (v) =>
          atSender.find((f) => f.vip === v && f.t >= row.decision - 1 && f.t < row.decision + 1000)?.t ?? NaN,
      );
      return Math.max(...ts) - Math.min(...ts);
    });
    const sender = match(atSender);
    const client = match(atClient);
    const missing = sender.filter((x) => Number.isNaN(x)).length;
    const result = {
      when: new Date().toISOString(),
      trials: TRIALS,
      vips: VIPS,
      busyLoops: LOAD,
      addressEdge: EDGE,
      rehearsal: !NO_REHEARSAL,
      loadAverageBefore: loadBefore,
      note: 'ms from the decision (wall clock just before claim()) to the first ARP frame of the last VIP',
      onWireAtSender: stats(sender.filter((x) => !Number.isNaN(x))),
      onWireAtClient: stats(client.filter((x) => !Number.isNaN(x))),
      spreadFirstToLastVip: stats(spread.filter((x) => !Number.isNaN(x))),
      inProcessClaimReturned: stats(rows.map((r) => r.firstFrames - r.decision)),
      addressesAdded: stats(rows.map((r) => r.done - r.decision)),
      missingTrials: missing,
      // The process's first claim (cold code unless open() rehearsed it).
      firstClaim: {
        onWireAtSender: Math.round(sender[0]! * 1000) / 1000,
        claimReturned: Math.round((rows[0]!.firstFrames - rows[0]!.decision) * 1000) / 1000,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(dirname(OUT), { recursive: true });
    const row = (name: string, s: Record<string, number>) =>
      `| ${name} | ${s.n} | ${s.min} | ${s.median} | ${s.p90} | ${s.max} |`;
    writeFileSync(
      OUT,
      [
        `# Decision → first gratuitous ARP (${result.when})`,
        '',
        `${TRIALS} claims of ${VIPS} VIP(s) by a Takeover in lab router r2; addresses via ${EDGE}; ` +
          `${NO_REHEARSAL ? 'no rehearsal in open(); ' : ''}` +
          `${LOAD} extra busy loop(s); load average before: ${loadBefore}. Figures in ms from the decision ` +
          '(wall clock read just before claim()) to the first ARP frame of the last VIP, tcpdump timestamps.',
        '',
        '| measure | n | min | median | p90 | max |',
        '|---|---|---|---|---|---|',
        row('frame at sender eth0 (tcpdump)', result.onWireAtSender),
        row('frame at client eth0 (tcpdump)', result.onWireAtClient),
        row('spread: first VIP → last VIP (sender)', result.spreadFirstToLastVip),
        row('claim() returned (in process)', result.inProcessClaimReturned),
        row('all addresses on the interface', result.addressesAdded),
        '',
        `Trials with a frame missing: ${missing}. First claim of the process: frame at sender ` +
          `${result.firstClaim.onWireAtSender} ms, claim() returned ${result.firstClaim.claimReturned} ms.`,
        '',
        '```json',
        JSON.stringify(result, null, 2),
        '```',
        '',
      ].join('\n'),
    );
    console.error(`results: ${OUT}`);
    await agent.call('close').catch(() => undefined);
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    await L.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
