/**
 * Health-check regular expressions (pure): POSIX extended regular expressions, as Piranha's nanny read
 * them (regcomp with REG_EXTENDED, C locale, unanchored search, no REG_NEWLINE), matched in linear time.
 *
 * Why: JavaScript's RegExp backtracks, and the text matched is whatever a real server sends; `^(.+)+QQQ`
 * never returned on a 254-byte reply and `ok.*ready.*true` took 8 s on a 13.7 KiB body, on the daemon's
 * main thread. Here a pattern is translated to RE2 syntax and run by re2js, the pure-JavaScript port of
 * RE2 (no native build; a lazy DFA with a bounded cache, an NFA fallback: time linear in the input for a
 * given program). The other candidates were V8's experimental linear engine (the `l` flag needs a V8
 * command-line flag and lacks parts of the syntax) and the native `re2` binding (node-gyp, or a prebuilt
 * binary fetched at install time). Work per match is bounded by capping both sides: the program size
 * (MAX_PROGRAM instructions, checked when the config is read) and the input (the caller's window: 254
 * bytes for send/expect, as Piranha read, and the HTTP body cap). docs/security.md has the
 * figures.
 *
 * Bytes: patterns and inputs are both handled as bytes (latin1 strings, one character per byte), as
 * regcomp saw them in the C locale: `.` and bracket expressions match one byte, the classes are ASCII.
 *
 * The translation follows glibc's regcomp for everything POSIX leaves to the implementation, and refuses
 * (with a message and the character's index) what cannot be carried over: backreferences (undefined in
 * ERE, and not linear-time), collating elements `[. .]` and equivalence classes `[= =]`, the GNU word
 * anchors `\<` `\>`, and what regcomp itself rejects (`*a`, `a{`, `[z-a]`, an unmatched `(`).
 */
import { RE2JS } from 're2js';

/** The largest compiled program accepted (RE2 instructions): with the input caps, the bound on work per match. */
export const MAX_PROGRAM = 256;
/** The largest repeat count RE2 takes (`{m,n}`); regcomp's RE_DUP_MAX is 32767. */
export const MAX_REPEAT = 1000;

/** A pattern that cannot be run: why, and the index (in characters) where the problem starts. */
export interface RegexError {
  error: string;
  index: number;
}

/** A translated pattern: RE2 syntax, and what it matches differently from what was probably meant. */
export interface Translation {
  re2: string;
  /** Not errors: e.g. `\d`, which POSIX ERE (glibc) reads as a plain `d`. */
  warnings: string[];
}

/** A compiled health-check pattern. */
export interface EreMatcher {
  /** The pattern as written. */
  readonly source: string;
  /** Its RE2 translation. */
  readonly re2: string;
  /** Size of the compiled program (≤ MAX_PROGRAM). */
  readonly programSize: number;
  readonly warnings: readonly string[];
  /** Unanchored search in `bytes` (a latin1 string: one character per byte, see {@link bytesText}). */
  test(bytes: string): boolean;
}

/** The POSIX character classes (C locale), as ranges of byte values. */
const CLASSES: Readonly<Record<string, readonly [number, number][]>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};
const WORD: readonly [number, number][] = [...CLASSES.alnum!, [0x5f, 0x5f]];

