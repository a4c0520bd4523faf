import { type Observable, map } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { Arrival, DoorIo } from '../../../../src/streams/door/arrival.js';
import { HELLO_READ_LIMIT, clientHello } from '../../../../src/streams/door/client-hello.js';
import type { FakeSocket } from '../../fixtures.js';
import { testScheduler } from '../../helpers.js';
import { alpn, handshake, hello, helloBody, padding, records, serverName } from '../../../unit/wire/hello-builder.js';
import { from, type TestArrival } from './arrivals.js';

const TLS = hello({ extensions: [serverName('API.example.com'), alpn(['h2', 'http/1.1'])] });
const h1 = TLS.subarray(0, 20);
const h2 = TLS.subarray(20);

/** Door io whose client sends what `preread` says; the clock is not read by this stage. */
function io(preread: (client: FakeSocket) => Observable<Buffer>) {
  return { preread$: vi.fn(preread), now: () => 0 } satisfies DoorIo<FakeSocket>;
}

/** What a diagram compares: the server name and protocols learned, and the bytes kept. */
const seen = (a: Arrival<FakeSocket>) => ({ sni: a.sni, alpn: a.alpn, preread: a.preread?.toString('latin1'), refused: a.refused });
const bytes = (b: Buffer): string => b.toString('latin1');

