import { join } from 'node:path';
import { projectRoot } from '../../app/project-root.js';
import { runSipp, startSipp, type SippPortSequence, type SippRun } from '../../tools/sipp/sipp-process.js';

/** What the QA kit knows of the deployment under test and of the machine it runs on. */
export interface QaTarget {
  /** The IVR's SIP address. */
  readonly host: string;
  readonly port: number;
  /** User part of the direct pay number (PAY_NUMBER). */
  readonly payNumber: string;
  /** This machine's address the IVR can reach (SIPp's -i): for RTP, and the agent phone. */
  readonly localIp: string;
  /** agent-bridge, to check outcomes and create agent-assisted sessions; without it only SIPp's verdict counts. */
  readonly api?: { readonly url: string; readonly key: string };
  /** The port the SIPp agent phone listens on for the IVR's call-back (--agent-port). */
  readonly agentPort?: number;
  /** Orders the deployment knows, handed out one per scenario (demo: 1001, 1002, 1003). */
  readonly references: readonly string[];
  /** The deployment's FIRST_DIGIT_TIMEOUT_MS, for the timeout scenarios. */
  readonly firstDigitTimeoutMs: number;
  /** Calls of the load scenario. */
  readonly loadCalls: number;
}

export interface PaymentView {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly cardBrand: string | null;
  readonly cardLast4: string | null;
  readonly declineReason: string | null;
  readonly createdAt: string;
}

export interface SessionDetail extends PaymentView {
  readonly code: string | null;
  readonly attempts: readonly { field: string; attempt: number; outcome: string }[];
}

/** A scenario's failure, with the reason that goes in the table and the JUnit file. */
export class QaFailure extends Error {
  override readonly name = 'QaFailure';
}

/** Skipped for want of something the deployment or the command line did not give (an API key...). */
export class QaSkip extends Error {
  override readonly name = 'QaSkip';
}

export const SIPP_SCENARIOS = join(projectRoot(), 'tests/sipp');

/** One scenario's view of the target: SIPp processes, the API, a reference of its own. */
export class QaContext {
  readonly target: QaTarget;
  readonly workDir: string;
  readonly startedAt = new Date();
  readonly #ports: SippPortSequence;
  readonly #reference: string;

  constructor(target: QaTarget, workDir: string, ports: SippPortSequence, reference: string) {
    this.target = target;
    this.workDir = workDir;
    this.#ports = ports;
    this.#reference = reference;
  }

  get reference(): string {
    return this.#reference;
  }

  /** Runs a SIPp caller (tests/sipp/<scenario>) against the target; fails the scenario if SIPp does. */
  async call(scenario: string, service: string, extra: readonly string[], options: { calls?: number; timeoutMs?: number } = {}): Promise<SippRun> {
    const calls = options.calls ?? 1;
    const port = await this.#ports.next();
    const run = await runSipp({
      args: [
        `${this.target.host}:${this.target.port}`,
        '-sf', join(SIPP_SCENARIOS, scenario),
        '-s', service,
        '-i', this.target.localIp,
        '-p', String(port),
        '-mp', String(port + 2),
        '-m', String(calls),
        '-l', String(calls),
        '-r', String(Math.min(calls, 20)),
        ...extra,
      ],
      timeoutMs: options.timeoutMs ?? 120_000,
    });
    if (run.exitCode !== 0) {
      const why = (run.errors.trim().split('\n').at(-1) ?? '').replace(/^.*?: /, '') || `SIPp exited ${run.exitCode}`;
      throw new QaFailure(`SIPp ${scenario}: ${why}`);
    }
    return run;
  }

  /** A SIPp agent phone on --agent-port (tests/sipp/agent-phone.xml): resolves when its call ended. */
  agentPhone(voiceFile: string): { uri: string; done: Promise<SippRun>; stop(): void } {
    const port = this.target.agentPort;
    if (!port) throw new QaSkip('needs --agent-port (where the IVR calls the agent phone back)');
    const { child, done } = startSipp([
      '-sf', join(SIPP_SCENARIOS, 'agent-phone.xml'),
      '-i', this.target.localIp,
      '-p', String(port),
      '-mp', String(port + 2),
      '-m', '1',
      '-key', 'voice', `${voiceFile},-1,0`,
    ]);
    return { uri: `sip:agent@${this.target.localIp}:${port}`, done, stop: () => child.kill('SIGKILL') };
  }

  /** GET or POST on agent-bridge with the API key. */
  async api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const api = this.target.api;
    if (!api) throw new QaSkip('needs --api and --api-key to check the outcome');
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new QaFailure(`${method} ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  /** The payments of this scenario's reference made since it started, newest first. */
  async paymentsSinceStart(reference = this.#reference): Promise<PaymentView[]> {
    const { payments } = await this.api<{ payments: PaymentView[] }>('GET', `/api/v1/payments?reference=${encodeURIComponent(reference)}`);
    return payments.filter((p) => Date.parse(p.createdAt) >= this.startedAt.getTime() - 1000);
  }

  /** The one payment this scenario made, once its status is final (or `until` says so); with its attempts. */
  async payment(until: (p: PaymentView) => boolean = (p) => !['pending', 'capturing', 'authorising'].includes(p.status), timeoutMs = 15_000): Promise<SessionDetail> {
    if (!this.target.api) throw new QaSkip('needs --api and --api-key to check the outcome');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.paymentsSinceStart();
      if (found.length > 1) throw new QaFailure(`${found.length} payments for reference ${this.#reference}; expected one`);
      const payment = found[0];
      if (payment && until(payment)) return this.api<SessionDetail>('GET', `/api/v1/sessions/${payment.id}`);
      if (Date.now() > deadline) {
        throw new QaFailure(payment ? `payment ${payment.id} still ${payment.status}` : `no payment for reference ${this.#reference}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Compares what happened with what should have, as a QaFailure naming the first difference. */
export function expectFields<T extends object>(what: string, actual: T, expected: Partial<T>): void {
  for (const [key, value] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[key];
    if (JSON.stringify(got) !== JSON.stringify(value)) {
      throw new QaFailure(`${what}: ${key} is ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
    }
  }
}
