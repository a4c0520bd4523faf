import type net from 'node:net';
import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';
import type { SpliceEnd, Transferred } from '../streams/ports.js';
import { ignoreErrors } from './ignore.js';

/** Resets from a peer are how that peer closed, not a fault of ours. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The bidirectional copy. Bytes move through Node's own streams both ways, never
 * through RxJS: each socket's 'data' is written to the other, a write that the other
 * cannot take at once pauses the reader until the other's 'drain' (backpressure), and a
 * side's end of stream ends the other's writes (with `allowHalfOpen` on both sockets,
 * the reverse direction keeps flowing). What `pipe` does, with five listeners per
 * socket shared by every connection instead of the dozen closures `pipe` makes per
 * direction.
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
    upstream.off('error', ignoreErrors).on('error', onError).on('close', onClose);
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
    flow(client, upstream);
    flow(upstream, client);
    return copy;
  });
}

/** Starts copying `from` into `to`. */
function flow(from: net.Socket, to: net.Socket): void {
  to.on('drain', onDrain);
  // Its end already came and went (a client that sent all it had while set up): pass it on.
  if (from.readableEnded) {
    onEnd.call(from);
    return;
  }
  from.on('data', onData).on('end', onEnd);
  from.resume(); // the door may have paused it; 'data' alone does not undo an explicit pause
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
    client.off('close', onClose).off('data', onData).off('end', onEnd).off('drain', onDrain);
    upstream.off('close', onClose).off('data', onData).off('end', onEnd).off('drain', onDrain);
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

/** A chunk from one side goes to the other; one the other cannot take at once pauses this side. */
function onData(this: net.Socket, chunk: Buffer): void {
  const copy = copies.get(this);
  if (copy === undefined) return;
  if (!(this === copy.client ? copy.upstream : copy.client).write(chunk)) this.pause();
}

/** The other side took what waited: this side's reader goes on. */
function onDrain(this: net.Socket): void {
  const copy = copies.get(this);
  if (copy !== undefined) (this === copy.client ? copy.upstream : copy.client).resume();
}

/** A side's FIN: the first one names who finished first; it ends the other side's writes. */
function onEnd(this: net.Socket): void {
  const copy = copies.get(this);
  if (copy === undefined) return;
  copy.reason ??= this === copy.client ? 'client_closed' : 'backend_closed';
  (this === copy.client ? copy.upstream : copy.client).end();
}

function onIdle(this: net.Socket): void {
  copies.get(this)?.end('idle_timeout');
}

/** Bytes delivered to the backend (up) and to the client (down). */
export function tcpTransferred(client: net.Socket, upstream: net.Socket | undefined): Transferred {
  return { up: upstream?.bytesWritten ?? 0, down: client.bytesWritten };
}
