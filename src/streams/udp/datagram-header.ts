import type { PoolConfig } from '../../config/types.js';
import type { ClientAddress } from '../../operators/policies/types.js';
import { encodeProxyV2 } from '../../wire/proxy-header.js';

/**
 * The PROXY header a UDP session puts before every datagram it sends to a backend of
 * `pool`: with `proxy_protocol = "v2"`, a v2 header with the DGRAM transport, its source
 * the client and its destination the listener's bound address (the address a client
 * sent to is not known per datagram: a listener bound to 0.0.0.0 says 0.0.0.0).
 * Each datagram carries the whole header, so a receiver needs no session state. Built
 * once per session, when its backend is picked; undefined when the pool sends none (v1
 * has no DGRAM form, and the config refuses it on a UDP pool).
 */
export function datagramHeader(pool: PoolConfig | undefined, client: ClientAddress, local: ClientAddress | undefined): Uint8Array | undefined {
  if (pool?.proxyProtocol !== 'v2') return undefined;
  return encodeProxyV2({ command: 'proxy', transport: 'dgram', source: client, destination: local });
}
