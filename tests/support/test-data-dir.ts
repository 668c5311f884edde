import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../app/project-root.js';

/**
 * Where the systems under test keep their DATA_DIR: under test-artifacts/data,
 * kept after the run so CI can audit all of it for card data (`npm run
 * audit:pan -- test-artifacts/data`, see .ci/run). Each `vitest run` has its
 * own folder (tests/support/global-setup.ts), so runs side by side never
 * delete each other's data.
 */
export const TEST_DATA_ROOT = join(projectRoot(), 'test-artifacts', 'data');

export function testDataDir(name: string): string {
  const run = process.env.TEST_DATA_RUN_DIR ?? join(TEST_DATA_ROOT, `run-${process.pid}`);
  mkdirSync(run, { recursive: true });
  return mkdtempSync(join(run, `${name}-`));
}

/** A fresh folder for this run; runs older than `keepMs` are removed. */
export function newTestDataRun(keepMs: number): string {
  mkdirSync(TEST_DATA_ROOT, { recursive: true });
  for (const name of readdirSync(TEST_DATA_ROOT)) {
    const path = join(TEST_DATA_ROOT, name);
    if (Date.now() - statSync(path).mtimeMs > keepMs) rmSync(path, { recursive: true, force: true });
  }
  return mkdtempSync(join(TEST_DATA_ROOT, `run-${new Date().toISOString().replace(/[:.]/g, '-')}-`));
}
