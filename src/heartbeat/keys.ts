/**
 * Heartbeat key files (I/O edge): read a root-only key, refuse one that group or others can read, and
 * write a fresh one (`pulsectl keygen FILE`).
 *
 * Format: one line of hex, at least 32 bytes (keygen writes 32 random bytes = 64 hex digits). Nothing else
 * is accepted — a passphrase in particular: every captured heartbeat (and config push) is an HMAC an
 * attacker can test guesses against offline, at GPU speed, so the key must be random. `checkKeyStrength`
 * is the one check, used by the heartbeat and by the web console's push key alike.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { type HeartbeatKey, makeKey } from './codec.js';

/** Fewest key bytes accepted: 256 bits, what `pulsectl keygen` writes. */
export const MIN_KEY_BYTES = 32;

/**
 * Why key file content is not a random key of `pulsectl keygen` strength, or undefined when it is: it
 * must be hex of at least 32 bytes, and those bytes must look random: among the first 32, at least 16
 * distinct byte values (refuses repeated patterns such as `deadbeef…`) and at least 16 distinct steps from
 * one byte to the next (refuses counting sequences such as `000102…`). 32 random bytes have ~30 of each;
 * the chance that a keygen key fails either is below 1e-15.
 */
export function checkKeyStrength(content: Buffer): string | undefined {
  const text = content.toString('utf8').trim();
  if (!/^[0-9a-fA-F]*$/.test(text) || text.length % 2 !== 0)
    return 'is not hex: a key must be random bytes written as hex, not a passphrase; run: pulsectl keygen FILE';
  const key = Buffer.from(text, 'hex');
  if (key.length < MIN_KEY_BYTES)
    return `is too short (${key.length} bytes, need at least ${MIN_KEY_BYTES}); run: pulsectl keygen FILE`;
  const head = [...key.subarray(0, MIN_KEY_BYTES)];
  const values = new Set(head).size;
  const steps = new Set(head.slice(1).map((b, i) => (b - head[i]! + 256) % 256)).size;
  if (values < 16 || steps < 16)
    return (
      `does not look random (${values} distinct byte values and ${steps} distinct steps in the first ` +
      `${MIN_KEY_BYTES} bytes, need 16 of each); run: pulsectl keygen FILE`
    );
  return undefined;
}

/** Parses key file content into key bytes. Throws (with `file` in the message) when checkKeyStrength refuses it. */
export function parseKey(content: Buffer, file: string): Buffer {
  const why = checkKeyStrength(content);
  if (why) throw new Error(`${file}: heartbeat key ${why}`);
  return Buffer.from(content.toString('utf8').trim(), 'hex');
}

/**
 * Reads a key file. Refuses a file that group or others may read or write (mode & 0o077), that is owned by
 * a user other than root (or the reader), that is not a regular file, or whose content checkKeyStrength
 * refuses. Returns the key with its id.
 */
export function readKeyFile(file: string): HeartbeatKey {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new Error(`${file}: cannot open heartbeat key file: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file}: heartbeat key file is not a regular file`);
    const uid = process.geteuid?.() ?? 0;
    // Owned by another user, the key could be rewritten by that user (the web console's, say).
    if (st.uid !== 0 && st.uid !== uid)
      throw new Error(
        `${file}: heartbeat key file is owned by uid ${st.uid}, not root; run: chown root ${file}`,
      );
    if ((st.mode & 0o077) !== 0)
      throw new Error(
        `${file}: heartbeat key file is accessible by group/others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); ` +
          `run: chmod 600 ${file}`,
      );
    return makeKey(parseKey(readFileSync(fd), file));
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a fresh random 256-bit key to `file` with mode 0600. Refuses to overwrite an existing file
 * (move the old key aside first: it becomes heartbeat_key_file_old during a rotation) unless `force`,
 * which replaces it atomically (write a temporary file, then rename).
 */
export function keygen(file: string, options: { force?: boolean } = {}): HeartbeatKey {
  const secret = randomBytes(32);
  const target = options.force ? `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}` : file;
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST')
      throw new Error(
        `${file}: already exists; move it aside (keep it as heartbeat_key_file_old to rotate) or use --force`,
      );
    throw new Error(`${target}: cannot create key file: ${e.message}`);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${secret.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (target !== file) {
    try {
      renameSync(target, file);
    } catch (err) {
      rmSync(target, { force: true });
      throw new Error(`${file}: cannot replace key file: ${(err as Error).message}`);
    }
  }
  return makeKey(secret);
}
