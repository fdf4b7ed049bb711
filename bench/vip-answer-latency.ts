/**
 * Decision → the VIP answers the client again, after the holder dies (lab, needs root).
 *
 *   node --import tsx bench/vip-answer-latency.ts [--trials 20] [--edge netlink|ip]
 *
 * Per trial: r1 holds the VIP and the client pings it every millisecond (so its neighbour entry points at
 * r1); r1's switch port is cut (a crash: r1 can neither answer nor send); then r2 claims. The decision time is
 * read in r2's Takeover process just before claim(); tcpdump on the client timestamps every echo reply from
 * the VIP. Reported: decision → first reply after it (the takeover's share of a client-visible outage: the
 * GARP moves the client's entry, the address must be on r2's interface), and the gap in replies.
 * Heartbeat detection time is not included (that is the heartbeat's share; see bench/failover.ts).
 */
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLvsLab, LAB_NET } from '../src/lab/topology';
import { Agent } from '../test/lab/takeover/agent-client';
import { model, virtualServer } from '../test/unit/takeover/support';

const opt = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const TRIALS = Number(opt('trials') ?? 20);
const EDGE = opt('edge') === 'ip' ? 'ip' : 'netlink';
const VIP = LAB_NET.vip;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stats(xs: number[]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.length, min: r(s[0]!), median: r(q(0.5)), p90: r(q(0.9)), max: r(s[s.length - 1]!) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('vip-answer-latency needs root (network namespaces)');
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const L = await buildLvsLab({ prefix: 'lpt', realServers: 0 });
  try {
    const m = model({
      announce: { count: 3, intervalMs: 100, repeatDelayMs: 0, repeatCount: 0, refreshMs: 0, form: 'both' },
      virtualServers: [
        virtualServer('web', VIP, { vip: { address: VIP, device: 'eth0', prefixLength: 24 } }),
      ],
    });
    const env: Record<string, string> = EDGE === 'ip' ? { TAKEOVER_ADDRESS_EDGE: 'ip' } : {};
    const r1 = await Agent.start(L.lab, 'r1', m, env);
    const r2 = await Agent.start(L.lab, 'r2', m, env);
    await r1.call('open');
    await r2.call('open');
    const replies: number[] = [];
    const td = L.lab.spawn('client', 'tcpdump', [
      ...['-tt', '-n', '-l', '--immediate-mode', '--time-stamp-precision=micro', '-i', 'eth0'],
      `icmp[icmptype] == icmp-echoreply and src host ${VIP}`,
    ]);
    createInterface({ input: td.stdout! }).on('line', (line) => {
      const mm = /^(\d+)\.(\d{6}) /.exec(line);
      if (mm) replies.push(Number(mm[1]) * 1000 + Number(mm[2]) / 1000);
    });
    await sleep(1500);
    L.lab.spawn('client', 'ping', ['-n', '-q', '-i', '0.001', '-l', '1000', VIP]); // -l: no back-off without replies
    const port = L.lab.switchPort('r1', 'eth0');
    const answer: number[] = [];
    const gap: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      await r1.call('claim', { reason: 'hold' });
      await sleep(250);
      await L.lab.exec('sw', 'ip', ['link', 'set', port, 'down']); // r1 "crashes"
      await sleep(20);
      const { decisionMs } = await r2.call<{ decisionMs: number }>('claim', { reason: 'peer dead' });
      await sleep(200);
      const first = replies.find((t) => t > decisionMs);
      const before = [...replies].reverse().find((t) => t <= decisionMs);
      if (first !== undefined) answer.push(first - decisionMs);
      if (first !== undefined && before !== undefined) gap.push(first - before);
      await r2.call('release', { reason: 'reset' });
      await L.lab.exec('sw', 'ip', ['link', 'set', port, 'up']);
      await sleep(100);
    }
    const result = {
      when: new Date().toISOString(),
      trials: TRIALS,
      addressEdge: EDGE,
      loadAverageBefore: loadBefore,
      decisionToFirstReplyMs: stats(answer),
      replyGapMs: stats(gap),
      missing: TRIALS - answer.length,
    };
    console.log(JSON.stringify(result, null, 2));
    const stamp = result.when.replace(/[:.]/g, '').slice(0, 17);
    const out = join(__dirname, 'results', `vip-answer-latency-${stamp}-${EDGE}.md`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    const row = (name: string, s: Record<string, number>) =>
      `| ${name} | ${s.n} | ${s.min} | ${s.median} | ${s.p90} | ${s.max} |`;
    writeFileSync(
      out,
      [
        `# Takeover decision → VIP answers the client (${result.when})`,
        '',
        `${TRIALS} trials: r1 holds ${VIP}, client pings it every 1 ms, r1's switch port is cut, r2 claims ` +
          `(addresses via ${EDGE}). Load average before: ${loadBefore}. ms; tcpdump timestamps on the client.`,
        'The reply gap includes the 20 ms between the cut and the decision (heartbeat detection is not modelled).',
        '',
        '| measure | n | min | median | p90 | max |',
        '|---|---|---|---|---|---|',
        row('decision → first echo reply from the VIP', result.decisionToFirstReplyMs),
        row('last reply before → first reply after', result.replyGapMs),
        '',
        `Trials without a reply within 200 ms: ${result.missing}.`,
        '',
      ].join('\n'),
    );
    console.error(`results: ${out}`);
  } finally {
    await L.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
