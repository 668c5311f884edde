import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QaContext, QaSkip, type QaTarget } from './qa-context.js';
import type { QaScenario } from './qa-scenarios.js';
import { SippPortSequence } from '../../tools/sipp/sipp-process.js';

export interface QaResult {
  readonly scenario: string;
  readonly description: string;
  readonly result: 'pass' | 'fail' | 'skip';
  readonly durationMs: number;
  readonly reason: string;
}

export interface QaRunOptions {
  readonly target: QaTarget;
  readonly scenarios: readonly QaScenario[];
  /** Scenarios run side by side; more than one needs a reference per scenario (`target.references`). */
  readonly parallel?: number;
  /** First SIPp port of this machine's callers (each takes 6 from there). Default 15060. */
  readonly firstCallerPort?: number;
  /** Told of each result as it comes. */
  readonly onResult?: (result: QaResult) => void;
}

/**
 * Runs QA scenarios against a deployment: each gets an order reference of
 * its own (handed out in turn from `target.references`) and a scratch folder
 * for its injection files and audio, removed afterwards.
 */
export async function runQa(options: QaRunOptions): Promise<QaResult[]> {
  const { target, scenarios } = options;
  const parallel = Math.max(1, Math.min(options.parallel ?? 1, scenarios.length));
  if (parallel > 1 && target.references.length < scenarios.length) {
    throw new RangeError(`running ${parallel} at a time needs a reference per scenario: ${scenarios.length} scenarios, ${target.references.length} references`);
  }
  const ports = new SippPortSequence(options.firstCallerPort ?? 15060);
  const results: QaResult[] = new Array(scenarios.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < scenarios.length; i = next++) {
      const scenario = scenarios[i] as QaScenario;
      const reference = target.references[i % target.references.length] as string;
      results[i] = await runOne(scenario, target, ports, reference);
      options.onResult?.(results[i] as QaResult);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

async function runOne(scenario: QaScenario, target: QaTarget, ports: SippPortSequence, reference: string): Promise<QaResult> {
  const workDir = mkdtempSync(join(tmpdir(), `qa-${scenario.name}-`));
  const started = Date.now();
  const done = (result: QaResult['result'], reason: string): QaResult => ({
    scenario: scenario.name,
    description: scenario.description,
    result,
    durationMs: Date.now() - started,
    reason,
  });
  try {
    await scenario.run(new QaContext(target, workDir, ports, reference));
    return done('pass', '');
  } catch (err) {
    if (err instanceof QaSkip) return done('skip', err.message);
    return done('fail', err instanceof Error ? err.message : String(err));
  } finally {
    // Injection files hold the test card numbers the caller keyed: they go.
    rmSync(workDir, { recursive: true, force: true });
  }
}
