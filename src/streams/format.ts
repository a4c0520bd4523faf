import type { ClientAddress } from '../operators/types.js';

/** `host:port`, with brackets around an IPv6 host. */
export function formatClient(client: ClientAddress): string {
  return client.address.includes(':') ? `[${client.address}]:${client.port}` : `${client.address}:${client.port}`;
}
