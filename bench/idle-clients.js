// Holds idle connections for the memory figure, run by bench/run.js on the load CPU:
//
//   node bench/idle-clients.js 127.0.0.1:port count
//
// Opens `count` connections (200 at a time); each sends one HTTP/1.1 GET and reads the
// whole answer, so every connection has moved bytes both ways, then stays open and
// silent. Prints one JSON line once all are open: {"ready":count,"dropped":0}. On a line
// "close" on stdin, closes them all, prints {"closed":count,"dropped":n} and exits 0.
// Any connection that fails, or that the other side closes, is an error: exit 1.
import net from 'node:net';
import readline from 'node:readline';

const [address = '', countArg = ''] = process.argv.slice(2);
const host = address.slice(0, address.lastIndexOf(':'));
const port = Number(address.slice(address.lastIndexOf(':') + 1));
const count = Number(countArg);
if (!host || !Number.isInteger(port) || !Number.isInteger(count) || count <= 0) fail('usage: idle-clients.js host:port count');
const IN_FLIGHT = 200;
const REQUEST = 'GET / HTTP/1.1\r\nHost: bench\r\n\r\n';

/** @type {net.Socket[]} */
const sockets = [];
/** @type {Set<net.Socket>} */
const closed = new Set();
let ready = false;
let closing = false;
let dropped = 0;

/** @param {string} message */
function fail(message) {
  process.stderr.write(`idle-clients: ${message}\n`);
  process.exit(1);
}

/** Opens one connection and resolves once its whole answer has arrived. */
function open() {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    sockets.push(socket);
    let answer = '';
    let answered = false;
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(REQUEST));
    socket.on('data', (text) => {
      if (answered) return fail(`unexpected bytes on an idle connection: ${JSON.stringify(text.slice(0, 100))}`);
      answer += text;
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!answer.startsWith('HTTP/1.1 200 ')) fail(`answer is not 200: ${JSON.stringify(answer.slice(0, 200))}`);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(answer.slice(0, end))?.[1]);
      if (!Number.isInteger(length)) fail(`answer without Content-Length: ${JSON.stringify(answer.slice(0, end))}`);
      if (answer.length >= end + 4 + length) {
        answered = true;
        resolve(undefined);
      }
    });
    socket.on('error', (err) => fail(`connection ${sockets.length} to ${address}: ${err.message}`));
    socket.on('close', () => {
      closed.add(socket);
      if (!closing) {
        dropped++;
        if (!ready) fail(`connection closed by ${address} before it was answered`);
      }
    });
  });
}

let opened = 0;
async function worker() {
  while (opened < count) {
    opened++;
    await open();
  }
}
await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
ready = true;
process.stdout.write(`${JSON.stringify({ ready: sockets.length, dropped })}\n`);

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'close') return;
  closing = true;
  const done = () => {
    if (closed.size < sockets.length) return;
    process.stdout.write(`${JSON.stringify({ closed: sockets.length, dropped })}\n`);
    process.exit(0);
  };
  for (const socket of sockets) {
    socket.once('close', done);
    socket.destroy();
  }
  done();
});
lines.on('close', () => {
  if (!closing) process.exit(1); // the parent has gone
});
