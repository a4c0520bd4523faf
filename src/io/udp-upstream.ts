import dgram from 'node:dgram';
import { Observable } from 'rxjs';
import type { Endpoint } from '../config/types.js';
import { UpstreamConnectError } from '../errors.js';
import type { UdpUpstreamEvent } from '../streams/ports.js';
import { formatHostPort } from '../config/endpoint.js';
import { ignoreErrors } from './ignore.js';
import { socketType } from './udp-listen.js';

/** Buffers asked for on a session's socket: room for a burst of the largest replies. */
export const UPSTREAM_BUFFER_BYTES = 1024 * 1024;

/** A session's connected socket, with the one send callback all its sends share. */
export interface UdpUpstream {
  readonly socket: dgram.Socket;
  readonly afterSend: (err: Error | null) => void;
}

/**
 * A UDP socket connected to one backend, for one session: emits `ready` once
 * connected, then one `reply` per datagram from the backend (a connected socket hears
 * only its peer). Being connected is what lets an ICMP port-unreachable reach us: the
 * system reports it on the socket's next receive or send, and it errors the observable
 * as UpstreamConnectError `refused`; any other socket error as `error`. Unsubscribing
 * closes the socket.
 */
export function udpUpstream$(target: Endpoint): Observable<UdpUpstreamEvent<UdpUpstream>> {
  return new Observable<UdpUpstreamEvent<UdpUpstream>>((subscriber) => {
    const address = formatHostPort(target.host, target.port);
    const socket = dgram.createSocket({ type: socketType(target.host), recvBufferSize: UPSTREAM_BUFFER_BYTES, sendBufferSize: UPSTREAM_BUFFER_BYTES });
    const fail = (err: NodeJS.ErrnoException): void => {
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : 'error';
      subscriber.error(new UpstreamConnectError(address, reason, { cause: err }));
    };
    const upstream: UdpUpstream = { socket, afterSend: (err) => (err ? fail(err) : undefined) };
    socket.on('error', fail);
    socket.on('message', (data) => subscriber.next({ type: 'reply', data }));
    socket.connect(target.port, target.host, () => subscriber.next({ type: 'ready', socket: upstream }));
    return () => {
      socket.off('error', fail);
      socket.on('error', ignoreErrors);
      try {
        socket.close();
      } catch {
        // closed already
      }
    };
  });
}

/**
 * Sends one datagram to the session's backend, `header` first when given (gathered by
 * the system from both buffers: the datagram is not copied); a failure errors its
 * `udpUpstream$`.
 */
export function udpForward(upstream: UdpUpstream, data: Uint8Array, header?: Uint8Array): void {
  try {
    upstream.socket.send(header === undefined ? data : [header, data], upstream.afterSend);
  } catch (err) {
    upstream.afterSend(err as Error);
  }
}
