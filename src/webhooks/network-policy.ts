import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses outgoing webhooks may contact (SSRF protection).
 *
 * Everything that is not a public unicast address is blocked: loopback, private, link-local
 * (including the cloud metadata endpoint), carrier-grade NAT, documentation, benchmarking,
 * multicast and reserved ranges. IPv6 addresses that embed an IPv4 address (IPv4-mapped,
 * IPv4-compatible, IPv4-translated, NAT64 and 6to4) are judged by the embedded address, so
 * `::ffff:127.0.0.1` or `64:ff9b::a00:1` cannot be used to reach internal hosts.
 *
 * An operator can re-allow specific ranges (e.g. an internal webhook receiver) with an
 * allow-list of CIDR ranges; an allowed range wins over every built-in block.
 */

type Family = 'ipv4' | 'ipv6';

interface Range {
  readonly list: BlockList;
  readonly description: string;
}

function range(cidr: string, description: string): Range {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`invalid built-in range ${cidr}`);
  const list = new BlockList();
  list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  return { list, description };
}

/** Checked in order; the first match gives the reason. */
const BLOCKED_IPV4: readonly Range[] = [
  range('169.254.169.254/32', 'a link-local / cloud metadata address'),
  range('255.255.255.255/32', 'the broadcast address'),
  range('0.0.0.0/8', 'an unspecified ("this network") address'),
  range('10.0.0.0/8', 'a private address'),
  range('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  range('127.0.0.0/8', 'a loopback address'),
  range('169.254.0.0/16', 'a link-local address'),
  range('172.16.0.0/12', 'a private address'),
  range('192.0.0.0/24', 'an IETF protocol assignment address'),
  range('192.0.2.0/24', 'a documentation address'),
  range('192.168.0.0/16', 'a private address'),
  range('198.18.0.0/15', 'a benchmarking address'),
  range('198.51.100.0/24', 'a documentation address'),
  range('203.0.113.0/24', 'a documentation address'),
  range('224.0.0.0/4', 'a multicast address'),
  range('240.0.0.0/4', 'a reserved address'),
];

const BLOCKED_IPV6: readonly Range[] = [
  range('::/128', 'the unspecified address'),
  range('::1/128', 'a loopback address'),
  range('fd00:ec2::254/128', 'a cloud metadata address'),
  range('fc00::/7', 'a unique local (private) address'),
  range('fe80::/10', 'a link-local address'),
  range('fec0::/10', 'a site-local address'),
  range('ff00::/8', 'a multicast address'),
  range('2001:db8::/32', 'a documentation address'),
  range('100::/64', 'a discard-only address'),
  range('64:ff9b:1::/48', 'a local-use NAT64 address'),
];

/** A parsed CIDR range (or single address, as /32 or /128). */
interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
}

function parseCidr(text: string): Cidr | null {
  const parts = text.split('/');
  if (parts.length > 2) return null;
  const [address = '', prefixText] = parts;
  // Zone ids (fe80::1%eth0) are meaningless in a range.
  if (address.includes('%')) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > max) return null;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Throws unless `text` is a CIDR range or a plain IP address; returns it trimmed. */
export function validateCidr(text: string): string {
  const trimmed = text.trim();
  if (!parseCidr(trimmed)) throw new Error(`"${text}" is not a valid CIDR range`);
  return trimmed;
}

/**
 * Parses an allow-list such as `"10.1.0.0/16, 192.168.5.7 fd00::/64"` (comma and/or
 * whitespace separated). Empty or missing text gives an empty list; a malformed entry throws.
 */
export function parseAllowedNetworks(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(/[\s,]+/)
    .filter((entry) => entry !== '')
    .map(validateCidr);
}

/** The 16 bytes of a valid IPv6 address (as accepted by `isIP`, without a zone id). */
function ipv6Bytes(address: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let text = address;
  const tail: number[] = [];
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail.push(...last.split('.').map(Number));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [headText = '', restText] = text.split('::');
  const groups = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const head = groups(headText);
  const rest = groups(restText);
  const all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

function zeros(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

function dotted(bytes: Uint8Array, offset: number): string {
  return Array.from(bytes.subarray(offset, offset + 4)).join('.');
}

/**
 * The IPv4 address embedded in an IPv6 address by one of the translation / transition
 * schemes, or null if there is none.
 */
function embeddedIPv4(address: string): string | null {
  const b = ipv6Bytes(address);
  // ::ffff:a.b.c.d (IPv4-mapped)
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(b, 12);
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765)
  if (zeros(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(b, 10, 12)) return dotted(b, 12);
  // ::a.b.c.d (IPv4-compatible, deprecated); :: and ::1 are judged as IPv6 addresses.
  if (zeros(b, 0, 12) && !(zeros(b, 12, 15) && (b[15] ?? 0) <= 1)) return dotted(b, 12);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b, 4, 12)) {
    return dotted(b, 12);
  }
  // 2002:AABB:CCDD::/48 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return dotted(b, 2);
  return null;
}

function firstMatch(ranges: readonly Range[], ip: string, family: Family): string | null {
  for (const r of ranges) if (r.list.check(ip, family)) return r.description;
  return null;
}

export class AddressPolicy {
  private readonly allowed = new BlockList();
  private readonly hasAllowed: boolean;

  /** @param allowed CIDR ranges or plain addresses that may be contacted despite the blocks. */
  constructor(allowed: readonly string[] = []) {
    for (const entry of allowed) {
      const cidr = parseCidr(entry.trim());
      if (!cidr) throw new Error(`"${entry}" is not a valid CIDR range`);
      this.allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.hasAllowed = allowed.length > 0;
  }

  /** Null when `ip` may be contacted, otherwise a short human-readable reason. */
  blockedReason(ip: string): string | null {
    let address = ip.trim();
    if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
    const zone = address.indexOf('%');
    if (zone >= 0) address = address.slice(0, zone);
    const version = isIP(address);
    if (version === 0) return `${JSON.stringify(ip)} is not an IP address`;

    if (version === 4) {
      if (this.isAllowed(address, 'ipv4')) return null;
      const reason = firstMatch(BLOCKED_IPV4, address, 'ipv4');
      return reason === null ? null : `${address} is ${reason}`;
    }

    const v4 = embeddedIPv4(address);
    if (this.isAllowed(address, 'ipv6') || (v4 !== null && this.isAllowed(v4, 'ipv4'))) {
      return null;
    }
    if (v4 !== null) {
      const reason = firstMatch(BLOCKED_IPV4, v4, 'ipv4');
      if (reason !== null) return `${address} embeds ${v4}, which is ${reason}`;
    }
    const reason = firstMatch(BLOCKED_IPV6, address, 'ipv6');
    return reason === null ? null : `${address} is ${reason}`;
  }

  private isAllowed(address: string, family: Family): boolean {
    return this.hasAllowed && this.allowed.check(address, family);
  }
}