/** A byte as RE2 text: letters and digits as they are, everything else `\x{hh}` (never syntax). */
function lit(code: number): string {
  const c = String.fromCharCode(code);
  return /[A-Za-z0-9]/.test(c) ? c : `\\x{${code.toString(16)}}`;
}
function classOf(ranges: readonly [number, number][], negate = false): string {
  return `[${negate ? '^' : ''}${ranges.map(([lo, hi]) => (lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`)).join('')}]`;
}

/** The latin1 text of a string's UTF-8 bytes (one character per byte): how patterns are read. */
export function patternBytes(pattern: string): string {
  return Buffer.from(pattern, 'utf8').toString('latin1');
}

/** Bytes as the text {@link EreMatcher.test} takes: `limit` bytes at most, optionally cut at the first NUL. */
export function bytesText(b: Uint8Array, limit: number, cutAtNul = false): string {
  let end = Math.min(b.length, limit);
  if (cutAtNul) {
    const z = b.subarray(0, end).indexOf(0);
    if (z >= 0) end = z;
  }
  return Buffer.from(b.buffer, b.byteOffset, end).toString('latin1');
}

class Fail extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Translates a POSIX ERE (as regcomp REG_EXTENDED reads it) into RE2 syntax, or says why it cannot.
 * `pattern` is the config's text; its UTF-8 bytes are what is translated.
 *
 * @example translateEre('HTTP/1\\.[01] [[:digit:]]{3}') → { re2: 'HTTP\\x{2f}1\\x{2e}[01]\\x{20}[0-9]{3}', warnings: [] }
 */
export function translateEre(pattern: string): Translation | RegexError {
  const p = patternBytes(pattern);
  const warnings: string[] = [];
  let i = 0;
  let depth = 0;
  const at = (k: number) => p.charCodeAt(k);
  const ch = (k: number) => p[k] ?? '';

  const interval = (): { min: number; max: number | undefined; len: number } | undefined => {
    const m = /^\{(\d*)(,(\d*))?\}/.exec(p.slice(i));
    if (!m || (m[1] === '' && m[2] === undefined)) return undefined;
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    return { min, max, len: m[0].length };
  };

  const bracket = (): string => {
    const start = i;
    i++; // [
    let negate = false;
    if (ch(i) === '^') {
      negate = true;
      i++;
    }
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      if (i >= p.length) throw new Fail(start, "unmatched '[' (a bracket expression needs its ']')");
      const c = ch(i);
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && (ch(i + 1) === ':' || ch(i + 1) === '.' || ch(i + 1) === '=')) {
        const kind = ch(i + 1);
        const close = p.indexOf(`${kind}]`, i + 2);
        if (close < 0) throw new Fail(start, "unmatched '[' (a bracket expression needs its ']')");
        if (kind !== ':')
          throw new Fail(
            i,
            `${kind === '.' ? 'collating elements [. .]' : 'equivalence classes [= =]'} are not supported (write the characters themselves)`,
          );
        const name = p.slice(i + 2, close);
        const cls = Object.hasOwn(CLASSES, name) ? CLASSES[name] : undefined;
        if (!cls)
          throw new Fail(
            i,
            `unknown character class [:${name}:] (POSIX has ${Object.keys(CLASSES).join(' ')})`,
          );
        i = close + 2;
        if (ch(i) === '-' && ch(i + 1) !== ']' && i + 1 < p.length)
          throw new Fail(i, 'a character class cannot start a range');
        ranges.push(...cls);
        continue;
      }
      const lo = at(i);
      i++;
      if (ch(i) === '-' && i + 1 < p.length && ch(i + 1) !== ']') {
        if (ch(i + 1) === '[' && ':.='.includes(ch(i + 2)))
          throw new Fail(i + 1, 'a range must end in a single character');
        const hi = at(i + 1);
        if (hi < lo)
          throw new Fail(i - 1, `invalid range ${p[i - 1]}-${p[i + 1]} (its end comes before its start)`);
        i += 2;
        ranges.push([lo, hi]);
        if (ch(i) === '-' && i + 1 < p.length && ch(i + 1) !== ']')
          throw new Fail(
            i,
            "a range cannot be followed by '-' and another character (write '-' first or last)",
          );
        continue;
      }
      ranges.push([lo, lo]);
    }
    return classOf(ranges, negate);
  };

  const backslash = (): { text: string; anchor: boolean } => {
    const start = i;
    i++; // backslash
    if (i >= p.length) throw new Fail(start, 'the pattern ends with a backslash');
    const c = ch(i);
    i++;
    if (/[1-9]/.test(c))
      throw new Fail(start, `backreference \\${c}: not part of POSIX ERE, and not possible in linear time`);
    switch (c) {
      case 'w':
        return { text: classOf(WORD), anchor: false };
      case 'W':
        return { text: classOf(WORD, true), anchor: false };
      case 's':
        return { text: classOf(CLASSES.space!), anchor: false };
      case 'S':
        return { text: classOf(CLASSES.space!, true), anchor: false };
      case 'b':
        return { text: '\\b', anchor: true };
      case 'B':
        return { text: '\\B', anchor: true };
      case '`':
        return { text: '\\A', anchor: true };
      case "'":
        return { text: '\\z', anchor: true };
      case '<':
      case '>':
        throw new Fail(start, `the GNU word anchor \\${c} is not supported (write \\b)`);
    }
    if (/[A-Za-z0-9]/.test(c)) {
      const hint =
        c === 'd'
          ? ' (for a digit write [[:digit:]])'
          : c === 'n' || c === 't' || c === 'r'
            ? ' (lvs.cf expands \\n \\r \\t in the value itself; write one backslash there)'
            : '';
      warnings.push(`'\\${c}' matches a plain '${c}' in POSIX ERE, as Piranha's regcomp read it${hint}`);
    }
    return { text: lit(c.charCodeAt(0)), anchor: false };
  };

  const alternation = (): string => {
    const branches = [branch()];
    while (ch(i) === '|') {
      i++;
      branches.push(branch());
    }
    return branches.join('|');
  };

  const branch = (): string => {
    // each item: its RE2 text, and whether it is an anchor or already carries a quantifier
    const items: { text: string; anchor: boolean; quantified: boolean }[] = [];
    for (;;) {
      if (i >= p.length) break;
      const c = ch(i);
      if (c === '|' || (c === ')' && depth > 0)) break;
      const iv = c === '{' ? interval() : undefined;
      if (c === '*' || c === '+' || c === '?' || iv) {
        const last = items[items.length - 1];
        if (!last || last.anchor)
          throw new Fail(
            i,
            `'${c}' has nothing to repeat${c === '{' ? " (write \\{ for a literal '{')" : ''}`,
          );
        let q: string;
        if (iv) {
          const top = iv.max ?? iv.min;
          if (iv.max !== undefined && iv.max < iv.min)
            throw new Fail(i, `invalid interval {${iv.min},${iv.max}} (its maximum is below its minimum)`);
          if (top > MAX_REPEAT)
            throw new Fail(i, `repeat count above ${MAX_REPEAT} (the linear engine's limit)`);
          q =
            iv.max === undefined
              ? iv.min === 0
                ? '*'
                : `{${iv.min},}`
              : iv.min === iv.max
                ? `{${iv.min}}`
                : `{${iv.min},${iv.max}}`;
          i += iv.len;
        } else {
          q = c;
          i++;
        }
        // RE2 takes one quantifier per atom: `a**` and `a+{2}` (accepted by regcomp) are grouped first.
        last.text = `${last.quantified ? `(?:${last.text})` : last.text}${q}`;
        last.quantified = true;
        continue;
      }
      if (c === '{')
        throw new Fail(i, "'{' must start an interval {m}, {m,} or {m,n} (write \\{ for a literal '{')");
      if (c === '(') {
        const start = i;
        i++;
        depth++;
        const inner = alternation();
        if (ch(i) !== ')') throw new Fail(start, "unmatched '('");
        i++;
        depth--;
        items.push({ text: `(?:${inner})`, anchor: false, quantified: false });
      } else if (c === '^' || c === '$') {
        i++;
        items.push({ text: c, anchor: true, quantified: false });
      } else if (c === '.') {
        i++;
        items.push({ text: '.', anchor: false, quantified: false });
      } else if (c === '[') {
        items.push({ text: bracket(), anchor: false, quantified: false });
      } else if (c === '\\') {
        const e = backslash();
        items.push({ text: e.text, anchor: e.anchor, quantified: false });
      } else {
        // `)` with no open group, `]` and `}` are literal, as regcomp reads them
        i++;
        items.push({ text: lit(at(i - 1)), anchor: false, quantified: false });
      }
    }
    return items.map((x) => x.text).join('');
  };

  try {
    const re2 = alternation();
    if (i < p.length) throw new Fail(i, `unexpected '${ch(i)}'`);
    return { re2, warnings };
  } catch (e) {
    if (e instanceof Fail) return { error: e.message, index: charIndex(pattern, e.index) };
    throw e;
  }
}

