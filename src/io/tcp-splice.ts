import type net from 'node:net';
import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';
import type { SpliceEnd, Transferred } from '../streams/ports.js';
import { ignoreErrors } from './ignore.js';

/** Resets from a peer are how that peer closed, not a fault of ours. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The bidirectional copy. Bytes move through Node's own `pipe` both ways, so each
 * direction has backpressure and no chunk ever passes through RxJS. With
 * `allowHalfOpen` on both sockets, a side that ends its writes has the end carried to
 * the other while the reverse direction keeps flowing.
 *
 * Idleness is Node's socket timer on the client: Node restarts it natively on every
 * read and every write of that socket, and every byte either way is read from or
 * written to the client, so the timer fires only after `idleMs` with no byte either way.
 *
 * Emits one SpliceEnd when both sockets have closed, naming the side that finished
 * first, or `idle_timeout` at once when the timer fires. An error on either side resets
 * the other, so a peer that reads a truncated stream is told so, when the runtime sees
 * the error: Node 20's libuv often reports a reset that follows data as a plain end of
 * stream (the fault suite saw 1,565 of 1,670), and then the end is what is passed on,
 * as a direct connection would show it. Teardown destroys both sockets.
 *
 * Everything here lives as long as the connection, and thousands of connections may
 * idle at once, so a copy is one small object (`Copy`, also the teardown), and the socket
 * listeners are module-level functions shared by every connection that find their copy
 * from `this` (the socket that emitted): no closures per connection. `on` rather than
 * `once` throughout (each `once` allocates a wrapper), and the handed-over sockets'
 * placeholder error listener is taken off, not stacked.
 */
export function tcpSplice$(client: net.Socket, upstream: net.Socket, idleMs: number, first?: Uint8Array): Observable<SpliceEnd> {
  return new Observable<SpliceEnd>((subscriber) => {
    const copy = new Copy(subscriber, client, upstream, idleMs);
    copies.set(client, copy);
    copies.set(upstream, copy);
    client.off('error', ignoreErrors).on('error', onError).on('close', onClose);
    upstream.off('error', ignoreErrors).on('error', onError).on('end', onUpstreamEnd).on('close', onClose);
    // A side that went before the copy began (its 'close' may be behind us) ends it as a reset would.
    if (client.destroyed || upstream.destroyed) {
      copy.reason = client.destroyed ? 'client_closed' : 'backend_closed';
      copy.open -= (client.closed ? 1 : 0) + (upstream.closed ? 1 : 0);
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
      if (copy.open === 0) copy.end(copy.reason);
      return copy;
    }
    if (idleMs > 0) client.setTimeout(idleMs).on('timeout', onIdle);
    // A PROXY header and the bytes the door read go first, in one write.
    if (first !== undefined && first.length > 0) upstream.write(first);
    client.pipe(upstream);
    upstream.pipe(client);
    return copy;
  });
}

/**
 * Which copy a socket takes part in, for the shared listeners. A WeakMap rather than a
 * property on the socket: adding one would give Node's sockets another hidden class,
 * and Node's own stream code, which reads socket fields everywhere, would slow down.
 */
const copies = new WeakMap<net.Socket, Copy>();

/** One running copy: what its listeners need, and its teardown. */
class Copy implements Unsubscribable {
  /** Who finished first; `error` if neither did in an orderly way. */
  reason: SpliceEnd['reason'] | undefined;
  /** Sockets not closed yet. */
  open = 2;

  constructor(
    readonly subscriber: Subscriber<SpliceEnd>,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    private readonly idleMs: number,
  ) {}

  end(reason: SpliceEnd['reason']): void {
    this.subscriber.next({ reason });
    this.subscriber.complete();
  }

  unsubscribe(): void {
    const { client, upstream } = this;
    copies.delete(client);
    copies.delete(upstream);
    client.off('close', onClose);
    upstream.off('close', onClose).off('end', onUpstreamEnd);
    if (this.idleMs > 0) client.setTimeout(0).off('timeout', onIdle);
    // A destroyed socket can still report an error: keep one listener on each.
    if (!client.destroyed || !upstream.destroyed) {
      client.off('error', onError).on('error', ignoreErrors);
      upstream.off('error', onError).on('error', ignoreErrors);
      client.destroy();
      upstream.destroy();
    }
  }
}

function onClose(this: net.Socket): void {
  const copy = copies.get(this);
  if (copy === undefined) return;
  copy.open -= 1;
  if (copy.open === 0) copy.end(copy.reason ?? 'error');
}

// One handler for both sockets; `this` says which one failed.
function onError(this: net.Socket, err: NodeJS.ErrnoException): void {
  const copy = copies.get(this);
  if (copy === undefined) return;
  copy.reason ??= PEER_GONE.has(err.code ?? '') ? (this === copy.client ? 'client_closed' : 'backend_closed') : 'error';
  if (!copy.client.destroyed) copy.client.resetAndDestroy();
  if (!copy.upstream.destroyed) copy.upstream.resetAndDestroy();
}

// Who sent the first FIN: when the backend's arrives, `pipe` has already passed the
// client's on (ending our writes to the backend) if the client's came first. One
// listener on one socket says it, where one per socket would cost each an array.
function onUpstreamEnd(this: net.Socket): void {
  const copy = copies.get(this);
  if (copy !== undefined) copy.reason ??= this.writableEnded ? 'client_closed' : 'backend_closed';
}

function onIdle(this: net.Socket): void {
  copies.get(this)?.end('idle_timeout');
}

/** Bytes delivered to the backend (up) and to the client (down). */
export function tcpTransferred(client: net.Socket, upstream: net.Socket | undefined): Transferred {
  return { up: upstream?.bytesWritten ?? 0, down: client.bytesWritten };
}
