import type { ListenerConfig } from '../../../../src/config/types.js';
import { type Arrival, arrivalOf } from '../../../../src/streams/door/arrival.js';
import { type FakeSocket, listener } from '../../fixtures.js';

/** An arrival from `address` (its socket named after it) at a listener with `extra` settings. */
export function from(address: string, extra: Partial<ListenerConfig> = {}, port = 40000): Arrival<FakeSocket> {
  return arrivalOf<FakeSocket>({ id: `${address}:${port}` }, listener(extra), { address, port });
}

/** What a marble diagram compares: the refusal, else the pool it goes to. */
export const outcome = (arrival: Arrival<FakeSocket>): string => arrival.refused ?? arrival.pool;

/** An arrival of the fake sockets, for typing marble sources. */
export type TestArrival = Arrival<FakeSocket>;