/** The character index in `pattern` of byte `byteIndex` of its UTF-8 form (for messages). */
function charIndex(pattern: string, byteIndex: number): number {
  let bytes = 0;
  let i = 0;
  for (const c of pattern) {
    if (bytes >= byteIndex) return i;
    bytes += Buffer.byteLength(c, 'utf8');
    i += c.length;
  }
  return i;
}

/**
 * Compiles a POSIX ERE for linear-time matching, or says why it cannot run: not translatable (see
 * {@link translateEre}), rejected by RE2 (e.g. nested repeats above 1000 in all), or a program larger
 * than {@link MAX_PROGRAM}.
 */
export function compileEre(pattern: string): EreMatcher | RegexError {
  const t = translateEre(pattern);
  if ('error' in t) return t;
  let re: RE2JS;
  try {
    re = RE2JS.compile(t.re2, RE2JS.DOTALL);
  } catch (e) {
    return { error: `too complex for the linear engine: ${(e as Error).message}`, index: 0 };
  }
  const programSize = re.programSize();
  if (programSize > MAX_PROGRAM)
    return {
      error: `too large for bounded matching: ${programSize} instructions, at most ${MAX_PROGRAM} (shorten repeats such as {1,500})`,
      index: 0,
    };
  return {
    source: pattern,
    re2: t.re2,
    programSize,
    warnings: t.warnings,
    test: (bytes) => re.test(bytes),
  };
}

/**
 * Why a pattern cannot be used as a health-check regex (`at character N: …`), else undefined; with the
 * warnings it gets when it can. What the config checks call.
 */
export function ereCheck(pattern: string): { error?: string; warnings: readonly string[] } {
  const c = compileEre(pattern);
  if ('error' in c) return { error: `at character ${c.index + 1}: ${c.error}`, warnings: [] };
  return { warnings: c.warnings };
}
