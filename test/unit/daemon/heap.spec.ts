import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tuneHeap } from '../../../src/daemon/heap.js';

describe('tuneHeap', () => {
  afterEach(() => vi.restoreAllMocks());

  it('turns incremental marking off', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    tuneHeap([]);
    expect(set).toHaveBeenCalledExactlyOnceWith('--no-incremental-marking');
  });

  it('leaves it as the command line says, either way', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    tuneHeap(['--incremental-marking']);
    tuneHeap(['--no-incremental-marking']);
    tuneHeap(['--no_incremental_marking']);
    expect(set).not.toHaveBeenCalled();
  });
});
