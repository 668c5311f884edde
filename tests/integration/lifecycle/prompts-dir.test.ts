import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';
import { startSystem } from '../../../tools/system-process.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';

/**
 * PROMPTS_DIR, the operator's own recordings, checked at start-up by the
 * whole process (`app/main.ts`, as `npm start` runs it): one recording
 * missing stops it with one line naming the file; a complete folder starts.
 */

const work = mkdtempSync(join(tmpdir(), 'prompts-dir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promptsDir(name: string): string {
  const dir = join(work, name);
  cpSync(SHIPPED_FILES.promptAudioDir, dir, { recursive: true });
  return dir;
}

/** Runs `app/main.ts` with `env` until it exits; its exit code and stderr. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'app/main.ts')], {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after 20 s: ${stderr}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('PROMPTS_DIR at start-up', () => {
  it('stops with one line naming the missing recording', { timeout: 30_000 }, async () => {
    const dir = promptsDir('missing-one');
    unlinkSync(join(dir, 'en-GB/agent-capture-intro.wav'));
    const run = await runMain({ DATA_DIR: join(work, 'data-missing'), HTTP_PORT: '0', SIP_PORT: String(await freePort(34000)), PROMPTS_DIR: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`fatal: config: PROMPTS_DIR: prompt recording missing: ${join(dir, 'en-GB/agent-capture-intro.wav')}\n`);
  });

  it('stops with one line when the folder does not exist', { timeout: 30_000 }, async () => {
    const run = await runMain({ DATA_DIR: join(work, 'data-none'), HTTP_PORT: '0', SIP_PORT: String(await freePort(34000)), PROMPTS_DIR: join(work, 'nowhere') });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`fatal: config: PROMPTS_DIR: ${join(work, 'nowhere')} is not a folder\n`);
  });

  it('starts on a complete folder', { timeout: 30_000 }, async () => {
    const system = await startSystem({ DATA_DIR: join(work, 'data-complete'), HTTP_PORT: '0', SIP_PORT: String(await freePort(34000)), PROMPTS_DIR: promptsDir('complete') });
    try {
      const ready = await fetch(`${system.httpUrl}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      expect(await system.stop()).toBe(0);
    }
  });
});
