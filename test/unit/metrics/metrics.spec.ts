import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { initialState } from '../../../src/streams/state/backend-state.js';

describe('createMetrics', () => {
  it('does not claim rxlb_accept_errors_total counts running out of descriptors, which Linux never reports', async () => {
    const { body } = await createMetrics(() => initialState).scrape();
    const help = body.split('\n').find((line) => line.startsWith('# HELP rxlb_accept_errors_total '));
    expect(help).toBe(
      '# HELP rxlb_accept_errors_total Accepts that failed. Not running out of file descriptors: on Linux, libuv closes such clients before rxlb sees them.',
    );
  });
});
