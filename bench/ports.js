// Loopback ports for the servers the bench starts.
import fs from 'node:fs';
import net from 'node:net';
import { describeExit, stderrTail } from './processes.js';

/** A TCP port free on 127.0.0.1 now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something listens on 127.0.0.1:port, as /proc/net/tcp shows it (no probe
 * connection: a proxy would pass one on to its backend, and iperf3 would take it for a
 * client); rejects when `child` exits first or after `timeoutS`. `detail` adds to the
 * error (a server's own log).
 * @param {number} port
 * @param {import('./processes.js').Child} child
 * @param {number} timeoutS
 * @param {() => string} [detail]
 */
export async function waitForListen(port, child, timeoutS, detail = () => '') {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A `;
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const exit = child.exitInfo();
    if (exit) throw new Error(`${child.name} exited (${describeExit(exit)}) before it listened on 127.0.0.1:${port}${stderrTail(child)}${detail()}`);
    if (fs.readFileSync('/proc/net/tcp', 'utf8').includes(local)) return;
    if (Date.now() > deadline) throw new Error(`${child.name} not listening on 127.0.0.1:${port} within ${timeoutS} s${stderrTail(child)}${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
