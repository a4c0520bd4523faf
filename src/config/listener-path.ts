import type { KeyPath } from './key-path.js';
import type { Layout } from './types.js';

/**
 * Where the bind address of listener number `index` (file order) is written, in each
 * layout: `listener[1].bind`, `frontend.bind_on`, or `--listen` for the targets layout
 * and quick mode, whose listener listens where the command line says.
 */
export function listenerBindPath(layout: Layout, index: number): KeyPath {
  switch (layout) {
    case 'rxlb':
      return ['listener', index, 'bind'];
    case 'mini-balancer':
      return ['frontend', 'bind_on'];
    case 'targets':
    case 'quick':
      return ['--listen'];
  }
}
