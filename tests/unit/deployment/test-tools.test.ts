import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';

/**
 * The README's test command works on a fresh Debian machine: one script
 * installs the Debian tools the tests drive, .ci/run calls exactly it, its
 * package list is the one the tests need (each program they start comes
 * from a listed package, and nothing else is listed), and the README links
 * only to files inside the repository.
 */

const ROOT = projectRoot();
const SCRIPT = 'scripts/install-test-tools.sh';
const script = readFileSync(join(ROOT, SCRIPT), 'utf8');
const ciRun = readFileSync(join(ROOT, '.ci/run'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The programs the tests, the tools and the benchmark start, and the Debian package of each. */
const PROGRAM_PACKAGES: Readonly<Record<string, string>> = {
  sipp: 'sip-tester',
  tcpdump: 'tcpdump',
  'espeak-ng': 'espeak-ng',
  sox: 'sox',
  xmllint: 'libxml2-utils',
  chromium: 'chromium',
  svmap: 'sipvicious',
  svwar: 'sipvicious',
  ip: 'iproute2',
  promtool: 'prometheus',
  openssl: 'openssl',
  sysctl: 'procps',
  rtpengine: 'rtpengine-daemon',
  kamailio: 'kamailio',
  kamcmd: 'kamailio',
  baresip: 'baresip-core',
  // Started by its path (tools/postgres-server.ts): Debian keeps the server's programs off PATH.
  '/usr/lib/postgresql/15/bin/initdb': 'postgresql-15',
};
/** Started too, but there before any test tool: the shell, Node's own npm, Debian's dpkg, util-linux's chrt (Essential: on every Debian). */
const ALREADY_THERE = new Set(['sh', 'npm', 'node', 'dpkg', 'chrt']);

function packagesOfScript(): string[] {
  const list = /^PACKAGES=\(\n([\s\S]*?)\n\)$/m.exec(script);
  if (!list) throw new Error(`${SCRIPT} has no PACKAGES=( … ) list`);
  return list[1]!.split('\n').map((l) => l.trim()).filter(Boolean);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'fixtures' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Programs started by name in tests/, tools/, scripts/ and bench/: spawn/execFile calls, a namespace's exec, Chromium's path. */
function programsStarted(): Set<string> {
  const found = new Set<string>();
  for (const file of ['tests', 'tools', 'scripts', 'bench'].flatMap(sourceFiles)) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|exec)\(\s*'([a-z][\w.-]*)'/g)) found.add(m[1]!);
    for (const m of text.matchAll(/executablePath:\s*'\/usr\/bin\/([\w.-]+)'/g)) found.add(m[1]!);
  }
  return found;
}

describe('scripts/install-test-tools.sh', () => {
  it('is what .ci/run calls, and .ci/run installs no package of its own', () => {
    expect(ciRun).toMatch(/^scripts\/install-test-tools\.sh$/m);
    expect(ciRun).not.toMatch(/apt-get|apt install|dpkg/);
    expect(statSync(join(ROOT, SCRIPT)).mode & 0o111).not.toBe(0);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toMatch(/^\$SUDO apt-get update$/m);
    expect(script).toMatch(/apt-get install -y --no-install-recommends "\$\{PACKAGES\[@\]\}"$/m);
  });

  it('installs a package for every program the tests start, and nothing else', () => {
    const started = programsStarted();
    // A guard against a scan that finds nothing: the best-known ones are there.
    for (const program of ['sipp', 'tcpdump', 'xmllint', 'promtool', 'svmap', 'chromium']) expect(started).toContain(program);
    expect([...started].filter((p) => !(p in PROGRAM_PACKAGES) && !ALREADY_THERE.has(p))).toEqual([]);
    expect(packagesOfScript().sort()).toEqual([...new Set(Object.values(PROGRAM_PACKAGES))].sort());
  });

  it('names the package that really provides each program here (dpkg -S)', () => {
    const paths = new Map<string, string[]>();
    for (const program of Object.keys(PROGRAM_PACKAGES)) {
      const path = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
      // Merged /usr: dpkg may know /bin/ip as installed, or the resolved path of a link.
      paths.set(program, [...new Set([path, realpathSync(path), path.replace(/^\/usr/, '')])]);
    }
    // One dpkg -S for all (it reads every package's file list); unknown paths only go to stderr.
    const out = spawnSync('dpkg', ['-S', ...[...paths.values()].flat()], { encoding: 'utf8' }).stdout;
    const owner = new Map(out.split('\n').filter(Boolean).map((line) => [line.slice(line.indexOf(': ') + 2), line.slice(0, line.indexOf(': '))]));
    for (const [program, pkg] of Object.entries(PROGRAM_PACKAGES)) {
      expect(paths.get(program)!.map((p) => owner.get(p)), program).toContain(pkg);
    }
  });
});

describe('README.md', () => {
  it('tells to install the test tools as root, and why, before npm test', () => {
    const install = readme.indexOf('scripts/install-test-tools.sh');
    expect(install).toBeGreaterThan(0);
    expect(readme.indexOf('npm ci && npm test')).toBeGreaterThan(install);
    expect(readme).toMatch(/tests run as root because/);
    for (const why of ['tcpdump', 'raw socket', 'ip netns']) expect(readme).toContain(why);
  });

  it('links only to files inside the repository, and to headings it has', () => {
    const anchors = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')),
    );
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g), ...readme.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    const broken = links.filter((link) => {
      if (link.startsWith('#')) return !anchors.has(link.slice(1));
      if (/^[a-z]+:/i.test(link) || link.startsWith('/')) return true;
      const target = resolve(ROOT, link.split('#')[0]!);
      return relative(ROOT, target).startsWith('..') || !existsSync(target);
    });
    expect(broken).toEqual([]);
  });
});
