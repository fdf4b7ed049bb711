/**
 * Boot Debian's own kernel (it ships IPVS) under qemu-system-x86_64 (TCG) with the host's `/` as a read-only
 * 9p root plus a tmpfs overlay, run one Node script inside the guest against the real kernel, and hand back
 * what it wrote to a second, writable 9p share. The recipe is FIELD-NOTES.md's ("Real IPVS in a VM").
 *
 *   const vm = await prepareVm();                       // finds kernel, builds/caches the initramfs
 *   const r = await runInVm(vm, { script: '/abs/guest.ts', args: [] });
 *   r.results['result.json']                            // files the guest wrote to $LVSP_RESULTS
 *
 * The guest script is bundled to one plain JavaScript file on the host first (see {@link bundle}); inside
 * the guest it runs with cwd = the repository root and reads its arguments from $LVSP_RESULTS/spec.json.
 *
 * CLI: `tsx scripts/vm/vm.ts GUEST_SCRIPT [ARGS…]` prints the guest console and the result files.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A bootable VM: kernel image, its version and the initramfs built for it. */
export interface VmImage {
  kernelVersion: string;
  vmlinuz: string;
  initramfs: string;
  qemu: string;
}

/** Why the VM cannot run here (shown as the skip reason), or undefined when it can. */
export function vmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!findOnPath('qemu-system-x86_64')) return 'needs qemu-system-x86_64';
  if (!findDebianKernel()) return 'needs a debian kernel (/boot/vmlinuz-*-amd64 with ip_vs modules)';
  if (!findOnPath('busybox') || !findOnPath('cpio')) return 'needs busybox-static and cpio';
  return undefined;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The newest /boot/vmlinuz-*-amd64 whose /lib/modules tree has IPVS. */
export function findDebianKernel(): { version: string; vmlinuz: string } | undefined {
  if (!existsSync('/boot')) return undefined;
  const versions = readdirSync('/boot')
    .filter((f) => /^vmlinuz-.*-amd64$/.test(f))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(`/lib/modules/${v}/kernel/net/netfilter/ipvs/ip_vs.ko`) || hasCompressed(v))
    .sort();
  const version = versions.at(-1);
  return version ? { version, vmlinuz: `/boot/vmlinuz-${version}` } : undefined;
}

function hasCompressed(v: string): boolean {
  return ['.xz', '.zst', '.gz'].some((ext) =>
    existsSync(`/lib/modules/${v}/kernel/net/netfilter/ipvs/ip_vs.ko${ext}`),
  );
}

