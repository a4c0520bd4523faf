// Types of cidr-policy.js for TypeScript importers (its JSDoc says the same).
import type { Candidate, Policy } from 'rxlb';

export interface CidrSplitOptions {
  /** The network(s) whose clients are pinned: `"10.20.0.0/16"`, `"2001:db8::/32"`. */
  readonly cidr: string | readonly string[];
  /** Which backends those clients use; default those with an even configured index. */
  readonly pinned?: (backend: Candidate) => boolean;
  /** How to choose among the pinned backends; default `leastConnections()`. */
  readonly inside?: Policy;
  /** How to choose for every other client, among all candidates; default `leastConnections()`. */
  readonly outside?: Policy;
}

/** Backends at configured index 0, 2, 4, ... */
export declare const evenIndex: (backend: Candidate) => boolean;

/** Clients from `cidr` to the `pinned` backends; everyone else by `outside` over all candidates. */
export declare function cidrSplit(options: CidrSplitOptions): Policy;

/** `cidrSplit({ cidr: '127.0.0.2/31' })`: the policy rxlb loads from this file. */
declare const policy: Policy;
export default policy;
