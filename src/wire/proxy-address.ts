import { mappedIPv4, newGroups, parseIPv4, parseIPv6, type Groups } from './ip.js';
import { isPort, type ProxyAddress } from './proxy-types.js';

/**
 * How the two ends of a connection can be written in a header: both IPv4 (an
 * IPv4-mapped IPv6 address such as `::ffff:192.0.2.1` counts as IPv4), else both IPv6,
 * else not at all (one of each, a port out of range, or no IP address).
 */
export type AddressPair =
  | { readonly family: 'ipv4'; readonly source: number; readonly destination: number }
  | { readonly family: 'ipv6'; readonly source: Groups; readonly destination: Groups }
  | { readonly family: 'unspec' };

interface Read {
  readonly v4: number; // -1 when not IPv4 nor IPv4-mapped
  readonly v6: Groups | undefined; // when written as IPv6
}

function read(end: ProxyAddress): Read | undefined {
  if (typeof end.address !== 'string' || !isPort(end.port)) return undefined;
  const v4 = parseIPv4(end.address);
  if (v4 >= 0) return { v4, v6: undefined };
  const groups = newGroups();
  const zone = end.address.indexOf('%');
  if (!parseIPv6(end.address, groups, 0, zone < 0 ? end.address.length : zone)) return undefined;
  return { v4: mappedIPv4(groups), v6: groups };
}

export function pairOf(source: ProxyAddress, destination: ProxyAddress): AddressPair {
  const from = read(source);
  const to = read(destination);
  if (!from || !to) return { family: 'unspec' };
  if (from.v4 >= 0 && to.v4 >= 0) return { family: 'ipv4', source: from.v4, destination: to.v4 };
  if (from.v6 && to.v6) return { family: 'ipv6', source: from.v6, destination: to.v6 };
  return { family: 'unspec' };
}
