import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CLI and integration tests spawn real processes and open real data channels;
    // two cores are shared by everything, so keep the default timeouts generous.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Test files run in parallel processes; each opens its own sockets on port 0.
    pool: 'forks',
    maxWorkers: 2,
  },
});