/** Modules the initramfs needs for 9p + overlay, in insmod order (dependencies first). */
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/** The initramfs's /init: mount the host's / (9p, read-only) under a tmpfs overlay and switch_root into it. */
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /host /up /newroot
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "/modules/$m" || echo "lvsp-init: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host || { echo "lvsp-init: 9p mount failed"; poweroff -f; }
mount -t tmpfs -o size=256m tmpfs /up
mkdir -p /up/upper /up/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/up/upper,workdir=/up/work /newroot || { echo "lvsp-init: overlay failed"; poweroff -f; }
GUEST_INIT=$(sed -n 's/.*lvsp_init=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
umount /proc
exec switch_root /newroot /bin/bash "$GUEST_INIT"
`;

/**
 * Find the kernel and build (or reuse from the cache) the initramfs: busybox-static, the 9p/overlay modules
 * of that kernel and the /init above (≈1.5 MB, uncompressed cpio).
 */
export async function prepareVm(cacheDir = join(tmpdir(), 'lvs-pulse-vm')): Promise<VmImage> {
  const k = findDebianKernel();
  if (!k) throw new Error('vm: no /boot/vmlinuz-*-amd64 with IPVS modules found');
  const qemu = findOnPath('qemu-system-x86_64');
  if (!qemu) throw new Error('vm: qemu-system-x86_64 not found');
  const deps: string[] = [];
  for (const m of INITRAMFS_MODULES) {
    const { stdout } = await run('modprobe', ['-S', k.version, '--show-depends', m]);
    for (const line of stdout.split('\n')) {
      const f = /^insmod (\S+)/.exec(line.trim())?.[1];
      if (f && !deps.includes(f)) deps.push(f);
    }
  }
  const busybox = findOnPath('busybox') as string;
  const hash = createHash('sha256')
    .update(INIT)
    .update(deps.join('\n'))
    .update(k.version)
    .digest('hex')
    .slice(0, 12);
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, `initramfs-${k.version}-${hash}.cpio`);
  if (!existsSync(out)) {
    const root = mkdtempSync(join(cacheDir, 'root-'));
    try {
      mkdirSync(join(root, 'bin'));
      mkdirSync(join(root, 'modules'));
      copyFileSync(busybox, join(root, 'bin/busybox'));
      const order: string[] = [];
      for (const f of deps) {
        const base = f.split('/').at(-1) as string;
        if (base.endsWith('.ko')) copyFileSync(f, join(root, 'modules', base));
        else {
          // Compressed module: let the host's xz/zstd unpack it (busybox insmod may not).
          const tool = base.endsWith('.zst') ? 'zstd' : base.endsWith('.xz') ? 'xz' : 'gzip';
          const { stdout } = await run(tool, ['-dc', f], { encoding: 'buffer', maxBuffer: 64 << 20 });
          writeFileSync(join(root, 'modules', base.replace(/\.(xz|zst|gz)$/, '')), stdout);
        }
        order.push(base.replace(/\.(xz|zst|gz)$/, ''));
      }
      writeFileSync(join(root, 'modules.order'), `${order.join('\n')}\n`);
      writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
      const files = [
        '.',
        'bin',
        'bin/busybox',
        'init',
        'modules.order',
        'modules',
        ...order.map((m) => `modules/${m}`),
      ];
      await cpio(root, files, `${out}.tmp`);
      copyFileSync(`${out}.tmp`, out);
      rmSync(`${out}.tmp`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  return { kernelVersion: k.version, vmlinuz: k.vmlinuz, initramfs: out, qemu };
}

function cpio(cwd: string, files: string[], out: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    const p = spawn('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`vm: cpio exited ${code}: ${err}`));
      writeFileSync(out, Buffer.concat(chunks));
      resolvePromise();
    });
    p.stdin.end(`${files.join('\n')}\n`);
  });
}

/** Options of {@link runInVm}. */
export interface RunOptions {
  /** Absolute path of a TypeScript/JavaScript file to bundle and run with node inside the guest. */
  script: string;
  args?: string[];
  /** Working directory inside the guest (default: the repository root). */
  cwd?: string;
  /** Kill qemu after this long, ms (default 180 000). */
  timeoutMs?: number;
  memMb?: number;
  /** Called with each chunk of the guest console. */
  onConsole?: (text: string) => void;
}

/** What came back from the guest. */
export interface RunResult {
  /** Files the guest wrote to $LVSP_RESULTS, by name (text). */
  results: Record<string, string>;
  /** The guest script's exit status, or undefined when it never reported one. */
  exitCode: number | undefined;
  console: string;
  wallMs: number;
}

const REPO = resolve(__dirname, '../..');

/**
 * Bundle the guest script and everything it imports into one CommonJS file with esbuild (tsx's own
 * dependency): node + tsx take ~15 s to start under TCG, plain node ~1 s. Node built-ins stay external.
 */
async function bundle(script: string, outfile: string): Promise<void> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  await esbuild.build({
    entryPoints: [script],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
}

/** Boot the VM, run `opts.script` inside it, power off, and collect the results share. */
export async function runInVm(vm: VmImage, opts: RunOptions): Promise<RunResult> {
  const results = mkdtempSync(join(tmpdir(), 'lvsp-vm-results-'));
  const spec = { script: opts.script, args: opts.args ?? [], cwd: opts.cwd ?? REPO, node: process.execPath };
  writeFileSync(join(results, 'spec.json'), JSON.stringify(spec));
  await bundle(opts.script, join(results, 'guest.cjs'));
  const guestInit = join(REPO, 'scripts/vm/guest-init.sh');
  const args = [
    '-machine',
    'q35',
    '-accel',
    'tcg,thread=multi,tb-size=256',
    '-smp',
    '2',
    '-m',
    String(opts.memMb ?? 1024),
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-kernel',
    vm.vmlinuz,
    '-initrd',
    vm.initramfs,
    '-append',
    `console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 lvsp_init=${guestInit}`,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${results},mount_tag=lvspresults,security_model=none,multidevs=remap`,
  ];
  const t0 = Date.now();
  let consoleText = '';
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const q = spawn(vm.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        q.kill('SIGKILL');
        reject(
          new Error(
            `vm: guest did not power off within ${opts.timeoutMs ?? 180_000} ms\n${consoleText.slice(-4000)}`,
          ),
        );
      }, opts.timeoutMs ?? 180_000);
      const onData = (c: Buffer) => {
        const s = c.toString();
        consoleText += s;
        opts.onConsole?.(s);
      };
      q.stdout.on('data', onData);
      q.stderr.on('data', onData);
      q.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      q.on('close', () => {
        clearTimeout(timer);
        resolvePromise();
      });
    });
    const files: Record<string, string> = {};
    for (const f of readdirSync(results)) {
      if (f !== 'spec.json' && f !== 'guest.cjs') files[f] = readFileSync(join(results, f), 'utf8');
    }
    const code = files['exit-code'] !== undefined ? Number(files['exit-code'].trim()) : undefined;
    return { results: files, exitCode: code, console: consoleText, wallMs: Date.now() - t0 };
  } finally {
    rmSync(results, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [script, ...rest] = process.argv.slice(2);
  if (!script) {
    process.stderr.write('usage: tsx scripts/vm/vm.ts GUEST_SCRIPT [ARGS…]\n');
    process.exit(2);
  }
  (async () => {
    const vm = await prepareVm();
    const r = await runInVm(vm, {
      script: resolve(script),
      args: rest,
      onConsole: (s) => process.stdout.write(s),
    });
    for (const [name, text] of Object.entries(r.results)) process.stdout.write(`\n== ${name}\n${text}\n`);
    process.stdout.write(`\nvm: exit ${r.exitCode} in ${r.wallMs} ms\n`);
    process.exit(r.exitCode === 0 ? 0 : 1);
  })().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
