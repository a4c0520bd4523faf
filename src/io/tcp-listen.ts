import net from 'node:net';
import { Observable } from 'rxjs';
import type { ListenerConfig } from '../config/types.js';
import { ListenError } from '../errors.js';
import type { ListenEvent } from '../streams/ports.js';
import { formatHostPort } from '../config/endpoint.js';
import { ignoreErrors } from './ignore.js';
import { describeBindError } from './bind-error.js';

/**
 * A TCP listener as an observable: `listening` once bound, then one `accepted` per
 * client. A bind failure errors with ListenError; an accept failure afterwards (such as
 * running out of descriptors) is reported and the listener keeps going. Unsubscribing
 * closes the server, which stops accepting but leaves accepted sockets to their owners.
 */
export function tcpListen$(listener: ListenerConfig): Observable<ListenEvent<net.Socket>> {
  return new Observable<ListenEvent<net.Socket>>((subscriber) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    let bound = false;
    server.on('connection', (socket) => {
      // Errors are observed by whoever owns the socket next; until then they must not crash.
      socket.on('error', ignoreErrors);
      const { remoteAddress, remotePort } = socket;
      if (remoteAddress === undefined || remotePort === undefined) {
        socket.destroy(); // closed before we saw it
        return;
      }
      subscriber.next({ type: 'accepted', accepted: { listener, socket, client: { address: remoteAddress, port: remotePort } } });
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (bound) {
        subscriber.next({ type: 'accept-error', listener, error: err });
        return;
      }
      const where = formatHostPort(listener.bind.host, listener.bind.port);
      subscriber.error(new ListenError(`listener ${listener.name}: cannot listen on ${where}: ${describeBindError(err)}`, { cause: err }));
    });
    // A deep accept queue rides out bursts; the kernel caps it at net.core.somaxconn.
    server.listen({ host: listener.bind.host, port: listener.bind.port, backlog: 4096 }, () => {
      bound = true;
      const address = server.address();
      const text = typeof address === 'object' && address ? formatHostPort(address.address, address.port) : String(address);
      subscriber.next({ type: 'listening', listener, address: text });
    });
    return () => {
      server.close();
    };
  });
}
