/**
 * A network namespace joined to this one by a veth pair, for tests that need
 * traffic from an address the system under test does not allow: the host end
 * gets `hostAddress`, the namespace end `namespaceAddress`, on a /30 of their
 * own. Needs root (or CAP_NET_ADMIN) and iproute2; CI runs as root.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface NamespacePair {
  readonly name: string;
  /** The veth end left in this namespace (capture on it). */
  readonly hostInterface: string;
  readonly hostAddress: string;
  readonly namespaceAddress: string;
  /** Runs a command inside the namespace; resolves with its exit code and output (never rejects on a non-zero exit). */
  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Deletes the namespace (which takes the veth pair with it). Safe to call twice. */
  remove(): void;
}

/** Namespaces cannot be made here: not root, no iproute2, or a sandbox that forbids them. */
export class NamespaceUnavailableError extends Error {
  override readonly name = 'NamespaceUnavailableError';
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates the namespace `name` (an old one of that name is removed first)
 * and a veth pair on 10.231.<subnet>.0/30: .1 on the host side, .2 inside.
 */
export function createNamespacePair(name: string, subnet: number): NamespacePair {
  if (!/^[a-z0-9-]{1,11}$/.test(name)) throw new RangeError('a short lower-case namespace name (veth names are at most 15 characters)');
  const hostInterface = `${name}-h`;
  const inner = `${name}-n`;
  const hostAddress = `10.231.${subnet}.1`;
  const namespaceAddress = `10.231.${subnet}.2`;
  const remove = (): void => {
    try {
      ip('netns', 'del', name);
    } catch {
      // Not there.
    }
    try {
      ip('link', 'del', hostInterface);
    } catch {
      // Went with the namespace.
    }
  };
  remove();
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostInterface);
    ip('link', 'set', hostInterface, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${namespaceAddress}/30`, 'dev', inner);
    ip('netns', 'exec', name, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    remove();
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new NamespaceUnavailableError(
      `cannot create a network namespace and veth pair (needs root or CAP_NET_ADMIN and iproute2): ${detail}`,
    );
  }
  return {
    name,
    hostInterface,
    hostAddress,
    namespaceAddress,
    exec(command, args, timeoutMs = 60_000) {
      return new Promise((resolve) => {
        execFile('ip', ['netns', 'exec', name, command, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    remove,
  };
}
