// The baseline: the simplest raw Node TCP proxy, round robin over the backends on argv.
//   node bench/raw-proxy.js 127.0.0.1:p1 127.0.0.1:p2   -> prints the port it listens on
import net from 'node:net';

const backends = process.argv.slice(2).map((a) => {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
});
let next = 0;

const server = net.createServer((client) => {
  const upstream = net.connect(backends[next++ % backends.length]);
  const destroy = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroy);
  upstream.on('error', destroy);
  client.pipe(upstream);
  upstream.pipe(client);
});

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`${/** @type {net.AddressInfo} */ (server.address()).port}\n`);
});
process.stdin.on('end', () => process.exit(0)); // parent gone
process.stdin.resume();
