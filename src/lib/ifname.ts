/**
 * Network interface names as the kernel allows them (pure), and the only paths built from them.
 *
 * A device name from the config reaches root's tools (`ip … dev NAME`, `ipvsadm --mcast-interface NAME`,
 * `sysctl`, nft) and file paths (/proc/sys/net/ipv4/conf/NAME/…, /sys/class/net/NAME/…). The kernel's
 * own rule (dev_valid_name: 1–15 bytes, not `.` or `..`, no `/`, `:` or white space) is narrowed to
 * the characters iproute2 and udev names use, `[A-Za-z0-9_.@-]`, so a name can be neither a path step
 * nor a word separator in any of them; a leading `-` is refused too, as every one of those tools would
 * read it as an option. An iproute2 address label (`eth0:1`) is a device name, `:` and a label part of
 * the same characters, 15 bytes in all (IFNAMSIZ − 1).
 */

/** The longest interface name or label the kernel stores (IFNAMSIZ − 1). */
export const IFNAME_MAX = 15;

const NAME_CHARS = /^[A-Za-z0-9_.@-]+$/;

/**
 * Why `name` is not a kernel device name we accept (a phrase that follows "it": `is empty`), or
 * undefined when it is one.
 *
 * @example interfaceNameProblem('eth0') → undefined; interfaceNameProblem('x";drop;#') → 'has a character …'
 */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > IFNAME_MAX) return `is longer than ${IFNAME_MAX} characters`;
  if (name === '.' || name === '..') return `is '${name}' (a path step)`;
  if (!NAME_CHARS.test(name))
    return 'has a character other than letters, digits and _ . @ - (no blanks, quotes, ; / or :)';
  if (name.startsWith('-')) return "starts with '-' (tools would read it as an option)";
  return undefined;
}

/**
 * Why `label` is not an iproute2 address label (`DEV` or `DEV:LABEL`, 15 characters in all), or
 * undefined when it is one. The device part is checked as {@link interfaceNameProblem}.
 */
export function addressLabelProblem(label: string): string | undefined {
  if (label.length > IFNAME_MAX) return `is longer than ${IFNAME_MAX} characters`;
  const colon = label.indexOf(':');
  if (colon < 0) return interfaceNameProblem(label);
  const dev = interfaceNameProblem(label.slice(0, colon));
  if (dev) return `has a device part that ${dev}`;
  const part = label.slice(colon + 1);
  if (part === '') return "has nothing after ':' (write eth0:1)";
  if (!NAME_CHARS.test(part))
    return "has a label part with a character other than letters, digits and _ . @ - (one ':' only)";
  return undefined;
}

/** True when `name` is a device name {@link interfaceNameProblem} accepts. */
export function isInterfaceName(name: string): boolean {
  return interfaceNameProblem(name) === undefined;
}

/** Throws unless `name` is an accepted device name: the guard of every path and argument built from one. */
export function assertInterfaceName(name: string): string {
  const p = interfaceNameProblem(name);
  if (p !== undefined) throw new Error(`interface name ${JSON.stringify(name)} ${p}`);
  return name;
}

/**
 * The sysctl key of a per-interface IPv4 setting in the `/` form (`net/ipv4/conf/eth0.100/send_redirects`):
 * sysctl(8) reads a key whose first separator is `/` as a path as written, where the `.` form would split
 * a VLAN device `eth0.100` into two steps. Throws on a name that is not a device name.
 */
export function ipv4ConfSysctlKey(device: string, setting: string): string {
  if (!/^[a-z_]+$/.test(setting)) throw new Error(`bad sysctl setting ${JSON.stringify(setting)}`);
  return `net/ipv4/conf/${assertInterfaceName(device)}/${setting}`;
}

/** `/sys/class/net/DEV/ATTR`, for a checked device name (throws otherwise). */
export function sysClassNetPath(device: string, attribute: string): string {
  if (!/^[a-z_]+$/.test(attribute)) throw new Error(`bad sysfs attribute ${JSON.stringify(attribute)}`);
  return `/sys/class/net/${assertInterfaceName(device)}/${attribute}`;
}
