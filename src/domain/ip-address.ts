// Addresses as sshd prints them, checked exactly: a log field that is not one is not trusted as one. Pure.

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
// a link-local address carries its interface ("fe80::1%eth0")
const ZONE = /%[A-Za-z0-9_.-]{1,32}$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** Counts the 16-bit groups of one side of "::", an embedded IPv4 tail counting two; -1 if a group is bad. */
function groupCount(side: string, mayEndInIPv4: boolean): number {
  if (side === '') return 0;
  const groups = side.split(':');
  const last = groups[groups.length - 1]!;
  const tail = mayEndInIPv4 && isIPv4(last) ? 2 : HEX_GROUP.test(last) ? 1 : -1;
  if (tail < 0 || !groups.slice(0, -1).every((g) => HEX_GROUP.test(g))) return -1;
  return groups.length - 1 + tail;
}

export function isIPv6(text: string): boolean {
  const address = text.replace(ZONE, '');
  const halves = address.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) return groupCount(address, true) === 8;
  const head = groupCount(halves[0]!, false);
  const tail = groupCount(halves[1]!, true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** A host as a client may name a tunnel target: an IP address or a plain DNS name (what permitopen can hold). */
export function isTargetHost(text: string): boolean {
  return isIpAddress(text) || HOST_NAME.test(text);
}

/** "host:port" as permitopen and the grants write it: an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
