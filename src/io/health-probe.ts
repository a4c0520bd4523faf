import net from 'node:net';
import { Observable } from 'rxjs';
import type { ProbeResult, ProbeTarget } from '../streams/ports.js';
import { encodeProxyV1, encodeProxyV2 } from '../wire/proxy-header.js';

/** How much of a response an HTTP check reads, at most, looking for the status line. */
export const PROBE_READ_LIMIT = 4096;

const STATUS_LINE = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/;

/**
 * One active health check over a fresh TCP connection: emits one ProbeResult, then
 * completes.
 *
 * - `tcp`: passes once the connection is up (and the PROXY header, if any, written).
 * - `http`: sends `GET path HTTP/1.1` with `Host` and `Connection: close`, reads at
 *   most 4 KiB until the status line, and passes if the status is one `expect_status`
 *   allows. Headers and body are never read.
 *
 * With `sendProxy`, the PROXY header goes first, in the same write as the request.
 *
 * A connection that fails, resets or closes early is a failed result, not an error.
 * There is no timer here: the stream's `timeout` unsubscribes a check that takes too
 * long. Teardown (after the result, or on that unsubscribe) destroys the socket.
 */
export function healthProbe$(target: ProbeTarget): Observable<ProbeResult> {
  return new Observable<ProbeResult>((subscriber) => {
    const finish = (pass: boolean, detail: string): void => {
      subscriber.next({ pass, detail });
      subscriber.complete();
    };
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    // Stays attached after the result: an error during destroy must not crash the process.
    socket.on('error', (err: NodeJS.ErrnoException) => finish(false, describeError(err)));
    socket.on('connect', () => {
      const header = proxyHeader(target.sendProxy, socket);
      if (target.kind === 'http') socket.write(header === undefined ? request(target) : Buffer.concat([header, Buffer.from(request(target), 'latin1')]));
      else if (header === undefined) finish(true, 'connected');
      // passes once the header is handed to the system: closing at once could cut it off
      else socket.write(header, () => finish(true, 'connected'));
    });
    if (target.kind === 'http') {
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1', 0, Math.min(chunk.length, PROBE_READ_LIMIT - head.length));
        const eol = head.indexOf('\n');
        if (eol >= 0) finish(...judge(head.slice(0, eol).replace(/\r$/, ''), target));
        else if (head.length >= PROBE_READ_LIMIT) finish(false, `no status line in the first ${PROBE_READ_LIMIT} bytes`);
      });
      socket.on('end', () => finish(false, head === '' ? 'closed without a response' : 'closed before the status line ended'));
    }
    return () => {
      socket.destroy();
    };
  });
}

/** The check's PROXY header: v2 LOCAL, or a v1 line naming the check's own connection. */
function proxyHeader(version: ProbeTarget['sendProxy'], socket: net.Socket): Buffer | undefined {
  if (version === undefined) return undefined;
  if (version === 'v2') return encodeProxyV2({ command: 'local', transport: 'stream' });
  const source = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
  const destination = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
  return encodeProxyV1({ source, destination });
}

function request(target: ProbeTarget): string {
  return (
    `GET ${target.path} HTTP/1.1\r\n` +
    `Host: ${target.hostHeader}\r\n` +
    'User-Agent: rxlb-health-check\r\n' +
    'Accept: */*\r\n' +
    'Connection: close\r\n' +
    '\r\n'
  );
}

function judge(statusLine: string, target: ProbeTarget): [boolean, string] {
  const match = STATUS_LINE.exec(statusLine);
  if (!match) return [false, `not an HTTP status line: ${JSON.stringify(statusLine.slice(0, 80))}`];
  const status = Number(match[1]);
  return [target.expectStatus.some(([low, high]) => status >= low && status <= high), `status ${status}`];
}

function describeError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `unreachable (${err.code})`;
    default:
      return err.code ?? err.message;
  }
}
