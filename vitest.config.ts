import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Empties test-artifacts/data, where end-to-end tests keep their data for the PAN audit.
    globalSetup: ['tests/support/global-setup.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // Hooks start real engines (FreeSWITCH waits up to 60 s for its modules beside a busy suite).
    hookTimeout: 90_000,
    // Integration tests bind loopback ports and start processes; keep them apart.
    fileParallelism: true,
    pool: 'forks',
  },
});
