import dgram from 'node:dgram';
import { once } from 'node:events';

/** Big enough for a burst of the largest datagrams; the system caps it at its maximum. */
const BUFFER_BYTES = 8 * 1024 * 1024;

export interface UdpServer {
  readonly port: number;
  readonly address: string;
  /** The source addresses (`host:port`) datagrams came from: one per rxlb session. */
  readonly peers: () => ReadonlySet<string>;
  /** Datagrams received. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A UDP server on 127.0.0.1:0 answering each datagram with `answer(datagram)` (undefined: no answer). */
export async function startUdpServer(answer: (data: Buffer) => Buffer | undefined): Promise<UdpServer> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: BUFFER_BYTES, sendBufferSize: BUFFER_BYTES });
  const peers = new Set<string>();
  let received = 0;
  socket.on('message', (data, from) => {
    received += 1;
    peers.add(`${from.address}:${from.port}`);
    const reply = answer(data);
    if (reply !== undefined) socket.send(reply, from.port, from.address);
  });
  socket.on('error', () => undefined);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  return {
    port,
    address: `127.0.0.1:${port}`,
    peers: () => peers,
    received: () => received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Sends every datagram back as it came. */
export const udpEcho = (data: Buffer): Buffer => data;

/** A UDP port nothing listens on: bound once, then closed (datagrams to it draw a port-unreachable). */
export async function closedUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A client socket on 127.0.0.1 that asks and waits for answers, one at a time. */
export interface UdpClient {
  readonly port: number;
  /**
   * Sends `data` and resolves with the first datagram back that `accept` takes,
   * sending again every `retryMs` (UDP may lose a datagram; a port-unreachable loses
   * the first one to a dead backend), at most `tries` times.
   */
  ask(data: Buffer, accept: (reply: Buffer) => boolean, options?: { retryMs?: number; tries?: number }): Promise<{ reply: Buffer; sends: number }>;
  close(): Promise<void>;
}

export async function udpClient(to: number): Promise<UdpClient> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: BUFFER_BYTES, sendBufferSize: BUFFER_BYTES });
  socket.on('error', () => undefined); // a port-unreachable for rxlb itself would show here
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  let waiting: ((reply: Buffer) => void) | undefined;
  socket.on('message', (reply) => waiting?.(reply));
  return {
    port: socket.address().port,
    ask: (data, accept, { retryMs = 500, tries = 10 } = {}) =>
      new Promise((resolve, reject) => {
        let sends = 0;
        let timer: NodeJS.Timeout | undefined;
        const send = (): void => {
          if (sends === tries) {
            waiting = undefined;
            reject(new Error(`no answer after ${tries} sends of a ${data.length}-byte datagram`));
            return;
          }
          sends += 1;
          socket.send(data, to, '127.0.0.1');
          timer = setTimeout(send, retryMs);
        };
        waiting = (reply) => {
          if (!accept(reply)) return; // a late answer to an earlier datagram
          clearTimeout(timer);
          waiting = undefined;
          resolve({ reply, sends });
        };
        send();
      }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
