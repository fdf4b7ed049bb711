/**
 * A Takeover driven over stdin/stdout, to run inside a lab namespace
 * (`ip netns exec NS node --import tsx agent.ts MODEL.json`). One JSON request per line:
 *   {"id":1,"op":"open"|"claim"|"release"|"reannounce"|"reconcile"|"reconfigure"|"status"|"udpEcho"|"close",
 *    "active"?:bool, "reason"?:str, "model"?:LvsModel, "port"?:int}
 * One JSON reply per line: {"id":1,"ok":true,"result":…,"decisionMs":…} where decisionMs is the wall-clock
 * time (µs resolution: performance.timeOrigin + performance.now()) taken right before claim() was called.
 * Log events go to stderr as JSON lines.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LvsModel } from '../../../src/config/model';
import type { Log, LogFields } from '../../../src/lib/log';
import { IpRoute, Takeover } from '../../../src/takeover/index';

const wallMs = (): number => performance.timeOrigin + performance.now();

function stderrLog(base: LogFields = {}): Log {
  const emit = (level: string, msg: string, fields?: LogFields): void => {
    process.stderr.write(`${JSON.stringify({ t: wallMs(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    child: (f) => stderrLog({ ...base, ...f }),
  };
}

const model = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LvsModel;
// TAKEOVER_ADDRESS_EDGE=ip: add/del with ip(8) instead of rtnetlink (to compare the two in bench/).
// TAKEOVER_NO_REHEARSAL=1: skip open()'s dress rehearsal (to measure what it buys).
const takeover = new Takeover({
  model,
  log: stderrLog(),
  noRehearsal: process.env.TAKEOVER_NO_REHEARSAL === '1',
  ...(process.env.TAKEOVER_ADDRESS_EDGE === 'ip' ? { edges: { addresses: new IpRoute() } } : {}),
});
const reply = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

createInterface({ input: process.stdin }).on('line', (line) => {
  let req: {
    id: number;
    op: string;
    active?: boolean;
    reason?: string;
    model?: LvsModel;
    port?: number;
  };
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  const run = async (): Promise<unknown> => {
    switch (req.op) {
      case 'open':
        return takeover.open();
      case 'claim': {
        const decisionMs = wallMs();
        const p = takeover.claim(req.reason ?? 'lab');
        const afterFirstFramesMs = wallMs();
        await p;
        return { decisionMs, afterFirstFramesMs, doneMs: wallMs() };
      }
      case 'release':
        return takeover.release(req.reason ?? 'lab');
      case 'reannounce':
        return takeover.reannounce();
      case 'reconcile':
        return takeover.reconcile(!!req.active);
      case 'reconfigure':
        return takeover.reconfigure(req.model!);
      case 'udpEcho': {
        // A UDP echo service on every address of the namespace (the VIP included once it is there).
        const sock = createSocket('udp4');
        sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
        await new Promise<void>((r) => sock.bind(Number(req.port ?? 7777), r));
        return undefined;
      }
      case 'status':
        return takeover.status();
      case 'close':
        await takeover.close();
        setImmediate(() => process.exit(0));
        return undefined;
      default:
        throw new Error(`unknown op ${req.op}`);
    }
  };
  run().then(
    (result) => reply({ id: req.id, ok: true, result }),
    (err: unknown) => reply({ id: req.id, ok: false, error: String(err) }),
  );
});
reply({ id: 0, ok: true, result: 'ready' });
