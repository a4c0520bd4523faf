import type { PoolConfig } from '../../config/types.js';
import type { ClientAddress } from '../../operators/policies/types.js';
import { encodeProxyV1, encodeProxyV2 } from '../../wire/proxy-header.js';

/**
 * What goes to a backend before the client's bytes: the pool's PROXY header, if it sends
 * one (source the client, destination where the client connected to; `UNKNOWN` or
 * AF_UNSPEC when that is not known or the two cannot be written together), then the bytes
 * the door read, in one buffer so that they go out in one write.
 */
export function preamble(pool: PoolConfig, client: ClientAddress, destination: ClientAddress | undefined, preread: Buffer | undefined): { readonly first: Buffer | undefined; readonly header: number } {
  const header = proxyHeader(pool.proxyProtocol, client, destination);
  if (header === undefined) return { first: preread, header: 0 };
  return { first: preread === undefined || preread.length === 0 ? header : Buffer.concat([header, preread]), header: header.length };
}

function proxyHeader(version: PoolConfig['proxyProtocol'], source: ClientAddress, destination: ClientAddress | undefined): Buffer | undefined {
  if (version === undefined) return undefined;
  if (version === 'v1') return destination === undefined ? Buffer.from('PROXY UNKNOWN\r\n', 'latin1') : encodeProxyV1({ source, destination });
  return encodeProxyV2({ command: 'proxy', transport: 'stream', source, destination });
}
