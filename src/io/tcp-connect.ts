import net from 'node:net';
import { Observable } from 'rxjs';
import type { Endpoint } from '../config/types.js';
import { UpstreamConnectError } from '../errors.js';
import { formatAddress } from './address.js';

const ignore = (): void => undefined;

/**
 * Connects to a backend. Emits the socket once connected and never completes: the
 * subscriber owns the socket for as long as it stays subscribed, and teardown destroys
 * it. Errors before the connection is up become UpstreamConnectError; errors after it
 * belong to the copy, which listens for them itself.
 */
export function tcpConnect$(target: Endpoint): Observable<net.Socket> {
  return new Observable<net.Socket>((subscriber) => {
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    let connected = false;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return;
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : 'error';
      subscriber.error(new UpstreamConnectError(formatAddress(target.host, target.port), reason, { cause: err }));
    });
    socket.once('connect', () => {
      connected = true;
      subscriber.next(socket);
    });
    return () => {
      socket.on('error', ignore);
      socket.destroy();
    };
  });
}
