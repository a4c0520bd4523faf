import net from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import './seed.js';
import { firstValueFrom, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthProbe$, PROBE_READ_LIMIT } from '../../src/io/health-probe.js';
import type { ProbeResult, ProbeTarget } from '../../src/streams/ports.js';

/**
 * The HTTP health check's reading of a backend's answer. It has no parsing function of
 * its own, so a loopback server answers each check with bytes from the test: well-formed
 * and malformed status lines, any bytes, cut into pieces, then closed, reset or left
 * open. Whatever arrives, a check gives exactly one result and completes, never an
 * error and never a hang; a well-formed status line passes exactly when its status is
 * one `expect_status` allows; anything else fails.
 */

type Ending = 'end' | 'reset' | 'open';
interface Answer {
  readonly bytes: Buffer;
  /** Where the bytes are cut into separate writes. */
  readonly cuts: readonly number[];
  readonly ending: Ending;
}

let server: net.Server;
const sockets = new Set<net.Socket>();
let port = 0;
let answer: Answer = { bytes: Buffer.alloc(0), cuts: [], ending: 'end' };

/** Answers each check, once its request has arrived, with the current `answer`. */
async function respond(socket: net.Socket): Promise<void> {
  socket.on('error', () => undefined); // the check may close first: that is its right
  const { bytes, cuts, ending } = answer;
  await new Promise<void>((resolve) => {
    let head = '';
    const read = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', read);
      resolve();
    };
    socket.on('data', read);
    socket.on('close', () => resolve());
  });
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  for (let i = 1; i < bounds.length && !socket.destroyed; i += 1) {
    socket.write(bytes.subarray(bounds[i - 1], bounds[i]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (ending === 'end') socket.end();
  else if (ending === 'reset') socket.resetAndDestroy();
  // 'open': left for the check to close
}

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket.once('close', () => sockets.delete(socket)));
    void respond(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.close();
  for (const socket of sockets) socket.destroy();
  await once(server, 'close');
});

type Ranges = ProbeTarget['expectStatus'];

/** One check against the server answering `next`; the results it emitted before completing. */
async function check(next: Answer, expectStatus: Ranges): Promise<ProbeResult[]> {
  answer = next;
  const target: ProbeTarget = { kind: 'http', host: '127.0.0.1', port, path: '/healthz', hostHeader: `app.test:${port}`, expectStatus };
  return firstValueFrom(healthProbe$(target).pipe(toArray(), timeout(5_000)));
}

const allows = (ranges: Ranges, status: number): boolean => ranges.some(([low, high]) => status >= low && status <= high);

const ranges: fc.Arbitrary<Ranges> = fc.array(
  fc.tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 120 })).map(([low, span]): readonly [number, number] => [low, Math.min(599, low + span)]),
  { minLength: 1, maxLength: 3 },
);
const cuts = (length: number): fc.Arbitrary<number[]> => fc.array(fc.nat(length), { maxLength: 4 });
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const rest = fc.oneof(
  fc.constant(''),
  fc.constantFrom('Content-Length: 0\r\n\r\n', 'Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok', 'X: y\n\n'),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.integer({ min: PROBE_READ_LIMIT - 64, max: PROBE_READ_LIMIT * 2 }).map((n) => `\r\n${'b'.repeat(n)}`),
);

/** A status line as servers write it, with the status it carries. */
const wellFormed = fc
  .tuple(
    fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 999 })),
    fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2'),
    fc.constantFrom('', ' OK', ' Not Found', ' ', ' Service Unavailable', ' \u00e9t\u00e9'),
    fc.constantFrom('\r\n', '\n'),
  )
  .map(([status, version, reason, eol]) => ({ line: `${version} ${String(status).padStart(3, '0')}${reason}${eol}`, status }));

