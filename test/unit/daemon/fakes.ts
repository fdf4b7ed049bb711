/**
 * Fake parts for the daemon (src/daemon/parts.ts): each records what the daemon asks of it in one shared
 * journal, in order, so a test can assert the ORDER of effects across parts. Calls the daemon awaits can be
 * held open (`hold`) to check that nothing runs ahead of them.
 */
import { EventEmitter } from 'node:events';
import type { LvsModel } from '../../../src/config/model';
import type {
  ConnSyncPart,
  DaemonLog,
  DaemonParts,
  HeartbeatPart,
  LbTablePart,
  NannyPoolPart,
  ReplyRoutingPart,
  TakeoverPart,
} from '../../../src/daemon/parts';
import { MemoryLog } from '../../../src/lib/log';

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every queued promise continuation run (the daemon's role chain included). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** The journal every fake writes to: `part.method:detail`. */
export class Journal {
  readonly entries: string[] = [];
  /** Calls held open by name (`takeover.claim`): resolved by the test. */
  private readonly holds = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  add(entry: string): void {
    this.entries.push(entry);
  }

  /** The next call to `name` stays pending until the returned function is called. */
  hold(name: string): () => void {
    const d = deferred();
    this.holds.set(name, d);
    return () => d.resolve();
  }

  /** Resolves every held call and holds no more (after a test, so stop() cannot hang on a failed one). */
  releaseAll(): void {
    for (const h of this.holds.values()) h.resolve();
    this.holds.clear();
  }

  /** Records the call and returns the promise the daemon awaits (pending when held). */
  call(name: string, detail?: string): Promise<void> {
    this.add(detail === undefined ? name : `${name}:${detail}`);
    const h = this.holds.get(name);
    if (!h) return Promise.resolve();
    this.holds.delete(name);
    return h.promise;
  }

  /** Entries from index `from` on. */
  since(from: number): string[] {
    return this.entries.slice(from);
  }

  /** Index of the first entry equal to `entry` (or starting with `entry:`); -1 when absent. */
  indexOf(entry: string): number {
    return this.entries.findIndex((e) => e === entry || e.startsWith(`${entry}:`));
  }
}

/** The heartbeat: the test emits its transitions; status reports the node and the peer's state. */
export class FakeHeartbeat extends EventEmitter implements HeartbeatPart {
  peerState: string | undefined = 'standby';
  /** The peer says its connection resync is pending. */
  peerResyncing = false;
  model: LvsModel;
  faults: Record<string, string> = {};
  /** Set by stop(): the graceful stop the daemon asked for. */
  onStop?: (graceful: boolean) => void;

  constructor(
    private readonly j: Journal,
    o: { model: LvsModel },
  ) {
    super();
    this.model = o.model;
  }

  /** Emits a transition as the real heartbeat does. */
  transition(from: string, to: string, reason = 'test'): void {
    this.emit('transition', { from, to, reason, evidence: `${reason} (test)` });
  }

  start(): Promise<void> {
    return this.j.call('hb.start');
  }
  stop(o: { graceful: boolean }): Promise<void> {
    const p = this.j.call('hb.stop', o.graceful ? 'graceful' : 'now');
    this.onStop?.(o.graceful);
    return p;
  }
  status(): ReturnType<HeartbeatPart['status']> {
    // Only the fields the daemon reads.
    return {
      node: 'primary',
      auth: 'none',
      faults: this.faults,
      peer: {
        address: '198.18.0.12',
        state: this.peerState,
        lastHeardMs: {},
        configMismatch: false,
        ...(this.peerResyncing ? { resyncPending: true } : {}),
      },
      counters: { sent: 0, accepted: 0, rejected: {}, keepaliveLateMaxMs: 0, ownStallsExcused: 0 },
    } as unknown as ReturnType<HeartbeatPart['status']>;
  }
  setFault(source: Parameters<HeartbeatPart['setFault']>[0], on: boolean, detail: string): void {
    this.j.add(`hb.setFault:${String(source)} ${on ? 'on' : 'off'} ${detail}`);
  }
  requestTakeover(): void {
    this.j.add('hb.requestTakeover');
  }
  requestRelease(): void {
    this.j.add('hb.requestRelease');
  }
  reconfigure(model: LvsModel): void {
    this.model = model;
    this.j.add('hb.reconfigure');
  }
  setConfigHash(hash: string): void {
    this.j.add(`hb.setConfigHash:${hash}`);
  }
  holds: string[] = [];
  setHold(on: boolean, detail: string): void {
    this.holds.push(`${on ? 'on' : 'off'} ${detail}`);
  }
}

/**
 * Connection sync. Journals (`sync.*`) only when built with `journal: true`, so the order tests of the other
 * parts keep their journals; `commitFirst` makes it ask for the commit before the claim (conntrackd).
 */
export class FakeConnSync extends EventEmitter implements ConnSyncPart {
  commitFirst = false;
  holdDetail: string | undefined;
  roles: string[] = [];
  constructor(
    private readonly j: Journal,
    private readonly journal: boolean,
  ) {
    super();
  }
  private rec(name: string, detail?: string): Promise<void> {
    if (!this.journal) return Promise.resolve();
    return this.j.call(name, detail);
  }
  start(): Promise<void> {
    return this.rec('sync.start');
  }
  stop(o?: { keepKernelDaemons: boolean }): Promise<void> {
    return this.rec('sync.stop', o?.keepKernelDaemons ? 'keep' : 'clear');
  }
  onRole(role: string): Promise<void> {
    this.roles.push(role);
    return this.rec('sync.onRole', role);
  }
  commitBeforeClaim(): boolean {
    return this.commitFirst;
  }
  async commit(): Promise<{ ok: boolean; ms: number }> {
    await this.rec('sync.commit');
    return { ok: true, ms: 1 };
  }
  reconcile(): Promise<void> {
    return Promise.resolve();
  }
  reconfigure(): Promise<void> {
    return this.rec('sync.reconfigure');
  }
  get hold(): string | undefined {
    return this.holdDetail;
  }
  status(): ReturnType<ConnSyncPart['status']> {
    return {
      enabled: true,
      mechanism: 'conntrackd',
      state: 'running',
      role: 'backup',
      restarts: 0,
      resync: { state: 'done', ms: 12, entries: 3 },
      ...(this.holdDetail ? { hold: this.holdDetail } : {}),
    };
  }
}

/** The VIP takeover. */
export class FakeTakeover implements TakeoverPart {
  model: LvsModel;
  constructor(
    private readonly j: Journal,
    o: { model: LvsModel },
  ) {
    this.model = o.model;
  }
  open(): Promise<void> {
    return this.j.call('takeover.open');
  }
  claim(reason: string): Promise<void> {
    return this.j.call('takeover.claim', reason);
  }
  release(reason: string): Promise<void> {
    return this.j.call('takeover.release', reason);
  }
  reannounce(): void {
    this.j.add('takeover.reannounce');
  }
  async reconcile(active: boolean): Promise<{ added: string[]; removed: string[] }> {
    await this.j.call('takeover.reconcile', active ? 'active' : 'standby');
    return { added: [], removed: [] };
  }
  reconfigure(model: LvsModel): Promise<void> {
    this.model = model;
    return this.j.call('takeover.reconfigure');
  }
  async close(): Promise<void> {
    this.j.add('takeover.close');
  }
  status(): ReturnType<TakeoverPart['status']> {
    return { active: false, vips: [], garpSent: 0, garpErrors: 0 };
  }
}

/** The LB table: `fault(on)` emits its fault event. */
export class FakeLbTable extends EventEmitter implements LbTablePart {
  model: LvsModel;
  constructor(
    private readonly j: Journal,
    o: { model: LvsModel },
  ) {
    super();
    this.model = o.model;
  }
  fault(on: boolean, detail: string): void {
    this.emit('fault', { on, detail });
  }
  init(): Promise<void> {
    return this.j.call('lb.init');
  }
  setWeight(vs: string, rs: string, w: number | null): void {
    this.j.add(`lb.setWeight:${vs}/${rs}=${w}`);
  }
  onRole(role: string): Promise<void> {
    return this.j.call('lb.onRole', role);
  }
  reconcile(): Promise<void> {
    return this.j.call('lb.reconcile');
  }
  reconfigure(model: LvsModel): void {
    this.model = model;
    this.j.add('lb.reconfigure');
  }
  clear(): Promise<void> {
    return this.j.call('lb.clear');
  }
  status(): ReturnType<LbTablePart['status']> {
    return {
      backend: 'nftables',
      role: 'unknown',
      services: [],
      lastApplyMs: undefined,
      applyErrors: 0,
      foreign: 0,
      fault: undefined,
      sorryIn: [],
    };
  }
  takeApplyStats(): { seconds: number[]; errors: number } {
    return { seconds: [], errors: 0 };
  }
}

/** The nanny pool: every real server's first verdict is `initial` (weight 1 unless set). */
export class FakeNannyPool extends EventEmitter implements NannyPoolPart {
  model: LvsModel;
  initial = new Map<string, number | null>();
  constructor(
    private readonly j: Journal,
    o: { model: LvsModel },
  ) {
    super();
    this.model = o.model;
    for (const v of o.model.virtualServers)
      for (const r of v.realServers) this.initial.set(`${v.name}/${r.name}`, r.weight);
  }
  start(): void {
    this.j.add('nanny.start');
  }
  stop(): void {
    this.j.add('nanny.stop');
  }
  ready(): Promise<void> {
    return this.j.call('nanny.ready');
  }
  initialWeights(): Map<string, number | null> {
    return this.initial;
  }
  drain(selector: string): number {
    this.j.add(`nanny.drain:${selector}`);
    return selector === 'web/rs1' ? 1 : 0;
  }
  enable(selector: string): number {
    this.j.add(`nanny.enable:${selector}`);
    return selector === 'web/rs1' ? 1 : 0;
  }
  reconfigure(model: LvsModel): void {
    this.model = model;
    this.j.add('nanny.reconfigure');
  }
  status(): ReturnType<NannyPoolPart['status']> {
    return [];
  }
}

/** Reply routing. */
export class FakeReplyRouting implements ReplyRoutingPart {
  constructor(private readonly j: Journal) {}
  install(p: { peer: string; realServers: string[] }): Promise<void> {
    return this.j.call('reply.install', `${p.peer} ${p.realServers.join(',')}`);
  }
  remove(): Promise<void> {
    return this.j.call('reply.remove');
  }
}

/** Every fake part, wired to one journal, with the instances the daemon built. */
export function fakeParts(j: Journal, opts: { syncJournal?: boolean } = {}) {
  const made: {
    sync?: FakeConnSync;
    hb?: FakeHeartbeat;
    takeover?: FakeTakeover;
    lb?: FakeLbTable;
    nanny?: FakeNannyPool;
    reply?: FakeReplyRouting;
  } = {};
  const records = new MemoryLog();
  const notified: Record<string, string | number>[] = [];
  const log: DaemonLog = Object.assign(records, {
    setLevel: (level: string) => j.add(`log.setLevel:${level}`),
    close: () => {},
  });
  const parts: DaemonParts = {
    heartbeat: (o) => (made.hb = new FakeHeartbeat(j, o)),
    takeover: (o) => (made.takeover = new FakeTakeover(j, o)),
    lbTable: (o) => (made.lb = new FakeLbTable(j, o)),
    nannyPool: (o) => (made.nanny = new FakeNannyPool(j, o)),
    replyRouting: () => (made.reply = new FakeReplyRouting(j)),
    connSync: () => (made.sync = new FakeConnSync(j, opts.syncJournal === true)),
    logger: () => log,
    notifier: () => ({
      notify: (fields) => {
        notified.push(fields);
        j.add(`notify:${Object.keys(fields).join(',')}`);
        return true;
      },
      close: () => {},
    }),
  };
  return { parts, made, records, notified };
}
