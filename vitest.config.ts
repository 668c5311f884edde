import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Empties test-artifacts/data, where end-to-end tests keep their data for the PAN audit.
    globalSetup: ['tests/support/global-setup.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests bind loopback ports and start processes; keep them apart.
    fileParallelism: true,
    pool: 'forks',
  },
});
