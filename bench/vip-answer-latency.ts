/**
 * Decision → the VIP answers the client again, after the holder dies (lab, needs root).
 *
 *   node --import tsx bench/vip-answer-latency.ts [--trials 20] [--edge netlink|ip]
 *
 * Per trial: r1 holds the VIP and the client sends it a UDP datagram every millisecond (so its neighbour
 * entry points at r1; both routers run a UDP echo service); r1's switch port is cut (a crash: r1 can neither
 * answer nor send); then r2 claims. The decision time is read in r2's Takeover process just before claim();
 * the client timestamps every reply. Reported: decision → first reply after it (the takeover's share of a
 * client-visible outage: the GARP moves the client's entry, the address must be on r2's interface), and
 * port cut → first reply.
 * Heartbeat detection time is not included (that is the heartbeat's share; see bench/failover.ts).
 */
import { percentiles } from './report';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLvsLab, LAB_NET } from '../lab/topology';
import { Agent } from '../test/lab/takeover/agent-client';
import { model, virtualServer } from '../test/unit/takeover/support';

const opt = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const TRIALS = Number(opt('trials') ?? 20);
const EDGE = opt('edge') === 'ip' ? 'ip' : 'netlink';
const VIP = LAB_NET.vip;
const PROBER = join(__dirname, '..', 'test', 'lab', 'takeover', 'udp-prober.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stats = percentiles;

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
    // A UDP echo service on both routers; the client sends a datagram every 1 ms and timestamps replies
    // (ping backs off when replies stop, which hid the takeover behind its own pacing).
    await r1.call('udpEcho', { port: 7777 });
    await r2.call('udpEcho', { port: 7777 });
    const replies: number[] = [];
    const prober = L.lab.spawn('client', process.execPath, ['--import', 'tsx', PROBER, VIP, '7777'], {
      cwd: join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: prober.stdout! }).on('line', (line) => {
      const t = Number(line);
      if (Number.isFinite(t)) replies.push(t);
    });
    await sleep(1500);
    const port = L.lab.switchPort('r1', 'eth0');
    const answer: number[] = [];
    const gap: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      await r1.call('claim', { reason: 'hold' });
      await sleep(250);
      const cutMs = performance.timeOrigin + performance.now();
      await L.lab.exec('sw', 'ip', ['link', 'set', port, 'down']); // r1 "crashes"
      await sleep(20);
      const { decisionMs } = await r2.call<{ decisionMs: number }>('claim', { reason: 'peer dead' });
      await sleep(200);
      const first = replies.find((t) => t > decisionMs);
      if (first !== undefined) answer.push(first - decisionMs);
      if (first !== undefined) gap.push(first - cutMs);
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
      cutToFirstReplyMs: stats(gap),
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
        `${TRIALS} trials: r1 holds ${VIP}, client sends a UDP datagram every 1 ms (echoed by the holder), r1's switch port is cut, r2 claims ` +
          `(addresses via ${EDGE}). Load average before: ${loadBefore}. ms; reply times taken by the client prober.`,
        'Cut → first reply includes the `ip link set down` command and a fixed 20 ms wait before the decision ' +
          '(heartbeat detection is not modelled here).',
        '',
        '| measure | n | min | median | p90 | max |',
        '|---|---|---|---|---|---|',
        row('decision → first reply from the VIP', result.decisionToFirstReplyMs),
        row('port cut → first reply after', result.cutToFirstReplyMs),
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
