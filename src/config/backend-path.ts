import type { KeyPath } from './key-path.js';
import type { Layout } from './types.js';

/**
 * Where the address of a pool's backend number `index` (file order) is written, in
 * each layout: `pool.web.backend[1].address`, `frontend.backend[1].forward_to`,
 * `targets[1].address`, or `backend[1]` for quick mode's command-line arguments.
 */
export function backendAddressPath(layout: Layout, pool: string, index: number): KeyPath {
  switch (layout) {
    case 'rxlb':
      return ['pool', pool, 'backend', index, 'address'];
    case 'mini-balancer':
      return ['frontend', 'backend', index, 'forward_to'];
    case 'targets':
      return ['targets', index, 'address'];
    case 'quick':
      return ['backend', index];
  }
}
