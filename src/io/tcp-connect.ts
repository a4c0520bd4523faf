import net from 'node:net';
import { Observable } from 'rxjs';
import type { Endpoint } from '../config/types.js';
import { UpstreamConnectError } from '../errors.js';
import { formatHostPort } from '../config/endpoint.js';
import { ignoreErrors } from './ignore.js';

/** Connect errors that are rxlb's own: no descriptor, buffer or local port left for the socket. */
const LOCAL_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL']);

/**
 * Connects to a backend: emits the socket once connected, then completes, handing the
 * socket over to the subscriber (completing releases this chain, so a long connection
 * does not keep it). Unsubscribed before that, it destroys the socket it made. Errors
 * before the connection is up become UpstreamConnectError.
 */
export function tcpConnect$(target: Endpoint): Observable<net.Socket> {
  return new Observable<net.Socket>((subscriber) => {
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    let handedOver = false;
    const onError = (err: NodeJS.ErrnoException): void => {
      const reason = err.code === 'ECONNREFUSED' ? 'refused' : 'error';
      const local = err.code !== undefined && LOCAL_ERRORS.has(err.code) ? err.code : undefined;
      subscriber.error(new UpstreamConnectError(formatHostPort(target.host, target.port), reason, { cause: err, local }));
    };
    socket.on('error', onError);
    socket.once('connect', () => {
      handedOver = true;
      // From here the new owner listens for errors; until it does, none may crash us.
      socket.off('error', onError);
      socket.on('error', ignoreErrors);
      subscriber.next(socket);
      subscriber.complete();
    });
    return () => {
      if (handedOver) return;
      socket.off('error', onError);
      socket.on('error', ignoreErrors);
      socket.destroy();
    };
  });
}
