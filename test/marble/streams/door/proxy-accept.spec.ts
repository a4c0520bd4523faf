import { type Observable, NEVER, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ListenerConfig } from '../../../../src/config/types.js';
import { type Arrival, type DoorIo, arrivalOf } from '../../../../src/streams/door/arrival.js';
import { addressList } from '../../../../src/streams/door/cidr.js';
import { acceptProxyHeader, shown } from '../../../../src/streams/door/proxy-accept.js';
import { encodeProxyV2, V2_SIGNATURE } from '../../../../src/wire/proxy-header.js';
import { testScheduler } from '../../helpers.js';
import { type FakeSocket, listener } from '../../fixtures.js';

const front = listener({ proxyProtocol: 'accept', prereadTimeoutMs: 5_000 });
const guarded = listener({ proxyProtocol: 'accept', proxyTrusted: addressList(['10.0.0.0/8', '::1']), prereadTimeoutMs: 5_000 });
const balancer = { address: '10.0.0.5', port: 41000 };

const socket = (id: string): FakeSocket => ({ id });
const arrival = (id: string, l: ListenerConfig = front, peer = balancer): Arrival<FakeSocket> => arrivalOf(socket(id), l, peer);

/** A door io whose `preread$` answers from a table of streams by socket id. */
function doorIo(preread: Record<string, Observable<Buffer>>): DoorIo<FakeSocket> & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    preread$: (client) => {
      asked.push(client.id);
      return preread[client.id] ?? NEVER;
    },
    now: () => 0,
  };
}

