/**
 * The value formats of the config keys (pure): for each, how a document value is checked, what the
 * reference calls it, what type it has in the validated document and how the web console edits it. A key
 * in keys.ts names its format; schema.ts registers these with convict.
 */
import { canonicalIP, netmaskToPrefix } from '../lib/addr.js';
import { addressLabelProblem, interfaceNameProblem } from '../lib/ifname.js';

/** The largest whole number of milliseconds (setTimeout's limit, 2^31 − 1). */
export const MS_MAX = 2_147_483_647;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const intIn = (lo: number, hi: number, message: string) => (v: unknown) =>
  isInt(v) && v >= lo && v <= hi ? undefined : message;

/** How the web console edits a value (web/edit.ts converts form text by it). */
export type WebKind = 'string' | 'int' | 'bool' | 'enum' | 'list' | 'intlist';

/** One named format. */
export interface FormatDef {
  /** Undefined when the value is fine, else what it must be (convict adds ": value was …"). */
  check(v: unknown): string | undefined;
  /** The type column of docs/config-reference.md. */
  docType: string;
  /** The form input that edits it. */
  web: WebKind;
}

/** The document value type of each named format (the validated document is typed by it). */
export interface FormatValues {
  'lvs-str': string;
  'lvs-bool': boolean;
  'lvs-uint': number;
  'lvs-pos': number;
  'lvs-ms': number;
  'lvs-port': number;
  'lvs-prefix': number;
  'lvs-rtprio': number;
  'lvs-ttl': number;
  'lvs-ip': string;
  'lvs-netmask': string;
  'lvs-ifname': string;
  'lvs-iflabel': string;
  'lvs-ifname-list': string[];
  'lvs-str-list': string[];
  'lvs-status-list': number[];
  'lvs-feedback': string;
  'lvs-items': unknown[];
}

/** A format: a named one, or an enumeration of the words allowed. */
export type Format = keyof FormatValues | readonly string[];

/** The document value type of a format. */
export type FormatValue<F> = F extends keyof FormatValues
  ? FormatValues[F]
  : F extends readonly (infer W)[]
    ? W
    : never;

/** Every named format. */
export const FORMATS: { readonly [F in keyof FormatValues]: FormatDef } = {
  'lvs-str': {
    check: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
    docType: 'string',
    web: 'string',
  },
  'lvs-bool': {
    check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
    docType: 'boolean (lvs.cf: 0/1)',
    web: 'bool',
  },
  'lvs-uint': { check: intIn(0, MS_MAX, 'must be an integer ≥ 0'), docType: 'integer ≥ 0', web: 'int' },
  'lvs-pos': { check: intIn(1, 1_000_000, 'must be an integer ≥ 1'), docType: 'integer ≥ 1', web: 'int' },
  'lvs-ms': {
    check: intIn(0, MS_MAX, `must be a whole number of milliseconds 0–${MS_MAX}`),
    docType: 'milliseconds',
    web: 'int',
  },
  'lvs-port': {
    check: intIn(1, 65535, 'must be a port number 1–65535'),
    docType: 'port 1–65535',
    web: 'int',
  },
  'lvs-prefix': {
    check: intIn(0, 128, 'must be a prefix length 0–128'),
    docType: 'prefix length',
    web: 'int',
  },
  'lvs-rtprio': {
    check: intIn(0, 99, 'must be a SCHED_RR priority 0–99'),
    docType: 'integer 0–99',
    web: 'int',
  },
  'lvs-ttl': { check: intIn(1, 255, 'must be a TTL 1–255'), docType: 'integer 1–255', web: 'int' },
  'lvs-ip': {
    check: (v) =>
      typeof v === 'string' && canonicalIP(v) !== undefined
        ? undefined
        : 'must be an IPv4 (dotted quad) or IPv6 address',
    docType: 'IPv4/IPv6 address',
    web: 'string',
  },
  'lvs-netmask': {
    check: (v) =>
      typeof v === 'string' && netmaskToPrefix(v) !== undefined
        ? undefined
        : 'must be a dotted-quad netmask such as 255.255.255.0',
    docType: 'dotted netmask',
    web: 'string',
  },
  // Every key that names a network interface uses one of these three (a table test holds every
  // device-like key to it): the name reaches root's tools and /proc, /sys paths (lib/ifname.ts).
  'lvs-ifname': {
    check: (v) => (typeof v === 'string' ? ifnameMessage(interfaceNameProblem(v)) : 'must be a string'),
    docType: 'interface name',
    web: 'string',
  },
  'lvs-iflabel': {
    check: (v) =>
      typeof v === 'string'
        ? addressLabelProblem(v) === undefined
          ? undefined
          : `must be an interface name or an iproute2 label (eth0:1): it ${addressLabelProblem(v)}`
        : 'must be a string',
    docType: 'interface or label (eth0:1)',
    web: 'string',
  },
  'lvs-ifname-list': {
    check: (v) => {
      if (!Array.isArray(v)) return 'must be a list of interface names';
      for (const [i, s] of v.entries()) {
        if (typeof s !== 'string') return `must be a list of interface names (item ${i + 1} is not a string)`;
        const p = interfaceNameProblem(s);
        if (p) return `must be a list of interface names: item ${i + 1} ${JSON.stringify(s)} ${p}`;
      }
      return undefined;
    },
    docType: 'list of interface names',
    web: 'list',
  },
  'lvs-str-list': {
    check: (v) =>
      Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '')
        ? undefined
        : 'must be a list of names',
    docType: 'list of names',
    web: 'list',
  },
  'lvs-status-list': {
    check: (v) =>
      Array.isArray(v) && v.every((s) => isInt(s) && s >= 100 && s <= 599)
        ? undefined
        : 'must be a list of HTTP status codes 100–599',
    docType: 'list of status codes',
    web: 'intlist',
  },
  'lvs-feedback': {
    check: (v) =>
      typeof v === 'string' && /^(none|exit-code|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.test(v)
        ? undefined
        : 'must be none, exit-code or header:NAME',
    docType: 'none, exit-code or header:NAME',
    web: 'string',
  },
  'lvs-items': {
    check: (v) => (Array.isArray(v) ? undefined : 'must be a list'),
    docType: 'list of mappings',
    web: 'list',
  },
};

/** The message of an interface-name format for a problem (lib/ifname.ts), or undefined. */
function ifnameMessage(problem: string | undefined): string | undefined {
  return problem === undefined ? undefined : `must be an interface name: it ${problem}`;
}

/** The formats of keys that name a network interface (the table test holds every device-like key to them). */
export const INTERFACE_FORMATS: readonly Format[] = ['lvs-ifname', 'lvs-iflabel', 'lvs-ifname-list'];

/** The reference's type column of any format (an enumeration lists its words). */
export function docTypeOf(format: Format): string {
  return typeof format === 'string' ? FORMATS[format].docType : format.join(' | ');
}

/** The words a web `enum` of this format offers (an enumeration's words). */
export function webOptionsOf(format: Format): readonly string[] | undefined {
  return typeof format === 'string' ? undefined : format;
}

/** What is wrong with a (non-null) value by its format, else undefined. */
export function valueProblem(format: Format, v: unknown): string | undefined {
  if (typeof format === 'string') return FORMATS[format].check(v);
  return format.includes(v as string)
    ? undefined
    : `must be one of the possible values: ${JSON.stringify(format)}`;
}

/** How the web edits a value of this format. */
export function webKindOf(format: Format): WebKind {
  return typeof format === 'string' ? FORMATS[format].web : 'enum';
}
