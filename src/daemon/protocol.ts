/**
 * The control protocol between `pulsectl` and the daemon: one JSON object per line over a unix stream
 * socket. Pure: request validation and framing only, so it can be tested and fuzzed without a socket.
 *
 *   → {"cmd":"drain","args":{"server":"web/rs1"}}
 *   ← {"ok":true,"result":{...}}   or   {"ok":false,"error":"unknown command \"dran\""}
 * `events` is the one streaming command: after {"ok":true,"result":"following"} the daemon writes one
 * event object per line until the client disconnects.
 */

/** Largest control request line accepted; a longer one gets an error reply and the connection is closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** A validated control request. */
export type ControlCommand =
  | { cmd: 'status' }
  | { cmd: 'takeover' }
  | { cmd: 'release' }
  | { cmd: 'drain'; server: string }
  | { cmd: 'enable'; server: string }
  | { cmd: 'reload' }
  | { cmd: 'check-config'; path?: string }
  | { cmd: 'events' }
  | { cmd: 'ping' };

/** One reply line: the result, or the error message. */
export interface ControlReply {
  ok: boolean;
  result?: unknown;
  error?: string;
}

const SIMPLE = new Set(['status', 'takeover', 'release', 'reload', 'events', 'ping']);

/** Validates one request line. Returns the command or an error message; never throws. */
export function parseRequest(line: string): ControlCommand | { error: string } {
  if (Buffer.byteLength(line) > MAX_REQUEST_BYTES)
    return { error: `request larger than ${MAX_REQUEST_BYTES} bytes` };
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { error: 'request is not valid JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return { error: 'request must be a JSON object' };
  const { cmd, args } = obj as { cmd?: unknown; args?: unknown };
  if (typeof cmd !== 'string') return { error: 'request needs a string "cmd"' };
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
    return { error: '"args" must be an object' };
  const a = (args ?? {}) as Record<string, unknown>;
  if (SIMPLE.has(cmd)) return { cmd } as ControlCommand;
  if (cmd === 'drain' || cmd === 'enable') {
    const server = a.server;
    if (typeof server !== 'string' || server.length === 0 || server.length > 256)
      return {
        error: `${cmd} needs args.server: a non-empty string (VIRTUAL/SERVER, SERVER or ADDRESS:PORT)`,
      };
    return { cmd, server };
  }
  if (cmd === 'check-config') {
    if (a.path !== undefined && (typeof a.path !== 'string' || a.path.length > 4096))
      return { error: 'check-config args.path must be a string' };
    return { cmd, path: a.path as string | undefined };
  }
  return { error: `unknown command ${JSON.stringify(cmd.slice(0, 64))}` };
}

/** Splits a byte stream into lines, enforcing the size limit on a line still being received. */
export class LineSplitter {
  private buf = '';
  constructor(private readonly max = MAX_REQUEST_BYTES) {}
  /** Feeds a chunk; returns complete lines, or 'overflow' once a line exceeds the limit. */
  push(chunk: string): string[] | 'overflow' {
    this.buf += chunk;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    if (Buffer.byteLength(this.buf) > this.max) return 'overflow';
    return lines.filter((l) => l.trim().length > 0);
  }
}
