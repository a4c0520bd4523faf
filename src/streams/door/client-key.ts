/**
 * The key a per-client table (`connection_rate_per_client`, `max_connections_per_client`)
 * files a client under: its address without the port, and an IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`, as a dual-stack listener reports an IPv4 client) as the IPv4 one,
 * so that one client is one entry however its address was reported, as the access lists
 * match it.
 */
export function clientKey(address: string): string {
  return MAPPED.test(address) ? address.slice(7) : address;
}

const MAPPED = /^::ffff:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i;