/** First lines that are not an HTTP status line: each must fail the check. */
const malformed = fc.oneof(
  fc.constantFrom(
    'HTTP/1.1 200OK\r\n',
    'http/1.1 200 OK\r\n',
    'HTTP/1.1 2000 OK\r\n',
    'HTTP/1.1  200 OK\r\n',
    ' HTTP/1.1 200 OK\r\n',
    'HTTP 200 OK\r\n',
    'HTTP/1.1 20 OK\r\n',
    'ICY 200 OK\r\n',
    '\r\nHTTP/1.1 200 OK\r\n',
    'SSH-2.0-OpenSSH_9.6\r\n',
    'HTTP/1.1 +20 OK\r\n',
    'HTTP/11.1 200 OK\r\n',
  ),
  // a status line that does not end within the read limit
  fc.integer({ min: PROBE_READ_LIMIT, max: PROBE_READ_LIMIT * 3 }).map((n) => `HTTP/1.1 200 ${'r'.repeat(n)}\r\n`),
);

describe('the HTTP health check reading any answer', () => {
  it('passes on a well-formed status line exactly when expect_status allows its status', async () => {
    const answer = fc.tuple(wellFormed, rest).chain(([{ line, status }, after]) => {
      const bytes = latin1(line + after);
      return fc.record({ status: fc.constant(status), bytes: fc.constant(bytes), cuts: cuts(bytes.length), ending: fc.constantFrom<Ending>('end', 'open') });
    });
    await fc.assert(
      fc.asyncProperty(answer, ranges, async ({ status, ...next }, expectStatus) => {
        const results = await check(next, expectStatus);
        expect(results).toEqual([{ pass: allows(expectStatus, status), detail: `status ${status}` }]);
      }),
      { numRuns: 80 },
    );
  });

  it('fails on anything that is not a status line, however it arrives', async () => {
    const answer = fc.tuple(malformed, rest).chain(([line, after]) => {
      const bytes = latin1(line + after);
      return fc.record({ bytes: fc.constant(bytes), cuts: cuts(bytes.length), ending: fc.constantFrom<Ending>('end', 'open') });
    });
    await fc.assert(
      fc.asyncProperty(answer, ranges, async (next, expectStatus) => {
        const results = await check(next, [[100, 599], ...expectStatus]);
        expect(results).toHaveLength(1);
        expect(results[0]?.pass).toBe(false);
        expect(results[0]?.detail, 'one line').not.toMatch(/[\r\n]/);
      }),
      { numRuns: 60 },
    );
  });

  it('any bytes, closed, reset or cut short: one result, then done; a pass only for an HTTP status it allows', async () => {
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([latin1('HTTP/1.1 2'), Buffer.from(b)])),
      fc
        .tuple(fc.integer({ min: 100, max: 599 }), fc.constantFrom(' ', '\r\n', '\n', ''), fc.uint8Array({ maxLength: 100 }))
        .map(([status, after, b]) => Buffer.concat([latin1(`HTTP/1.1 ${status}${after}`), Buffer.from(b)])),
      fc.uint8Array({ minLength: PROBE_READ_LIMIT - 10, maxLength: PROBE_READ_LIMIT + 10 }).map((b) => Buffer.from(b)),
    );
    const answer = anyBytes.chain((bytes) =>
      fc.record({ bytes: fc.constant(bytes), cuts: cuts(bytes.length), ending: fc.constantFrom<Ending>('end', 'reset') }),
    );
    await fc.assert(
      fc.asyncProperty(answer, ranges, async (next, expectStatus) => {
        const results = await check(next, expectStatus);
        expect(results).toHaveLength(1);
        const [result] = results;
        expect(result?.detail, 'one line').not.toMatch(/[\r\n]/);
        if (result?.pass) {
          const status = Number(/^status (\d{3})$/.exec(result.detail)?.[1]);
          expect(next.bytes.subarray(0, 5).toString('latin1')).toBe('HTTP/');
          expect(next.bytes.subarray(0, PROBE_READ_LIMIT).toString('latin1')).toContain(` ${status}`);
          expect(allows(expectStatus, status)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});