const V1 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n', 'latin1');
const V2 = encodeProxyV2({
  command: 'proxy',
  transport: 'stream',
  source: { address: '2001:db8::7', port: 50_000 },
  destination: { address: '2001:db8::1', port: 443 },
  tlvs: { alpn: 'h2', authority: 'API.Example.com', uniqueId: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
});
const LOCAL = encodeProxyV2({ command: 'local', transport: 'stream' });
const DATA = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', 'latin1');

/** `bytes` cut into chunks of `size` bytes, named a, b, c, ... for a marble diagram. */
function chunks(bytes: Buffer, size: number): Record<string, Buffer> {
  const values: Record<string, Buffer> = {};
  for (let i = 0; i * size < bytes.length; i += 1) values[String.fromCharCode(97 + i)] = bytes.subarray(i * size, (i + 1) * size);
  return values;
}

/** What a marble comparison needs of an arrival: who the client is, the refusal, and the bytes to forward. */
const facts = (a: Arrival<FakeSocket>) => ({
  socket: a.socket.id,
  client: `${a.client.address}:${a.client.port}`,
  refused: a.refused ?? null,
  preread: a.preread?.toString('latin1') ?? null,
});

describe('acceptProxyHeader', () => {
  it('reads a v2 header split across many chunks, and stops reading once it has it', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expect(V2.length).toBe(82); // 16 fixed, 36 of IPv6 addresses and ports, 30 of TLVs
      const values = chunks(V2, 7); // twelve chunks, the last of five bytes
      expect(Object.keys(values).join('')).toBe('abcdefghijkl');
      const preread = cold('-a-b-c-d-e-f-g-h-i-j-k-l-m-', { ...values, m: DATA });
      const arrivals = hot('x|', { x: arrival('c1') });
      const io = doorIo({ c1: preread });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(arrivals.pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('-----------------------(p|)', {
        p: { socket: 'c1', client: '2001:db8::7:50000', refused: null, preread: null },
      });
      // unsubscribed at the chunk that completes the header: the data after it waits in the socket
      expectSubscriptions(preread.subscriptions).toBe('^ 22ms !');
      rx.flush();
      expect(passed[0]).toMatchObject({
        peer: balancer,
        client: { address: '2001:db8::7', port: 50_000 },
        destination: { address: '2001:db8::1', port: 443 },
        sni: 'api.example.com',
        alpn: ['h2'],
        uniqueId: 'deadbeef',
        detail: undefined,
        pool: 'web',
      });
    });
  });

  it('hands on the data that came with the header in one chunk, intact, as preread', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const together = Buffer.concat([V1, DATA]);
      const preread = cold('--a-', { a: together });
      const io = doorIo({ c1: preread });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x|', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('--(p|)', {
        p: { socket: 'c1', client: '192.0.2.1:56324', refused: null, preread: DATA.toString('latin1') },
      });
      expectSubscriptions(preread.subscriptions).toBe('^-!');
      rx.flush();
      expect(passed[0]?.preread?.equals(DATA)).toBe(true);
      expect(passed[0]?.destination).toEqual({ address: '198.51.100.2', port: 443 });
      expect(passed[0]?.sni).toBeUndefined();
      expect(passed[0]?.alpn).toEqual([]);
    });
  });

  it('refuses with preread_timeout when no whole header arrives within preread_timeout, and stops reading then', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const preread = cold('-a-', { a: V1.subarray(0, 9) }); // "PROXY TCP", then nothing
      const io = doorIo({ c1: preread });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x|', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('5000ms (p|)', {
        p: { socket: 'c1', client: '10.0.0.5:41000', refused: 'preread_timeout', preread: null },
      });
      expectSubscriptions(preread.subscriptions).toBe('^ 4999ms !');
      rx.flush();
      expect(passed[0]?.detail).toBe('no whole PROXY header within 5s (9 bytes received)');
    });
  });

  it('refuses with bad_header a client that leaves mid-header (its FIN before a whole header)', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({ c1: cold('-a-b|', { a: V2.subarray(0, 12), b: V2.subarray(12, 20) }) });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x|', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('----(p|)', {
        p: { socket: 'c1', client: '10.0.0.5:41000', refused: 'bad_header', preread: null },
      });
      rx.flush();
      expect(passed[0]?.detail).toBe('the client closed after 20 bytes, before a whole PROXY header');
    });
  });

  it('refuses with bad_header what is not a PROXY header, and says what came instead', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const preread = cold('-a-', { a: DATA });
      const io = doorIo({ c1: preread });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x|', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('-(p|)', {
        p: { socket: 'c1', client: '10.0.0.5:41000', refused: 'bad_header', preread: null },
      });
      expectSubscriptions(preread.subscriptions).toBe('^!');
      rx.flush();
      // the bytes of a refused connection go nowhere: not even in preread
      expect(passed[0]?.detail).toBe('not a PROXY header: the client sent "GET / HTTP/1.1\\r\\n"... first; does the balancer in front send one?');
    });
  });

  it('refuses with bad_header a malformed header, with the decoder saying what is wrong', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const badVersion = Buffer.concat([V2_SIGNATURE, Buffer.from([0x31])]);
      const io = doorIo({
        c1: cold('-a-', { a: Buffer.from('PROXY TCP4 192.0.2.300 198.51.100.2 1 2\r\n', 'latin1') }),
        c2: cold('-a-', { a: badVersion }),
      });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x-y|', { x: arrival('c1'), y: arrival('c2') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), a.refused)))).toBe('-a-(b|)', {
        a: 'bad_header',
        b: 'bad_header',
      });
      rx.flush();
      expect(passed.map((a) => a.detail)).toEqual(['PROXY v1: bad TCP4 source address "192.0.2.300"', 'PROXY v2: version 3; only version 2 exists']);
    });
  });

  it('refuses a peer outside proxy_trusted with denied, without reading a byte', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({ out: cold('-a-', { a: V1 }), in: cold('-a-', { a: V1 }), six: cold('-a-', { a: V1 }) });
      const arrivals = hot('x-y-z|', {
        x: arrival('out', guarded, { address: '192.0.2.99', port: 1234 }),
        y: arrival('in', guarded, { address: '10.1.2.3', port: 1234 }),
        z: arrival('six', guarded, { address: '::1', port: 1234 }),
      });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(arrivals.pipe(acceptProxyHeader(guarded, io), map((a) => (passed.push(a), facts(a))))).toBe('x--y-(z|)', {
        x: { socket: 'out', client: '192.0.2.99:1234', refused: 'denied', preread: null },
        y: { socket: 'in', client: '192.0.2.1:56324', refused: null, preread: null },
        z: { socket: 'six', client: '192.0.2.1:56324', refused: null, preread: null },
      });
      rx.flush();
      expect(io.asked).toEqual(['in', 'six']);
      expect(passed[0]?.detail).toBe('a PROXY header from a peer not in proxy_trusted');
    });
  });

  it('keeps the TCP peer as the client for a v2 LOCAL header and a v1 UNKNOWN one', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({
        local: cold('-a-', { a: Buffer.concat([LOCAL, DATA]) }),
        unknown: cold('-a-', { a: Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n', 'latin1') }),
      });
      const passed: Arrival<FakeSocket>[] = [];
      expectObservable(hot('x-y|', { x: arrival('local'), y: arrival('unknown') }).pipe(acceptProxyHeader(front, io), map((a) => (passed.push(a), facts(a))))).toBe('-x-(y|)', {
        x: { socket: 'local', client: '10.0.0.5:41000', refused: null, preread: DATA.toString('latin1') },
        y: { socket: 'unknown', client: '10.0.0.5:41000', refused: null, preread: null },
      });
      rx.flush();
      // the same object: the connection sees no other client, and its record no `peer`
      expect(passed.every((a) => a.client === a.peer && a.destination === undefined)).toBe(true);
    });
  });

  it('passes an arrival already refused untouched, reading nothing', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({ c1: cold('-a-', { a: V1 }) });
      const turnedAway: Arrival<FakeSocket> = { ...arrival('c1'), refused: 'rate_limit' };
      expectObservable(hot('(x|)', { x: turnedAway }).pipe(acceptProxyHeader(front, io))).toBe('(x|)', { x: turnedAway });
      rx.flush();
      expect(io.asked).toEqual([]);
    });
  });

  it('emits exactly one arrival per arrival, each when its own header is whole, not in arrival order', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({ slow: cold('----a', { a: V1 }), quick: cold('a', { a: LOCAL }) });
      expectObservable(hot('x-y-|', { x: arrival('slow'), y: arrival('quick') }).pipe(acceptProxyHeader(front, io), map((a) => a.socket.id))).toBe('--q-(s|)', {
        q: 'quick',
        s: 'slow',
      });
    });
  });

  it('completes with no arrival for no arrival, never emits for never, and passes an error on', () => {
    const rx = testScheduler();
    rx.run(({ cold, expectObservable }) => {
      const io = doorIo({});
      expectObservable(cold<Arrival<FakeSocket>>('|').pipe(acceptProxyHeader(front, io))).toBe('|');
      expectObservable(cold<Arrival<FakeSocket>>('-').pipe(acceptProxyHeader(front, io))).toBe('-');
      expectObservable(cold<Arrival<FakeSocket>>('--#', undefined, new Error('boom')).pipe(acceptProxyHeader(front, io))).toBe('--#', undefined, new Error('boom'));
    });
  });

  it('stops reading and drops the timer when unsubscribed mid-header', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const preread = cold('-a-', { a: V2.subarray(0, 5) });
      const io = doorIo({ c1: preread });
      expectObservable(hot('x-', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io)), '^--!').toBe('---');
      expectSubscriptions(preread.subscriptions).toBe('^--!');
    });
  });

  it('passes on an error of the preread (which rxlb never makes: a reset is seen by the watch)', () => {
    const rx = testScheduler();
    rx.run(({ cold, hot, expectObservable }) => {
      const io = doorIo({ c1: cold('-#', undefined, new Error('read failed')) });
      expectObservable(hot('x', { x: arrival('c1') }).pipe(acceptProxyHeader(front, io))).toBe('-#', undefined, new Error('read failed'));
    });
  });
});

describe('shown', () => {
  it('quotes a client\'s first bytes so that any of them can go into a log line', () => {
    expect(shown(Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n', 'latin1'))).toBe('"SSH-2.0-OpenSSH_"...');
    expect(shown(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x22, 0x5c, 0xff, 0x09, 0x0a]))).toBe('"\\x16\\x03\\x01\\x00\\"\\\\\\xff\\t\\n"');
    expect(shown(Buffer.alloc(0))).toBe('""');
  });
});
