import { once } from 'node:events';
import net from 'node:net';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpClientGone$, tcpPreread$ } from '../../src/io/tcp-client.js';

/*
 * The door reads a client while the set-up watch listens to it: both on one real socket
 * pair on loopback, as a connection with a PROXY header or a ClientHello has them.
 */

const opened: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A connected pair: rxlb's side (`accepted`, half-open allowed as rxlb's listener has it) and the client's. */
async function pair(): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect');
  accepted.on('error', () => undefined); // as rxlb's listener adopts each socket: a reset is seen at 'close'
  opened.push(client, accepted);
  return { accepted, client };
}

/** Every byte the socket gives to a 'data' listener until its end. */
async function rest(socket: net.Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'end');
  return Buffer.concat(chunks).toString();
}

describe('tcpPreread$ under the set-up watch', () => {
  it('reads what the client sent while the watch listens, and leaves the rest for the copy', async () => {
    const { accepted, client } = await pair();
    const watch = tcpClientGone$(accepted).subscribe();
    client.write('HEAD');
    const first = await firstValueFrom(tcpPreread$(accepted).pipe(take(1)));
    expect(first.toString()).toBe('HEAD');
    client.end('BODY');
    watch.unsubscribe();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(await rest(accepted)).toBe('BODY');
  });

  it('reads bytes that came before it subscribed, then completes at the client FIN', async () => {
    const { accepted, client } = await pair();
    const watch = tcpClientGone$(accepted).subscribe();
    client.end('early');
    await once(accepted, 'readable');
    const chunks = await firstValueFrom(tcpPreread$(accepted).pipe(toArray()));
    expect(Buffer.concat(chunks).toString()).toBe('early');
    watch.unsubscribe();
  });

  it('lets the watch see a client that resets while the door reads', async () => {
    const { accepted, client } = await pair();
    const gone = firstValueFrom(tcpClientGone$(accepted));
    const reading = tcpPreread$(accepted).subscribe();
    client.resetAndDestroy();
    await gone;
    expect(accepted.destroyed).toBe(true);
    reading.unsubscribe();
  });
});
