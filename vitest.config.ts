import { defineConfig } from 'vitest/config';

/**
 * Files whose checks ride on the machine's timing under load: the benchmark
 * smoke run, the 40-call cluster test, the media load tests (SIPp's 50 calls;
 * 100 RTP sessions on one clock, whose DTMF detection misses tones when a
 * busy machine makes the clock skip frames), and every test
 * that starts the real FreeSWITCH (its in-band detector reads frames by the
 * wall clock; its modules take long to load beside a busy suite). They run
 * one at a time, after the rest.
 */
const ALONE = [
  'tests/integration/bench/**/*.test.ts',
  'tests/integration/cluster/kamailio-cluster.test.ts',
  'tests/integration/media-server/port-digits-recording-load.test.ts',
  'tests/integration/rtp/rtp-session-load.test.ts',
  // Streams tones and replays captures from this process in real time: a starved sender splits a tone into two presses.
  'tests/integration/rtp/rtp-session-dtmf.test.ts',
  'tests/integration/**/*freeswitch*.test.ts',
];

export default defineConfig({
  test: {
    // Empties test-artifacts/data, where end-to-end tests keep their data for the PAN audit.
    globalSetup: ['tests/support/global-setup.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // Hooks start real engines (FreeSWITCH waits up to 60 s for its modules beside a busy suite).
    hookTimeout: 90_000,
    // Integration tests bind loopback ports and start processes; each file is its own process.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['tests/**/*.test.ts'],
          exclude: ALONE,
          // Most end-to-end files spend their time waiting on real-time calls, not on a core:
          // three at a time on a 2-core machine (vitest's default there would be one).
          // Their ports are claimed across files (tools/sipp/sipp-process.ts freePort).
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: ALONE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
