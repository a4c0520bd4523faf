import { defineConfig } from 'vitest/config';

/**
 * One project per test tier (see the README's Tests section). `npm test` runs them all:
 * unit and integration side by side, then faults and interop one file at a time, since
 * they load the machine (thousands of sockets, a soak, real servers) and measure rxlb.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests bind real sockets; the machine has two cores
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/marble/**/*.spec.ts', 'test/unit/**/*.spec.ts', 'test/property/**/*.spec.ts', 'examples/**/*.spec.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.spec.ts'] } },
      { extends: true, test: { name: 'faults', include: ['test/faults/**/*.spec.ts'], fileParallelism: false, testTimeout: 120_000 } },
      { extends: true, test: { name: 'interop', include: ['test/interop/**/*.spec.ts'], fileParallelism: false, testTimeout: 120_000 } },
    ],
  },
});
