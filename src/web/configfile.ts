/**
 * The configuration file edge: read it, and replace it atomically while keeping the previous version
 * (`FILE.prev`): write a temp file beside it, fsync, rename over, fsync the directory. A crash at any
 * point leaves either the old or the new file, never a torn one.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A short content hash: the "version" a form was built from (optimistic concurrency). */
export function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Reads the configuration file as text. @throws the fs error when it cannot be read. */
export function readConfigText(path: string): string {
  return readFileSync(path, 'utf8');
}

function writeFileAtomically(
  path: string,
  text: string,
  mode: number,
  owner?: { uid: number; gid: number },
): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.web-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* some file systems refuse fsync on a directory; the rename is still atomic */
  }
}

/** Where the previous version of a config file is kept. */
export function previousPath(path: string): string {
  return `${path}.prev`;
}

/**
 * Replaces `path` with `text` atomically, first saving the current content as `FILE.prev` (atomically
 * too). Mode and owner of the current file are kept.
 * @returns the path of the kept previous version.
 */
export function saveAtomically(path: string, text: string): { previous: string } {
  const st = statSync(path);
  const mode = st.mode & 0o7777;
  const owner = { uid: st.uid, gid: st.gid };
  const previous = previousPath(path);
  writeFileAtomically(previous, readFileSync(path, 'utf8'), mode, owner);
  writeFileAtomically(path, text, mode, owner);
  return { previous };
}