describe('clientHello', () => {
  it('reads a hello across chunks, learns its name and protocols, and keeps every byte for the backend', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const client = cold('-a-b-', { a: h1, b: h2 }); // the client waits for the handshake: no more
      const door = io(() => client);
      const arrivals = hot('a------|', { a: from('192.0.2.1') });
      expectObservable(arrivals.pipe(clientHello(door, 5000), map(seen))).toBe('---x---|', {
        x: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'], preread: bytes(TLS), refused: undefined },
      });
      // reading stops at the hello's last byte: the rest waits in the socket for the copy
      expectSubscriptions(client.subscriptions).toBe('^--!');
    });
  });

  it('keeps what follows the hello in its last chunk too', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const more = Buffer.concat([TLS, Buffer.from('\x17\x03\x03\x00\x02hi', 'latin1')]);
      const door = io(() => cold('a', { a: more }));
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map(seen))).toBe('x|', {
        x: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'], preread: bytes(more), refused: undefined },
      });
    });
  });

  it('reads a hello in many records, each a chunk, and concatenates them in order', () => {
    const split = records(handshake(helloBody({ extensions: [serverName('split.example')] })), [3, 1, 7, 40]);
    const [a, b, c, d] = [split.subarray(0, 5), split.subarray(5, 9), split.subarray(9, 30), split.subarray(30)];
    testScheduler().run(({ cold, expectObservable }) => {
      const door = io(() => cold('abcd', { a, b, c, d }));
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map(seen))).toBe('---(x|)', {
        x: { sni: 'split.example', alpn: [], preread: bytes(split), refused: undefined },
      });
    });
  });

  it('goes on without a server name, keeping the bytes, for a client that is not TLS', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const client = cold('--a-b-', { a: Buffer.from('GET / HTTP/1.1\r\n'), b: Buffer.from('Host: x\r\n') });
      const door = io(() => client);
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map(seen))).toBe('--(x|)', {
        x: { sni: undefined, alpn: [], preread: 'GET / HTTP/1.1\r\n', refused: undefined },
      });
      expectSubscriptions(client.subscriptions).toBe('^-!');
    });
  });

  it('goes on without a server name for a malformed hello, and for one over 16 KiB', () => {
    const notHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]); // a ServerHello's type
    const huge = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x40, 0x01]); // claims 16385 bytes
    testScheduler().run(({ cold, expectObservable }) => {
      const first = (chunk: Buffer) => io(() => cold('-a', { a: chunk }));
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(first(notHello), 5000), map(seen))).toBe('-(x|)', {
        x: { sni: undefined, alpn: [], preread: bytes(notHello), refused: undefined },
      });
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(first(huge), 5000), map(seen))).toBe('-(x|)', {
        x: { sni: undefined, alpn: [], preread: bytes(huge), refused: undefined },
      });
    });
  });

  it(`stops reading past ${HELLO_READ_LIMIT} bytes without a whole hello (one-byte records)`, () => {
    const message = handshake(helloBody({ extensions: [padding(15_000), serverName('slow.example')] }));
    const dribble = records(message, new Array<number>(message.length).fill(1));
    const record = dribble.subarray(0, 6); // one record of one byte
    let sent = 0;
    testScheduler().run(({ cold, expectObservable }) => {
      // each frame, 1,000 one-byte records (6,000 bytes)
      const client = cold('abcdefghij', Object.fromEntries([...'abcdefghij'].map((k, i) => [k, dribble.subarray(i * 6000, (i + 1) * 6000)])));
      const door = io(() => client.pipe(map((chunk) => ((sent += chunk.length), chunk))));
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map((a) => [a.sni, a.preread?.length]))).toBe('-----(x|)', {
        x: [undefined, 36_000],
      });
    });
    expect(dribble.length).toBe(6 * message.length);
    expect(record.equals(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x01]))).toBe(true);
    expect(sent).toBe(36_000); // the sixth chunk passed the limit, and nothing was read after it
  });

  it('goes on without a server name when the client ends its sending (FIN) mid-hello', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const client = cold('-a-|', { a: h1 });
      const door = io(() => client);
      expectObservable(cold('a|', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map(seen))).toBe('---(x|)', {
        x: { sni: undefined, alpn: [], preread: bytes(h1), refused: undefined },
      });
      expectSubscriptions(client.subscriptions).toBe('^--!');
    });
  });

  it('goes on without a server name at preread_timeout, with the bytes read so far, and stops reading', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const client = cold('-a-', { a: h1 }); // half a hello, then nothing
      const door = io(() => client);
      expectObservable(cold('a', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000), map(seen))).toBe('5000ms x', {
        x: { sni: undefined, alpn: [], preread: bytes(h1), refused: undefined },
      });
      expectSubscriptions(client.subscriptions).toBe('^ 4999ms !');
    });
  });

  it('times out with no preread at all for a client that sends nothing (a server-speaks-first protocol)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const door = io(() => cold<Buffer>('-'));
      expectObservable(cold('a', { a: from('192.0.2.1') }).pipe(clientHello(door, 250), map(seen))).toBe('250ms x', {
        x: { sni: undefined, alpn: [], preread: undefined, refused: undefined },
      });
    });
  });

  it('stops reading and its timer when the connection goes mid-hello (unsubscribed)', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const client = cold('-a------', { a: h1 });
      const door = io(() => client);
      expectObservable(cold('a', { a: from('192.0.2.1') }).pipe(clientHello(door, 5), map(seen)), '^--!').toBe('---');
      expectSubscriptions(client.subscriptions).toBe('^--!');
    });
  });

  it('reads what a PROXY header left in preread first, and reads no more when it holds the whole hello', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const door = io(() => cold('a', { a: h2 }));
      const afterHeader = { ...from('10.0.0.100'), preread: h1 };
      const whole = { ...from('10.0.0.100'), preread: TLS };
      expectObservable(cold('a|', { a: afterHeader }).pipe(clientHello(door, 5000), map(seen))).toBe('x|', {
        x: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'], preread: bytes(TLS), refused: undefined },
      });
      expectObservable(cold('a|', { a: whole }).pipe(clientHello(door, 5000), map(seen))).toBe('x|', {
        x: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'], preread: bytes(TLS), refused: undefined },
      });
    });
  });

  it("keeps a PROXY header's authority and ALPN when the hello has none", () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const bare = hello({ extensions: [] });
      const door = io(() => cold('a', { a: bare }));
      const told = { ...from('10.0.0.100'), sni: 'told.example', alpn: ['h2'] };
      expectObservable(cold('a|', { a: told }).pipe(clientHello(door, 5000), map(seen))).toBe('x|', {
        x: { sni: 'told.example', alpn: ['h2'], preread: bytes(bare), refused: undefined },
      });
    });
  });

  it('never reads for an arrival refused before, and passes it untouched', () => {
    const door = io(() => {
      throw new Error('read');
    });
    const refused = { ...from('192.0.2.1'), refused: 'denied' as const };
    const passed: unknown[] = [];
    testScheduler().run(({ cold }) => {
      cold('a|', { a: refused }).pipe(clientHello(door, 5000)).subscribe((a) => passed.push(a));
    });
    expect(passed[0]).toBe(refused);
    expect(door.preread$).not.toHaveBeenCalled();
  });

  it('reads each arrival on its own, side by side', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const door = io((socket) => (socket.id.startsWith('192.0.2.1:') ? cold('---a', { a: TLS }) : cold('-a', { a: Buffer.from('SSH-2.0\r\n') })));
      const arrivals = hot('ab---|', { a: from('192.0.2.1'), b: from('192.0.2.2') });
      expectObservable(arrivals.pipe(clientHello(door, 5000), map((a) => a.sni ?? '-'))).toBe('--ba-|', { a: 'api.example.com', b: '-' });
    });
  });

  it('passes on never, empty, and errors: of the arrivals, and of the reading', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const door = io(() => cold<Buffer>('-#', undefined, new Error('read failed')));
      expectObservable(cold<TestArrival>('-').pipe(clientHello(door, 5000))).toBe('-');
      expectObservable(cold<TestArrival>('|').pipe(clientHello(door, 5000))).toBe('|');
      expectObservable(cold<TestArrival>('#').pipe(clientHello(door, 5000))).toBe('#');
      expectObservable(cold('a', { a: from('192.0.2.1') }).pipe(clientHello(door, 5000))).toBe('-#', undefined, new Error('read failed'));
    });
  });
});
