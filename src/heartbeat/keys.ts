/**
 * Heartbeat key files (I/O edge): read a root-only key, refuse one that group or others can read, and
 * write a fresh one (`pulsectl keygen FILE`).
 *
 * Format: one line of hex (keygen writes 32 random bytes = 64 hex digits). Any other content of at least
 * 16 bytes (trimmed) is used as-is, so an operator's own passphrase file also works.
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

/** Parses key file content into key bytes. Throws (with `file` in the message) when too short. */
export function parseKey(content: Buffer, file: string): Buffer {
  const text = content.toString('utf8').trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 && text.length >= 32)
    return Buffer.from(text, 'hex');
  const raw = Buffer.from(text, 'utf8');
  if (raw.length < 16)
    throw new Error(`${file}: heartbeat key too short (${raw.length} bytes, need at least 16)`);
  return raw;
}

/**
 * Reads a key file. Refuses a file that group or others may read or write (mode & 0o077), or that is not a
 * regular file. Returns the key with its id.
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
