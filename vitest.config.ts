import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts', 'examples/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests bind real sockets; the machine has two cores
    maxWorkers: 2,
  },
});
