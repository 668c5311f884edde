import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { importAt, importsOf, type SourceImport as Import } from '../../support/source-imports.js';

/**
 * The folder order, written once. A folder may import from the ranks below
 * it, never from its own rank's other folders or from above: the payment
 * vocabulary knows nothing, the adapters know only the vocabulary, the PSP
 * layer drives the store and the vault, the IVR drives all of those, the
 * agent bridge shows what the IVR does, and only the composition root sees
 * everything. Tools, scripts and the benchmark sit on top; tests may import
 * anything, and nothing imports tests.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['domain'],
  ['vault', 'store', 'media-server'],
  ['psp', 'sms'],
  ['ivr'],
  ['agent-bridge'],
  ['app'],
  ['tools'],
  ['scripts', 'bench'],
];

/**
 * The payment flow is a pure state machine: it may use the payment vocabulary
 * and the order-lookup port's types, and nothing that touches the vault,
 * media, store, sockets or the file system (node:util only for its
 * `inspect.custom`, which keeps a flow's state out of a dumped object).
 */
const PURE_FLOW = {
  folder: 'ivr/flow',
  mayImport: ['domain', 'ivr/flow', 'ivr/orders/order-lookup-port.ts'],
  mayUsePackages: ['node:util'],
} as const;

const ROOT = projectRoot();
const RANK = new Map(LAYERS.flatMap((folders, rank) => folders.map((folder) => [folder, rank] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'public' ? [] : sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function topFolder(path: string): string {
  return path.split('/')[0] as string;
}

/** Why `imp` breaks the order, or undefined when it is allowed. */
function violation(imp: Import): string | undefined {
  if (!imp.specifier.startsWith('.')) {
    const pure = imp.file.startsWith(`${PURE_FLOW.folder}/`) && !(PURE_FLOW.mayUsePackages as readonly string[]).includes(imp.specifier);
    if (pure) return `the pure flow imports the package ${imp.specifier}`;
    return undefined;
  }
  const from = topFolder(imp.file);
  const to = topFolder(imp.target);
  if (to === 'tests') return 'imports tests/';
  if (imp.file.startsWith(`${PURE_FLOW.folder}/`) && !PURE_FLOW.mayImport.some((allowed) => imp.target === allowed || imp.target.startsWith(`${allowed}/`))) {
    return `the pure flow imports ${imp.target}`;
  }
  if (from === to) return undefined;
  const fromRank = RANK.get(from);
  const toRank = RANK.get(to);
  if (fromRank === undefined) return `${from}/ is not in the layer table`;
  if (toRank === undefined) return `imports ${to}/, which is not in the layer table`;
  if (toRank === fromRank) return `imports ${to}/, a folder of the same rank`;
  if (toRank > fromRank) return `imports ${to}/, a layer above ${from}/`;
  return undefined;
}

const NON_TEST_FILES = LAYERS.flat().flatMap((folder) => sourceFiles(folder));
const ALL_IMPORTS = NON_TEST_FILES.flatMap(importsOf);

describe('architecture: imports point down the layers', () => {
  it('reads the imports of every non-test source file', () => {
    // A guard against a reader that silently finds nothing.
    expect(NON_TEST_FILES.length).toBeGreaterThan(150);
    expect(ALL_IMPORTS.filter((imp) => imp.specifier.startsWith('.')).length).toBeGreaterThan(500);
    for (const folder of LAYERS.flat()) expect(NON_TEST_FILES.some((file) => file.startsWith(`${folder}/`)), folder).toBe(true);
  });

  it('has no import that breaks the folder order', () => {
    const broken = ALL_IMPORTS.flatMap((imp) => {
      const why = violation(imp);
      return why ? [`${imp.file}:${imp.line} '${imp.specifier}': ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('finds a wrong-way import, a same-rank import and an import of tests', () => {
    const at = (file: string, specifier: string): Import => importAt(file, 1, specifier);
    expect(violation(at('store/x.ts', '../ivr/flow/payment-flow.js'))).toMatch(/layer above/);
    expect(violation(at('vault/x.ts', '../store/payment-store.js'))).toMatch(/same rank/);
    expect(violation(at('tools/x.ts', '../tests/support/card-scan.js'))).toMatch(/tests/);
    expect(violation(at('ivr/flow/x.ts', '../../vault/card-vault.js'))).toMatch(/pure flow/);
    expect(violation(at('ivr/flow/x.ts', 'node:fs'))).toMatch(/pure flow/);
    expect(violation(at('ivr/call/x.ts', '../../vault/card-vault.js'))).toBeUndefined();
    expect(violation(at('app/x.ts', '../agent-bridge/http-server.js'))).toBeUndefined();
  });

  it('keeps the shipped-files lookup in the composition root', () => {
    const lookups = NON_TEST_FILES.filter((file) => !['app', 'tools', 'scripts', 'bench'].includes(topFolder(file)))
      .filter((file) => importsOf(file).some((imp) => imp.target === 'app/project-root.ts'));
    expect(lookups).toEqual([]);
  });
});
