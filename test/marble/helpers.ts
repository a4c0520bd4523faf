import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { Candidate, RouteRequest, Routed } from '../../src/operators/policies/types.js';

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

export function candidate(address: string, weight = 1, active = 0, index = 0): Candidate {
  return { address, weight, active, index };
}

export function request(candidates: readonly Candidate[], client = '10.0.0.1', port = 40000, up: readonly Candidate[] = candidates): RouteRequest {
  return { pool: 'web', client: { address: client, port }, candidates, up };
}

/** The picked backend's address, or `-` for a refusal: what marble diagrams compare. */
export const picked = (routed: Routed): string => routed.backend?.address ?? '-';
