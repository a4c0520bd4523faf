import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../../src/config/types.js';
import type { ClientAddress } from '../../../../src/operators/policies/types.js';
import type { BalancerEvent } from '../../../../src/streams/balancer.js';
import { MAX_FORWARD_BYTES, type SessionEffect, type SessionInput, type SessionStep, emptySessionTable, reduceSessions } from '../../../../src/streams/udp/sessions.js';
import { encodeProxyV2 } from '../../../../src/wire/proxy-header.js';
import { testScheduler } from '../../helpers.js';
import { backend, config, listener, pool } from '../../fixtures.js';
import { c1, c2, datagram, echoing, fakeUdp, listening, runUdp, text } from './fake-udp.js';

const A: ClientAddress = { address: '10.0.0.1', port: 5001 };
const HEADER = encodeProxyV2({ command: 'proxy', transport: 'dgram', source: A, destination: { address: '127.0.0.1', port: 5353 } });

/** The steps of `inputs` folded from an empty table. */
function fold(inputs: readonly SessionInput[]): SessionStep[] {
  const steps: SessionStep[] = [];
  let table = emptySessionTable({ listener: 'dns', pool: 'resolvers', allow: undefined, deny: undefined, routes: [], timeoutMs: 300, maxSessions: 0 });
  for (const input of inputs) {
    const step = reduceSessions(table, input);
    steps.push(step);
    table = step.table;
  }
  return steps;
}

const forwards = (effects: readonly SessionEffect[]) => effects.flatMap((e) => (e.type === 'forward' ? [{ data: Buffer.from(e.data).toString('latin1'), header: e.header }] : []));

describe('reduceSessions with a pool that sends a PROXY header', () => {
  const key = '10.0.0.1:5001';
  const datagramOf = (data: Uint8Array, at: number): SessionInput => ({ type: 'datagram', key, client: A, data, at, room: true });
  const picked: SessionInput = { type: 'picked', key, session: 1, backend: { address: '10.9.0.1:53', host: '10.9.0.1', port: 53 }, header: HEADER };

  it('puts the header of the pick before every datagram, those that waited and those after, and counts only the client bytes', () => {
    const steps = fold([datagramOf(Buffer.from('q1'), 0), picked, datagramOf(Buffer.from('q2'), 1), { type: 'ready', key, upstream: 2 }, datagramOf(Buffer.from('q3'), 2), { type: 'shutdown', at: 3 }]);
    expect(forwards(steps[3]!.effects)).toEqual([
      { data: 'q1', header: HEADER },
      { data: 'q2', header: HEADER },
    ]);
    expect(forwards(steps[4]!.effects)).toEqual([{ data: 'q3', header: HEADER }]);
    // the same buffer each time: built once per session, not per datagram
    expect(steps[4]!.effects[0]).toMatchObject({ header: HEADER });
    expect((steps[4]!.effects[0] as { header: Uint8Array }).header).toBe(HEADER);
    const closed = steps[5]!.effects.find((e) => e.type === 'emit' && e.event.type === 'conn-closed');
    expect(closed).toMatchObject({ event: { datagrams: { up: 3, down: 0 }, bytesUp: 6 } });
  });

  it('drops, as too_large, a datagram that the header would make larger than UDP carries, and forwards the largest that fits', () => {
    const fits = Buffer.alloc(MAX_FORWARD_BYTES - HEADER.length, 0x61);
    const over = Buffer.alloc(MAX_FORWARD_BYTES - HEADER.length + 1, 0x62);
    const steps = fold([datagramOf(over, 0), datagramOf(fits, 0), picked, { type: 'ready', key, upstream: 2 }, datagramOf(over, 1), datagramOf(fits, 1), { type: 'tick', at: 2 }]);
    expect(steps[3]!.effects.map((e) => (e.type === 'forward' ? e.data.byteLength + (e.header?.byteLength ?? 0) : e.type))).toEqual([MAX_FORWARD_BYTES]);
    expect(steps[4]!.effects).toEqual([]);
    expect(steps[5]!.effects).toHaveLength(1);
    const dropped = steps[6]!.effects.flatMap((e) => (e.type === 'emit' && e.event.type === 'udp-dropped' ? [e.event] : []));
    expect(dropped).toEqual([{ type: 'udp-dropped', listener: 'dns', pool: 'resolvers', reason: 'too_large', datagrams: 2, bytes: 2 * over.length }]);
  });
});

describe('a UDP listener in front of a pool with proxy_protocol = "v2"', () => {
  it('sends every datagram after a DGRAM header from the client to the listener address, and passes replies back untouched', () => {
    const rx = testScheduler();
    const l = listener({ name: 'dns', protocol: 'udp', sessionTimeoutMs: 300 });
    const cfg: Config = config([pool([backend('10.0.0.1:53')], { proxyProtocol: 'v2' })], [l]);
    let events: string[] = [];
    const udp = rx.run(({ cold, hot }) => {
      const io = fakeUdp(hot('l-a-b-a', { l: listening(cfg, '127.0.0.1:5353'), a: datagram(c1, 'q1'), b: datagram(c2, 'q2') }), echoing(cold));
      events = runUdp(new Observable<Config>((s) => s.next(cfg)), io, hot('600ms s'), () => rx.now(), (at: number, e: BalancerEvent) =>
        e.type === 'conn-closed' ? `${at} closed ${e.client} up ${e.datagrams?.up}/${e.bytesUp}` : `${at} ${e.type}`,
      ).events;
      return io;
    });
    const to = { address: '127.0.0.1', port: 5353 };
    const headerOf = (client: ClientAddress): string => encodeProxyV2({ command: 'proxy', transport: 'dgram', source: client, destination: to }).toString('hex');
    expect(udp.forward.mock.calls.map(([up, data, header]) => `${up.id} ${Buffer.from(header ?? []).toString('hex')} ${text(data)}`)).toEqual([
      `up:10.0.0.1:53 ${headerOf(c1)} q1`,
      `up:10.0.0.1:53 ${headerOf(c2)} q2`,
      `up:10.0.0.1:53 ${headerOf(c1)} q1`,
    ]);
    expect(headerOf(c1)).toBe('0d0a0d0a000d0a515549540a' + '2112000c' + 'c0000201' + '7f000001' + '0457' + '14e9');
    expect(udp.reply.mock.calls.map(([, client, data]) => `${client.port} ${text(data)}`)).toEqual(['1111 from 10.0.0.1:53', '2222 from 10.0.0.1:53']);
    // bytes_up counts what the clients sent, not the headers
    expect(events.filter((e) => e.includes('closed'))).toEqual(['450 closed 192.0.2.1:1111 up 2/4', '450 closed 192.0.2.2:2222 up 1/2']);
  });
});
