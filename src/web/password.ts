/**
 * The console's one password: hashed with scrypt (node:crypto), stored in a root-only file. There is no
 * default password — `pulse-web --set-password` writes the file, and the console refuses to start without it
 * (Piranha shipped a default password and was owned for it, CVE-2000-0248).
 *
 * File format (one line): `scrypt$N$r$p$SALT$HASH` with SALT and HASH in base64url.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  fchownSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
  readFileSync,
  unlinkSync,
} from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** scrypt cost parameters. The defaults take ~0.5 s and 128 MiB here (docs/web.md); tests pass a small N. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two (default 2^17). */
  N: number;
  /** Block size (default 8). */
  r: number;
  /** Parallelisation (default 1). */
  p: number;
}

/**
 * scrypt cost of new password hashes (N 2^17, r 8, p 1: OWASP's recommendation). A hash of a lower cost
 * (N 2^15 before issue 17) still verifies and is rewritten at this cost on its next successful login.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 17, r: 8, p: 1 };
/** Most memory one check may take (128·N·r bytes): a tampered file cannot make a login take gigabytes. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const KEY_LEN = 32;
const SALT_LEN = 16;
/** Longest password accepted: scrypt cost does not depend on it, but an unbounded body would. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Shortest password `--set-password` accepts. */
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LEN,
      { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/**
 * Hashes a password with a fresh random salt.
 * @returns the encoded `scrypt$N$r$p$SALT$HASH` line.
 * @example await hashPassword('correct horse battery') // 'scrypt$32768$8$1$…$…'
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Parses an encoded hash; returns undefined when it is not one this module wrote. */
export function parseHash(encoded: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{8,128})\$([A-Za-z0-9_-]{16,256})$/.exec(
    encoded.trim(),
  );
  if (!m) return undefined;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  // N must be a power of two > 1; bound the cost so a tampered file cannot make every login take minutes.
  if (N < 2 || (N & (N - 1)) !== 0 || N > 1 << 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  if (128 * N * r > MAX_SCRYPT_MEMORY || N * r * p > 1 << 22) return undefined;
  return { params: { N, r, p }, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

/**
 * Checks a password against an encoded hash in constant time (for a given hash).
 * @returns false for a wrong password or a malformed hash; never throws.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
  const h = parseHash(encoded);
  if (!h) return false;
  try {
    const key = await derive(password, h.salt, h.params);
    return key.length === h.key.length && timingSafeEqual(key, h.key);
  } catch {
    return false;
  }
}

/** Whether a hash was made at a lower cost than `target` (it is then rewritten at the next login). */
export function weakerThan(encoded: string, target: ScryptParams): boolean {
  const h = parseHash(encoded);
  return !!h && (h.params.N < target.N || h.params.r < target.r || h.params.p < target.p);
}

/** Why a password file cannot be used. */
export class PasswordFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordFileError';
  }
}

/**
 * Reads the password file: it must exist, hold one hash, be owned by root or the console's user and be
 * readable by its owner only.
 * @throws PasswordFileError saying what is wrong and how to fix it.
 */
export function readPasswordFile(path: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new PasswordFileError(
      `${path}: no console password is set (there is no default password); run \`pulse-web --set-password --password-file ${path}\` as root first`,
    );
  }
  const uid = process.geteuid?.() ?? 0;
  // Another user who owns the file could set the console's password (and log in).
  if (st.uid !== 0 && st.uid !== uid)
    throw new PasswordFileError(
      `${path}: owned by uid ${st.uid}; only root or the console's own user (uid ${uid}) may own the password file; run \`chown ${uid} ${path}\``,
    );
  if (!st.isFile()) throw new PasswordFileError(`${path}: not a regular file`);
  if ((st.mode & 0o077) !== 0)
    throw new PasswordFileError(
      `${path}: mode ${(st.mode & 0o777).toString(8)} lets others read the password hash; run \`chmod 600 ${path}\``,
    );
  const text = readFileSync(path, 'utf8');
  if (!parseHash(text))
    throw new PasswordFileError(`${path}: not a scrypt hash written by \`pulse-web --set-password\``);
  return text.trim();
}

/**
 * Writes the password file atomically with mode 0600 (temp file, fsync, rename). Run as root, the file
 * gets `owner` (the console's user, `--set-password --owner`), else the current file's owner.
 */
export function writePasswordFile(path: string, encoded: string, owner?: { uid: number; gid: number }): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  let keep = owner;
  if (!keep && process.geteuid?.() === 0)
    try {
      const st = statSync(path);
      keep = { uid: st.uid, gid: st.gid };
    } catch {
      /* a new file */
    }
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${encoded}\n`);
    if (keep && process.geteuid?.() === 0) fchownSync(fd, keep.uid, keep.gid);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * Notices when the password file is replaced by someone else (`pulse-web --set-password`): then every
 * session is to be revoked, since whoever knew the old password must not stay logged in. A rewrite by
 * the console itself (the hash upgrade) is recorded with `wrote` and is not a change.
 */
export class PasswordWatch {
  private id = '';
  private text: string | undefined;

  constructor(private readonly path: string) {
    this.changed();
  }

  /** True when the file's content differs from what was seen or written last (checks its stat first). */
  changed(): boolean {
    let id: string;
    try {
      const st = statSync(this.path);
      id = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      id = 'missing';
    }
    if (id === this.id) return false;
    this.id = id;
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8').trim();
    } catch {
      text = undefined;
    }
    const was = this.text;
    this.text = text;
    return was !== undefined && was !== text;
  }

  /** The console rewrote the file itself with this hash. */
  wrote(encoded: string): void {
    this.text = encoded.trim();
    this.id = '';
    this.changed();
  }
}
