/**
 * Which "source" a remote address belongs to, for the per-address limits of a listener. One IPv4
 * address is one source. An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as a dual-stack listener
 * sees IPv4 clients) is the IPv4 address it maps. Other IPv6 addresses are grouped by their /64
 * prefix: a single host or LAN usually holds a whole /64, so counting full addresses would let it
 * open as many sources as it likes.
 */
import net from 'node:net';

/**
 * The source key of `address` (as `socket.remoteAddress` gives it), or undefined when it is not an
 * IP address (the socket is already gone). Never throws.
 */
export function addressKey(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const zone = address.indexOf('%');
  const ip = zone < 0 ? address : address.slice(0, zone);
  const family = net.isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  const groups = expandIPv6(ip);
  if (groups === undefined) return undefined;
  // ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2): an IPv4 client of a dual-stack socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 text (with `::` and a trailing dotted IPv4 allowed). */
function expandIPv6(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
