// Benchmark backends: two identical TCP servers on 127.0.0.1 (port 0), run in a
// process of their own so they never share an event loop with the proxy under test
// or with the load generator.
//
// Protocol (see bench/README.md): the first byte a client sends picks the mode.
//   'U'  upload sink: later bytes are counted and discarded; the client's payload never
//        contains a zero byte, and a zero byte marks its end: the server then answers
//        with the payload size as an 8-byte big-endian integer (no half-close needed).
//   'D'  download source: the server writes without pause (respecting backpressure)
//        until the client sends one more byte (any), then ends.
//   'R'  request/response: every REQ_SIZE bytes received are answered with RESP_SIZE bytes.
//   'C'  one-shot: one REQ_SIZE request answered with RESP_SIZE bytes, then the server
//        closes (like HTTP/1.0 without keep-alive); used for the new-connection rate.
//   'G'  greeting: answered with one byte 'g', then the connection idles until closed.
//
// Prints one JSON line `{"backends":["127.0.0.1:p1","127.0.0.1:p2"]}` on stdout, then
// serves until stdin closes (its parent has gone) or SIGTERM/SIGINT.
import net from 'node:net';
import { REQ_SIZE, RESP_SIZE } from './protocol.js';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const RESPONSE = Buffer.alloc(RESP_SIZE, 0x72);

/** @param {net.Socket} socket */
function serve(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  /** @type {string | undefined} */
  let mode;
  let count = 0; // bytes received in the current mode
  let stopped = false;

  const pump = () => {
    while (!stopped && !socket.destroyed) {
      if (!socket.write(CHUNK)) {
        socket.once('drain', pump);
        return;
      }
    }
  };

  socket.on('data', (data) => {
    let chunk = data;
    if (mode === undefined) {
      mode = String.fromCharCode(chunk[0]);
      chunk = chunk.subarray(1);
      if (mode === 'D') setImmediate(pump);
      else if (mode === 'G') socket.write('g');
      else if (!'URC'.includes(mode)) {
        socket.destroy();
        return;
      }
    }
    if (chunk.length === 0) return;
    switch (mode) {
      case 'U':
        count += chunk.length;
        if (chunk[chunk.length - 1] === 0) {
          const reply = Buffer.alloc(8);
          reply.writeBigUInt64BE(BigInt(count - 1));
          socket.write(reply);
          count = 0;
        }
        break;
      case 'D':
        if (!stopped) {
          stopped = true;
          socket.end();
        }
        break;
      case 'R': {
        count += chunk.length;
        const n = Math.floor(count / REQ_SIZE);
        if (n > 0) {
          count -= n * REQ_SIZE;
          socket.write(n === 1 ? RESPONSE : Buffer.concat(Array(n).fill(RESPONSE)));
        }
        break;
      }
      case 'C':
        count += chunk.length;
        if (count >= REQ_SIZE && !stopped) {
          stopped = true;
          socket.end(RESPONSE);
        }
        break;
      default:
        break;
    }
  });
  socket.on('end', () => {
    stopped = true;
    socket.end();
  });
}

/** @returns {Promise<net.Server>} */
function listen() {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, serve);
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve(server));
  });
}

const servers = await Promise.all([listen(), listen()]);
const addresses = servers.map((s) => {
  const a = /** @type {net.AddressInfo} */ (s.address());
  return `127.0.0.1:${a.port}`;
});
process.stdout.write(`${JSON.stringify({ backends: addresses })}\n`);

const quit = () => process.exit(0);
process.stdin.on('end', quit);
process.stdin.on('close', quit);
process.stdin.resume();
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
