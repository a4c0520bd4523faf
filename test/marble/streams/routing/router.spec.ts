import { lastValueFrom, map, merge, partition, take, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../../src/errors.js';
import { leastConnections } from '../../../../src/operators/policies/least-connections.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import type { Policy } from '../../../../src/operators/policies/types.js';
import { createRouter } from '../../../../src/streams/routing/router.js';
import { candidate, request } from '../../helpers.js';

const A = candidate('a', 1, 0, 0);
const B = candidate('b', 1, 0, 1);
const pick = async (route: ReturnType<typeof createRouter>['route'], client = '10.0.0.1') =>
  (await lastValueFrom(route(request([A, B], client))))?.address;

describe('createRouter', () => {
  it('keeps one subscription to the policy, so its turns last across requests', async () => {
    const { route, stop } = createRouter(roundRobin());
    expect([await pick(route), await pick(route), await pick(route)]).toEqual(['a', 'b', 'a']);
    stop();
  });

  it('lets a policy subscribe to its requests more than once (partition and merge)', async () => {
    const officeFirst: Policy = (requests) => {
      const [office, others] = partition(requests, (r) => r.client.address.startsWith('10.1.'));
      return merge(office.pipe(map((r) => ({ request: r, backend: r.candidates[0] }))), others.pipe(leastConnections()));
    };
    const { route, stop } = createRouter(officeFirst);
    expect([await pick(route, '10.1.0.7'), await pick(route, '192.0.2.1'), await pick(route, '10.1.0.8'), await pick(route, '192.0.2.2')]).toEqual(['a', 'a', 'a', 'b']);
    stop();
  });

  it('fails the waiting request when the policy throws, then serves the next one afresh', async () => {
    let calls = 0;
    const flaky: Policy = (requests) =>
      requests.pipe(
        map((r) => {
          calls += 1;
          if (calls === 1) throw new Error('boom');
          return { request: r, backend: r.candidates[1] };
        }),
      );
    const { route, stop } = createRouter(flaky);
    await expect(pick(route)).rejects.toBeInstanceOf(PolicyError);
    expect(await pick(route)).toBe('b');
    stop();
  });

  it('rejects an answer that is not one of the candidates', async () => {
    const rogue: Policy = (requests) => requests.pipe(map((r) => ({ request: r, backend: candidate('z') })));
    const { route, stop } = createRouter(rogue);
    await expect(pick(route)).rejects.toThrow('which was not a candidate');
    stop();
  });

  it('fails what waits when the policy completes, and subscribes it afresh for the next request', async () => {
    let subscriptions = 0;
    const silent: Policy = (requests) => {
      subscriptions += 1;
      return requests.pipe(take(0), map((r) => ({ request: r, backend: undefined })));
    };
    const { route, stop } = createRouter(silent);
    await expect(pick(route)).rejects.toThrow('stopped answering');
    await expect(pick(route)).rejects.toThrow('stopped answering');
    expect(subscriptions).toBe(2);
    stop();
  });

  it('does not loop on a policy that fails as soon as it is subscribed: each request tries once', async () => {
    let subscriptions = 0;
    const broken: Policy = () => {
      subscriptions += 1;
      return throwError(() => new Error('broken at subscription'));
    };
    const { route, stop } = createRouter(broken);
    await expect(pick(route)).rejects.toBeInstanceOf(PolicyError);
    await expect(pick(route)).rejects.toBeInstanceOf(PolicyError);
    expect(subscriptions).toBe(2);
    stop();
    await expect(pick(route)).rejects.toThrow('not running');
  });
});
