/** What the benchmark's steps share: loopback ports, the test card, SIPp's counts, the store's, and small helpers. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SippRun } from '../tools/sipp/sipp-process.js';
import type { RunningSystem } from '../tools/system-process.js';
import { TEST_CARDS } from '../tools/test-cards.js';

/** The system's RTP ports during the benchmark. */
export const RTP_MIN = 20000;
export const RTP_MAX = 29998;
/** Calls started per second while a step ramps up. */
export const RAMP_RATE = 40;
/** A public test card that approves. */
export const VISA = TEST_CARDS.visa;

/** SIPp's final screen: cumulative successful and failed calls. */
export function sippCounts(run: SippRun): { succeeded: number; failed: number } {
  const cumulative = (label: string): number => {
    const rows = [...run.stdout.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g'))];
    return Number(rows.at(-1)?.[1] ?? 0);
  };
  return { succeeded: cumulative('Successful call'), failed: cumulative('Failed call') };
}

/** SIPp's own count of the calls its scenario failed (`sipp:failed`), when there are any. */
export function sippFailed(run: SippRun): Record<string, number> {
  const { failed } = sippCounts(run);
  return failed > 0 ? { 'sipp:failed': failed } : {};
}

export function countApproved(dataDir: string, since: Date): number {
  return withStore(dataDir, (db) => (db.prepare("SELECT count(*) AS n FROM payment_sessions WHERE status = 'approved' AND created_at >= ?").get(since.toISOString()) as { n: number }).n);
}

/**
 * Why the calls since `since` that were not approved ended, counted: each
 * session's status (`status:failed`), and each of their capture attempts that
 * was not `accepted` (`card-number:invalid-card-number`). With `callers` (a
 * step whose every call pays), also the calls that never made a session
 * (`no-session`: the call failed, or its reference was never taken, before the
 * session was written). Reads no card data: the store holds none.
 */
export function failureBreakdown(dataDir: string, since: Date, callers?: number): Record<string, number> {
  return withStore(dataDir, (db) => {
    const counts: Record<string, number> = {};
    if (callers !== undefined) {
      const made = (db.prepare('SELECT count(*) AS n FROM payment_sessions WHERE created_at >= ?').get(since.toISOString()) as { n: number }).n;
      if (made < callers) counts['no-session'] = callers - made;
    }
    const statuses = db.prepare("SELECT status, count(*) AS n FROM payment_sessions WHERE status <> 'approved' AND created_at >= ? GROUP BY status").all(since.toISOString()) as { status: string; n: number }[];
    for (const row of statuses) counts[`status:${row.status}`] = row.n;
    const attempts = db
      .prepare(
        "SELECT a.field, a.outcome, count(*) AS n FROM capture_attempts a JOIN payment_sessions s ON s.id = a.session_id WHERE s.status <> 'approved' AND s.created_at >= ? AND a.outcome <> 'accepted' GROUP BY a.field, a.outcome",
      )
      .all(since.toISOString()) as { field: string; outcome: string; n: number }[];
    for (const row of attempts) counts[`${row.field}:${row.outcome}`] = row.n;
    return counts;
  });
}

export function countApprovedAmong(dataDir: string, ids: readonly string[]): number {
  return withStore(dataDir, (db) => {
    const get = db.prepare("SELECT count(*) AS n FROM payment_sessions WHERE id = ? AND status = 'approved'");
    return ids.reduce((n, id) => n + (get.get(id) as { n: number }).n, 0);
  });
}

function withStore<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'payments.db'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export async function api<T>(sys: RunningSystem, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sys.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function readSysctl(name: string): string | undefined {
  try {
    return execFileSync('sysctl', ['-n', name], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function setSysctl(name: string, value: string): void {
  try {
    execFileSync('sysctl', ['-w', `${name}=${value}`], { stdio: 'ignore' });
  } catch {
    log(`could not set ${name} (not root?): SIPp may drop RTP at high steps`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
