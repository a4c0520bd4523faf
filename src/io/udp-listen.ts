import dgram from 'node:dgram';
import net from 'node:net';
import { Observable } from 'rxjs';
import type { ListenerConfig } from '../config/types.js';
import { ListenError } from '../errors.js';
import type { ClientAddress } from '../operators/policies/types.js';
import type { UdpListenEvent } from '../streams/ports.js';
import { formatHostPort } from '../config/endpoint.js';
import { describeBindError } from './bind-error.js';

/**
 * The receive and send buffers asked for on a listener's socket. Every client's
 * datagrams queue in the one socket, and the system default (about 208 KiB on Linux)
 * holds only three of the largest; the system caps the request at its own maximum
 * (`net.core.rmem_max`, `wmem_max`).
 */
export const LISTENER_BUFFER_BYTES = 4 * 1024 * 1024;

/** The largest datagram UDP over IPv4 carries: 65,535 less the IP and UDP headers. */
export const MAX_DATAGRAM_BYTES = 65_507;

/** `udp6` for an IPv6 literal, else `udp4` (a hostname resolves to its IPv4 address). */
export function socketType(host: string): dgram.SocketType {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

/**
 * A UDP listener as an observable: `listening` once bound (with the socket, which
 * replies go out of), then one `datagram` per datagram received. A bind failure errors
 * with ListenError; a socket error afterwards is reported as `receive-error` and the
 * listener keeps going. Unsubscribing closes the socket.
 */
export function udpListen$(listener: ListenerConfig): Observable<UdpListenEvent<dgram.Socket>> {
  return new Observable<UdpListenEvent<dgram.Socket>>((subscriber) => {
    const { host, port } = listener.bind;
    const socket = dgram.createSocket({ type: socketType(host), recvBufferSize: LISTENER_BUFFER_BYTES, sendBufferSize: LISTENER_BUFFER_BYTES });
    let bound = false;
    socket.on('message', (data, remote) => {
      subscriber.next({ type: 'datagram', client: { address: remote.address, port: remote.port }, data });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (bound) {
        subscriber.next({ type: 'receive-error', listener, error: err });
        return;
      }
      const where = formatHostPort(host, port);
      subscriber.error(new ListenError(`listener ${listener.name}: cannot listen on udp ${where}: ${describeBindError(err)}`, { cause: err }));
    });
    socket.bind({ address: host, port }, () => {
      bound = true;
      const address = socket.address();
      const local = { address: address.address, port: address.port };
      subscriber.next({ type: 'listening', listener, address: formatHostPort(address.address, address.port), socket, local });
    });
    return () => {
      try {
        socket.close();
      } catch {
        // closed already
      }
    };
  });
}

/** Sends one datagram to a client from the listener's socket; a failed send is dropped, as UDP drops. */
export function udpReply(socket: dgram.Socket, client: ClientAddress, data: Uint8Array): void {
  try {
    socket.send(data, client.port, client.address, dropSendError);
  } catch {
    // the socket closed while the reply was on its way (shutdown)
  }
}

/** A send callback, so that a failed send is not an `error` event. */
const dropSendError = (): void => undefined;
