// A custom rxlb routing policy, composed from the library: clients from one network
// get their own backends, everyone else is balanced by least connections.
//
// Plain ESM JavaScript, so `rxlb` can load it as it is: in a pool, write
//   policy = "./cidr-policy.js"        (relative to the config file)
// Types come from JSDoc (and cidr-policy.d.ts beside it, for TypeScript importers).
import { BlockList, isIPv6 } from 'node:net';
import { connect, defer, filter, map, merge } from 'rxjs';
import { leastConnections } from 'rxlb';

/** @typedef {import('rxlb').Candidate} Candidate */
/** @typedef {import('rxlb').Policy} Policy */
/** @typedef {import('rxlb').RouteRequest} RouteRequest */
/** @typedef {import('rxlb').Routed} Routed */

/**
 * @typedef {object} CidrSplitOptions
 * @property {string | readonly string[]} cidr  The network(s) whose clients are pinned: `"10.20.0.0/16"`, `"2001:db8::/32"`.
 * @property {(backend: Candidate) => boolean} [pinned]  Which backends those clients use; default those with an even configured index (the 1st, 3rd, ...).
 * @property {Policy} [inside]  How to choose among the pinned backends; default `leastConnections()`.
 * @property {Policy} [outside]  How to choose for every other client, among all candidates; default `leastConnections()`.
 */

/** Backends at configured index 0, 2, 4, ... */
export const evenIndex = (/** @type {Candidate} */ backend) => backend.index % 2 === 0;

/**
 * Routes clients from `cidr` to the `pinned` backends, and every other client by the
 * `outside` policy over all candidates.
 *
 * ```
 * req:    --i--o--i--o--|   (i from inside the network, o from outside; backends [A0, B1, C2])
 * picked: --A--A--C--B--|   (i: least connections among A and C; o: among A, B and C)
 * ```
 *
 * 1. for each request, decide by the client IP whether it is inside `cidr`;
 * 2. inside, and some pinned backend is a candidate: narrow the request to the pinned
 *    candidates (and the pinned part of `up`) and hand it to `inside`;
 * 3. anything else (outside, or no pinned backend can take it now) goes to `outside`
 *    unchanged;
 * 4. each answer goes back out with the request rxlb asked about, in order: both
 *    branches answer synchronously, so `merge` keeps the order.
 *
 * Each branch keeps its own state (its least-connections tie cursor), per subscription.
 *
 * @param {CidrSplitOptions} options
 * @returns {Policy}
 */
export function cidrSplit(options) {
  const networks = new BlockList();
  for (const cidr of typeof options.cidr === 'string' ? [options.cidr] : options.cidr) {
    const [address = '', prefix = ''] = cidr.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    networks.addSubnet(address, prefix === '' ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family);
  }
  const inRange = (/** @type {string} */ ip) => networks.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
  const pinned = options.pinned ?? evenIndex;
  const inside = options.inside ?? leastConnections();
  const outside = options.outside ?? leastConnections();

  return (requests$) =>
    defer(() => {
      /** @type {WeakMap<RouteRequest, RouteRequest>} narrowed request -> the one rxlb sent */
      const original = new WeakMap();
      /** @param {RouteRequest} request */
      const narrow = (request) => {
        if (!inRange(request.client.address)) return request;
        const candidates = request.candidates.filter(pinned);
        if (candidates.length === 0) return request;
        const narrowed = { ...request, candidates, up: request.up.filter(pinned) };
        original.set(narrowed, request);
        return narrowed;
      };
      return requests$.pipe(
        map(narrow),
        connect((shared$) =>
          merge(
            shared$.pipe(
              filter((r) => original.has(r)),
              inside,
              map(({ request, backend }) => /** @type {Routed} */ ({ request: original.get(request) ?? request, backend })),
            ),
            shared$.pipe(
              filter((r) => !original.has(r)),
              outside,
            ),
          ),
        ),
      );
    });
}

/**
 * The policy rxlb loads from this file. `127.0.0.2/31` lets the demo and its test run
 * on one machine (a loopback client bound to 127.0.0.2 is inside, 127.0.0.1 is not);
 * put your own network here, e.g. `cidrSplit({ cidr: '10.20.0.0/16' })`.
 */
export default cidrSplit({ cidr: '127.0.0.2/31' });
