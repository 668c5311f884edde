import { newTestDataRun } from './test-data-dir.js';

/** Once per `vitest run`, before the test workers start (they inherit the environment). */
export default function setup(): void {
  process.env.TEST_DATA_RUN_DIR = newTestDataRun(60 * 60 * 1000);
}
