import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { SIPP_SCENARIOS } from '../../../scripts/qa/qa-context.js';
import { importClosure, importsOf } from '../../support/source-imports.js';

/**
 * The Dockerfile's `qa` stage (the compose `sipp` service: `npm run qa` with
 * SIPp) must hold every file `scripts/qa.ts` reaches through its imports,
 * the SIPp scenarios it runs and the packages it loads. Docker does not run
 * on these machines, so the stage's COPY lines are read instead.
 */

const ROOT = projectRoot();
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const ENTRY = 'scripts/qa.ts';

interface Stage {
  readonly base: string;
  readonly copied: readonly string[];
}

/** Each stage's base image or stage, and the build-context paths its own COPY lines bring in (not COPY --from). */
function stages(dockerfile: string): Map<string, Stage> {
  const found = new Map<string, { base: string; copied: string[] }>();
  let current: { base: string; copied: string[] } | undefined;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { base: from[1]!, copied: [] };
      found.set(from[2] ?? from[1]!, current);
      continue;
    }
    const copy = /^COPY\s+(.*)$/i.exec(line);
    if (!copy || !current) continue;
    const words = copy[1]!.trim().split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    current.copied.push(...words.filter((w) => !w.startsWith('--')).slice(0, -1).map((w) => w.replace(/^\.\//, '').replace(/\/$/, '')));
  }
  return found;
}

/** What a stage holds from the build context: its own COPY lines and those of the stages it is built FROM. */
function copiedInto(dockerfile: string, name: string): string[] {
  const all = stages(dockerfile);
  const out: string[] = [];
  for (let stage = all.get(name); stage; stage = all.get(stage.base)) out.push(...stage.copied);
  return out;
}

/** The needed paths no COPY of the stage brings in (a COPY of a folder brings everything under it). */
function uncopied(dockerfile: string, stage: string, needed: readonly string[]): string[] {
  const copied = copiedInto(dockerfile, stage);
  return needed.filter((path) => !copied.some((c) => path === c || path.startsWith(`${c}/`)));
}

const sources = importClosure(ENTRY);
const needed = [...sources, SIPP_SCENARIOS.slice(ROOT.length + 1), 'package.json', 'package-lock.json'];

describe('Dockerfile qa stage', () => {
  it('walks the whole import graph of scripts/qa.ts', () => {
    // A guard against a walk that silently stops: the runner, its scenarios and the shared tools are reached.
    expect(sources).toEqual(expect.arrayContaining(['scripts/qa/qa-runner.ts', 'scripts/qa/qa-scenarios.ts', 'tools/test-cards.ts', 'tools/sipp/sipp-process.ts', 'app/project-root.ts']));
  });

  it('copies every file scripts/qa.ts imports, the SIPp scenarios and the package manifests', () => {
    expect(uncopied(DOCKERFILE, 'qa', needed)).toEqual([]);
  });

  it('installs every package those files import (npm ci in the build stage, dev dependencies kept)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]);
    const packages = new Set(
      sources.flatMap(importsOf).flatMap((imp) => (imp.specifier.startsWith('.') || imp.specifier.startsWith('node:') ? [] : [imp.specifier.split('/').slice(0, imp.specifier.startsWith('@') ? 2 : 1).join('/')])),
    );
    expect([...packages].filter((p) => !declared.has(p))).toEqual([]);
    expect(DOCKERFILE).toMatch(/^FROM build AS qa$/m);
    expect(DOCKERFILE).toMatch(/^RUN npm ci /m);
    expect(copiedInto(DOCKERFILE, 'qa')).toContain('tsconfig.json');
  });

  it('fails when a folder scripts/qa needs is not copied', () => {
    const withoutTools = DOCKERFILE.replace(/^COPY tools tools\n/m, '');
    expect(withoutTools).not.toBe(DOCKERFILE);
    expect(uncopied(withoutTools, 'qa', needed)).toEqual(expect.arrayContaining(['tools/test-cards.ts', 'tools/sipp/sipp-process.ts']));
    const withoutScenarios = DOCKERFILE.replace(/^COPY tests\/sipp tests\/sipp\n/m, '');
    expect(uncopied(withoutScenarios, 'qa', needed)).toEqual(['tests/sipp']);
  });
});
