import type net from 'node:net';
import { Observable } from 'rxjs';
import type { SpliceEnd, Transferred } from '../streams/ports.js';

/** Resets from a peer are how that peer closed, not a fault of ours. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The bidirectional copy. Bytes move through Node's own `pipe` both ways, so each
 * direction has backpressure and no chunk ever passes through RxJS. With
 * `allowHalfOpen` on both sockets, a side that ends its writes has the end carried
 * to the other while the reverse direction keeps flowing.
 *
 * Emits one SpliceEnd when both sockets have closed, naming the side that finished
 * first. An error on either side resets the other, so a peer that reads a truncated
 * stream is told so. Teardown destroys both sockets.
 */
export function tcpSplice$(client: net.Socket, upstream: net.Socket): Observable<SpliceEnd> {
  return new Observable<SpliceEnd>((subscriber) => {
    let reason: SpliceEnd['reason'] | undefined;
    let open = 2;
    const onClose = (): void => {
      open -= 1;
      if (open === 0) {
        subscriber.next({ reason: reason ?? 'error' });
        subscriber.complete();
      }
    };
    const fail = (side: 'client' | 'backend', err: NodeJS.ErrnoException): void => {
      reason ??= PEER_GONE.has(err.code ?? '') ? (side === 'client' ? 'client_closed' : 'backend_closed') : 'error';
      resetBoth(client, upstream);
    };
    const onClientError = (err: Error): void => fail('client', err);
    const onUpstreamError = (err: Error): void => fail('backend', err);
    const onClientEnd = (): void => {
      reason ??= 'client_closed';
    };
    const onUpstreamEnd = (): void => {
      reason ??= 'backend_closed';
    };

    client.on('error', onClientError);
    upstream.on('error', onUpstreamError);
    client.once('end', onClientEnd);
    upstream.once('end', onUpstreamEnd);
    client.once('close', onClose);
    upstream.once('close', onClose);
    client.pipe(upstream);
    upstream.pipe(client);

    return () => {
      client.off('close', onClose);
      upstream.off('close', onClose);
      client.off('end', onClientEnd);
      upstream.off('end', onUpstreamEnd);
      // A socket can still report an error while it is being destroyed.
      client.off('error', onClientError);
      upstream.off('error', onUpstreamError);
      client.destroy();
      upstream.destroy();
    };
  });
}

function resetBoth(a: net.Socket, b: net.Socket): void {
  for (const s of [a, b]) if (!s.destroyed) s.resetAndDestroy();
}

/** Bytes delivered to the backend (up) and to the client (down). */
export function tcpTransferred(client: net.Socket, upstream: net.Socket | undefined): Transferred {
  return { up: upstream?.bytesWritten ?? 0, down: client.bytesWritten };
}
