import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { projectRoot } from '../../../app/project-root.js';
import { startLocalCluster, type ClusterNode, type LocalCluster } from '../../../tools/cluster/local-cluster.js';
import { keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { ALL_TEST_CARDS, TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { startFakeRecorder, type FakeRecorder } from '../../support/fake-recorder.js';
import { writeUlaw } from '../../support/sipp-media.js';
import { testDataDir } from '../../support/test-data-dir.js';

/**
 * Several nodes behind Kamailio (kamailio/kamailio.cfg, Debian's 5.6), all
 * on loopback (tools/cluster/local-cluster.ts): real SIPp callers dial
 * Kamailio's address, the dispatcher picks a node, and the outcome is read
 * back from each node's own payments API. In the first tests each node
 * keeps its own SQLite store, so what is checked is what Kamailio and the
 * nodes' SIP do: the spread, the OPTIONS probes taking a draining or dead
 * node out of the set, and the record-route that keeps a call on its node.
 * The last share one PostgreSQL (STORE=postgres): an agent's command sent to
 * one node reaches the call another holds, and a dead node's calls are
 * taken over by the live one.
 */

const SIPP_DIR = join(projectRoot(), 'tests/sipp');
const VISA = TEST_CARDS.visa;
/** Demo order 1001 takes partial payments: every call may pay it. */
const ORDER = '1001';
const PROBE_SECONDS = 2;
const NODE_TIMEOUT_MS = 1500;
/** A node is out of the set after the first probe that fails: one interval, plus the probe's own timeout. */
const OUT_OF_SET_BOUND_MS = PROBE_SECONDS * 1000 + NODE_TIMEOUT_MS;
const worker = Number(process.env.VITEST_POOL_ID ?? '1');
/** With the shared store: a node whose heartbeat is older than this is taken over (NODE_DEAD_AFTER_SECONDS). */
const DEAD_AFTER_SECONDS = 10;

interface Payment {
  readonly id: string;
  readonly status: string;
  readonly reference: string;
}

const clusters: LocalCluster[] = [];
const ports = new SippPortSequence(39000);

afterAll(async () => {
  killAllSipp();
  await Promise.all(clusters.map((c) => c.stop()));
});

async function cluster(name: string, rtpSlot: number): Promise<LocalCluster> {
  const started = await startLocalCluster({
    dataRoot: testDataDir(`cluster-${name}`),
    rtpBase: 62000 + worker * 600 + rtpSlot * 200,
    probeSeconds: PROBE_SECONDS,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    env: { SANDBOX_LATENCY_MS: '20', SHUTDOWN_DRAIN_SECONDS: '60', LOG_LEVEL: 'debug' },
  });
  clusters.push(started);
  return started;
}

/** `calls` direct-pay calls keying the Visa test card by RFC 4733, `concurrent` at a time, to `target`. */
async function pay(target: string, calls: number, concurrent: number, reference = ORDER): Promise<SippRun> {
  const port = await ports.next();
  return runSipp({
    args: [
      target,
      '-sf', join(SIPP_DIR, 'direct-pay-rfc4733.xml'),
      '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      '-m', String(calls), '-l', String(concurrent), '-r', String(concurrent), '-rp', '1000',
      '-key', 'ref', reference, '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
    ],
    timeoutMs: 120_000,
  });
}

function proxyOf(c: LocalCluster): string {
  return `127.0.0.1:${c.kamailio.sipPort}`;
}

async function payments(node: ClusterNode, reference = ORDER): Promise<Payment[]> {
  return (await node.system.api<{ payments: Payment[] }>(`/api/v1/payments?reference=${reference}`)).payments;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until Kamailio holds every node as active (the first probes answered). */
async function allActive(c: LocalCluster): Promise<void> {
  await eventually('every node active in the dispatcher set', async () => {
    const targets = await c.kamailio.dispatcherTargets();
    return targets.length === c.nodes.length && targets.every((t) => t.active) ? true : undefined;
  }, 10_000);
}

/** Waits until Kamailio holds `node` as inactive; fails after `timeoutMs`. */
async function outOfSet(c: LocalCluster, node: ClusterNode, timeoutMs: number): Promise<void> {
  await eventually(`${node.name} inactive in the dispatcher set`, async () => {
    const target = (await c.kamailio.dispatcherTargets()).find((t) => t.uri === `sip:${node.sipAddress}`);
    return target && !target.active ? true : undefined;
  }, timeoutMs);
}

/** The calls Kamailio dispatched that are not in `before`, each with the node(s) its INVITE went to. */
function dispatchedSince(c: LocalCluster, before: ReadonlySet<string>): Map<string, string[]> {
  return new Map([...c.kamailio.dispatched()].filter(([callId]) => !before.has(callId)));
}

function expectSuccess(run: SippRun): void {
  expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
}

function expectNoCardData(c: LocalCluster): void {
  expect(findCardDataInText(c.kamailio.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
  for (const node of c.nodes) {
    expect(findCardDataInText(node.system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
    expect(findCardDataInFiles(node.system.dataDir, ALL_TEST_CARDS)).toEqual([]);
  }
}

describe('two nodes behind Kamailio', () => {
  it('40 direct-pay calls, 20 at a time, through Kamailio: spread over both nodes, all approved', { timeout: 180_000 }, async () => {
    const c = await cluster('load', 0);
    await allActive(c);
    const run = await pay(proxyOf(c), 40, 20);
    expectSuccess(run);

    const [a, b] = c.nodes as [ClusterNode, ClusterNode];
    const [onA, onB] = [await payments(a), await payments(b)];
    expect([...onA, ...onB].map((p) => p.status)).toEqual(Array(40).fill('approved'));
    // Round robin over two healthy nodes: both took calls, and each node has exactly the calls Kamailio sent it.
    const dispatched = [...c.kamailio.dispatched().values()];
    expect(dispatched).toHaveLength(40);
    expect(dispatched.every((hops) => hops.length === 1)).toBe(true);
    const sentTo = (node: ClusterNode): number => dispatched.filter((hops) => hops[0] === `sip:${node.sipAddress}`).length;
    expect([onA.length, onB.length]).toEqual([sentTo(a), sentTo(b)]);
    expect(onA.length).toBeGreaterThan(0);
    expect(onB.length).toBeGreaterThan(0);
    console.info(`cluster split of 40 calls: ${a.name} ${onA.length}, ${b.name} ${onB.length}`);

    await c.stop();
    expectNoCardData(c);
  });

  describe.concurrent('a node leaves the set', { timeout: 150_000 }, () => {
    it('SIGTERM: the node answers OPTIONS 503, its call in progress finishes approved, new calls go to the other node', async () => {
      const c = await cluster('drain', 1);
      await allActive(c);
      const port = await ports.next();
      const inProgress = startSipp([
        proxyOf(c), '-sf', join(SIPP_DIR, 'direct-pay-rfc4733.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
        '-key', 'ref', '1003', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
      ]);
      // The node Kamailio gave the call to.
      const [draining, session] = await eventually('the call in progress on a node', async () => {
        for (const node of c.nodes) {
          const capturing = (await payments(node, '1003')).find((p) => p.status === 'capturing');
          if (capturing) return [node, capturing] as const;
        }
        return undefined;
      }, 30_000);
      const other = c.nodes.find((n) => n !== draining)!;

      draining.system.kill('SIGTERM');
      await eventually('/readyz not ready', async () => ((await fetch(`${draining.system.httpUrl}/readyz`)).status === 503 ? true : undefined), 5000);
      const probe = await runSipp({ args: [draining.sipAddress, '-sf', join(projectRoot(), 'tests/integration/cluster/options-expect-503.xml'), '-i', '127.0.0.1', '-p', String(await ports.next()), '-m', '1'] });
      expectSuccess(probe);
      await outOfSet(c, draining, OUT_OF_SET_BOUND_MS + 2000);

      const before = new Set(c.kamailio.dispatched().keys());
      // While the draining node still finishes its call, three new ones: all on the other node.
      const fresh = pay(proxyOf(c), 3, 3);
      const approved = await eventually('the payment in progress approved', async () => {
        const found = (await payments(draining, '1003')).find((p) => p.id === session.id);
        return found?.status === 'approved' ? found : undefined;
      }, 60_000);
      expect(approved.status).toBe('approved');
      expectSuccess(await inProgress.done);
      expect(await draining.system.exited).toBe(0);

      expectSuccess(await fresh);
      expect((await payments(other)).map((p) => p.status)).toEqual(['approved', 'approved', 'approved']);
      const newCalls = dispatchedSince(c, before);
      expect([...newCalls.values()]).toEqual(Array(3).fill([`sip:${other.sipAddress}`]));

      await c.stop();
      expectNoCardData(c);
    });

    it('kill -9 in the middle of a card capture: out of the set within one probe interval, no new call for it, new calls approved on the other; restarted, back in the set at its first good probe', async () => {
      const c = await cluster('crash', 2);
      await allActive(c);
      const port = await ports.next();
      const capture = startSipp([
        proxyOf(c), '-sf', join(SIPP_DIR, 'direct-pay-rfc4733.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
        '-key', 'ref', '1002', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
      ]);
      const [killed, interrupted] = await eventually('the call in capture on a node', async () => {
        for (const node of c.nodes) {
          const capturing = (await payments(node, '1002')).find((p) => p.status === 'capturing');
          if (capturing) return [node, capturing] as const;
        }
        return undefined;
      }, 30_000);
      const alive = c.nodes.find((n) => n !== killed)!;
      killed.system.kill('SIGKILL');
      expect(await killed.system.exited).toBe('SIGKILL');
      capture.child.kill('SIGKILL');
      // Out of the set after one probe interval and that probe's timeout (and a little for a busy machine).
      await outOfSet(c, killed, OUT_OF_SET_BOUND_MS + 2000);

      const before = new Set(c.kamailio.dispatched().keys());
      expectSuccess(await pay(proxyOf(c), 4, 4));
      expect((await payments(alive)).map((p) => p.status)).toEqual(Array(4).fill('approved'));
      // No INVITE went to the dead node first (a failover would show it as a first hop).
      expect([...dispatchedSince(c, before).values()]).toEqual(Array(4).fill([`sip:${alive.sipAddress}`]));

      // Back on its ports and data: its own interrupted payment settled, and calls again from the first good probe.
      const restarted = await c.restart(killed.name);
      expect((await payments(restarted, '1002')).find((p) => p.id === interrupted.id)?.status).toBe('abandoned');
      await allActive(c);
      const again = new Set(c.kamailio.dispatched().keys());
      expectSuccess(await pay(proxyOf(c), 2, 2));
      const sentTo = [...dispatchedSince(c, again).values()].map((hops) => hops.join(' '));
      expect(sentTo.sort()).toEqual([`sip:${alive.sipAddress}`, `sip:${restarted.sipAddress}`].sort());
      expect((await payments(restarted)).map((p) => p.status)).toEqual(['approved']);

      await c.stop();
      expectNoCardData(c);
      expect(findCardDataInText(killed.system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
    });
  });
});

describe('two nodes on one PostgreSQL behind Kamailio', { timeout: 150_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cluster-postgres-'));
  let recorder: FakeRecorder;
  let c: LocalCluster;
  let a: ClusterNode;
  let b: ClusterNode;

  beforeAll(async () => {
    recorder = await startFakeRecorder();
    c = await startLocalCluster({
      store: 'postgres',
      dataRoot: testDataDir('cluster-postgres'),
      rtpBase: 62000 + worker * 600 + 400,
      probeSeconds: PROBE_SECONDS,
      nodeTimeoutMs: NODE_TIMEOUT_MS,
      env: { SANDBOX_LATENCY_MS: '20', SHUTDOWN_DRAIN_SECONDS: '60', NODE_DEAD_AFTER_SECONDS: String(DEAD_AFTER_SECONDS), PSP_TIMEOUT_MS: '120000', RECORDER_WEBHOOK_URL: recorder.url },
    });
    clusters.push(c);
    [a, b] = c.nodes as [ClusterNode, ClusterNode];
    await allActive(c);
  });
  afterAll(async () => {
    await recorder?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A SIPp agent phone for the IVR's call-back (agent-phone.xml, a quiet tone as its voice). */
  async function agentPhone(): Promise<string> {
    const port = await ports.next();
    const voice = join(work, `agent-${port}.ulaw`);
    writeUlaw(voice, new Int16Array(8000).map((_, i) => Math.round(2000 * Math.sin((2 * Math.PI * 1000 * i) / 8000))));
    startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-key', 'voice', `${voice},-1,0`]);
    return `sip:agent@127.0.0.1:${port}`;
  }

  interface Frame {
    readonly sessionId: string;
    readonly seq: number;
    readonly event: { readonly type: string };
  }

  /** The stream of one session on `node`, from after `after`; `until` ends it (the socket dropped as a network would). */
  function stream(node: ClusterNode, sessionId: string, after: number, until?: (frames: Frame[]) => boolean): { frames: Frame[]; closed: Promise<void> } {
    const frames: Frame[] = [];
    const socket = new WebSocket(`${node.system.httpUrl.replace('http', 'ws')}/api/v1/stream?session=${sessionId}&after=${after}`, {
      headers: { authorization: `Bearer ${node.system.adminKey}` },
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Frame | { type: string };
      if (!('seq' in message)) return;
      frames.push(message);
      if (until?.(frames)) socket.terminate();
    });
    socketsToClose.push(socket);
    return { frames, closed };
  }
  const socketsToClose: WebSocket[] = [];
  afterAll(() => socketsToClose.forEach((s) => s.terminate()));

  it('a session made through node A\'s API, its caller transferred to node B: capture and cancel sent to A act on B\'s call, and the answer says so; A\'s console sees every frame in order, and a console that resumes on B misses none and repeats none', async () => {
    const session = await a.system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: 'CLUSTER-CMD-1', autoCapture: false, agentUri: await agentPhone() });
    const onA = stream(a, session.id, 0);
    // A console on A whose connection drops after two frames, back on B from the last frame it saw.
    const dropping = stream(a, session.id, 0, (frames) => frames.length === 2);
    let resumed: { frames: Frame[] } | undefined;
    void dropping.closed.then(() => (resumed = stream(b, session.id, dropping.frames.at(-1)!.seq)));
    const callerPort = await ports.next();
    // A caller who keys nothing and waits: the agent drives the capture.
    const caller = startSipp([
      b.sipAddress, '-sf', join(SIPP_DIR, 'direct-pay-hangup.xml'), '-s', `pay-${session.code}`, '-i', '127.0.0.1', '-p', String(callerPort), '-mp', String(callerPort + 2), '-m', '1',
      ...keyStepsInjection(join(work, 'silent-caller.csv'), ['', 40_000]),
    ]);
    await eventually('the caller joined on node B', async () => ((await a.system.api<{ callId: string | null }>(`/api/v1/sessions/${session.id}`)).callId ? true : undefined), 30_000);

    const send = (action: string, body: object = {}) =>
      fetch(`${a.system.httpUrl}/api/v1/sessions/${session.id}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.system.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const capture = await send('capture', { field: 'card-number' });
    expect(capture.status).toBe(202);
    expect(((await capture.json()) as { command: unknown }).command).toEqual({ type: 'capture', field: 'card-number', applied: true, node: b.name });
    await eventually('capturing', async () => ((await a.system.api<{ status: string }>(`/api/v1/sessions/${session.id}`)).status === 'capturing' ? true : undefined), 10_000);

    const cancel = await send('cancel');
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { command: unknown }).command).toEqual({ type: 'cancel', applied: true, node: b.name });
    await eventually('cancelled on node B', async () => ((await a.system.api<{ status: string }>(`/api/v1/sessions/${session.id}`)).status === 'cancelled' ? true : undefined), 20_000);
    // Node B's call audited each command with the agent's identity, as if sent to its own API.
    const entries = (await a.system.api<{ entries: { action: string; actor: { kind: string }; detail: { command?: string } }[] }>(`/api/v1/sessions/${session.id}/audit`)).entries;
    expect(entries.filter((e) => e.action === 'agent-command').map((e) => [e.detail.command, e.actor.kind])).toEqual([
      ['capture', 'api-key'],
      ['cancel', 'api-key'],
    ]);

    // The call is over: a command now is not applied anywhere, and the answer says so.
    const late = await send('complete');
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ applied: false });
    caller.child.kill('SIGKILL');

    // Every frame of B's call, as stored: what a console that opens the session on B now replays.
    const all = await eventually('the call\'s last frame stored', async () => {
      const replayed = stream(b, session.id, 0);
      await new Promise((r) => setTimeout(r, 1000));
      return replayed.frames.some((f) => f.event.type === 'ended') ? replayed.frames : undefined;
    }, 20_000);
    const seqs = all.map((f) => f.seq);
    expect(seqs).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.map((f) => f.event.type)).toEqual(expect.arrayContaining(['caller-connected', 'field-started', 'ended']));
    await eventually('A\'s console has every frame', async () => (onA.frames.length >= all.length ? true : undefined), 10_000);
    expect(onA.frames).toEqual(all);
    await eventually('the resumed console has caught up', async () => (resumed && dropping.frames.length + resumed.frames.length >= all.length ? true : undefined), 10_000);
    expect([...dropping.frames, ...resumed!.frames]).toEqual(all);
  });

  it('kill -9 of a node mid-capture and mid-authorisation: no new call for it, new calls approved on the other, which takes over its calls once (abandoned, reconciled, recorder resumed), nothing left in progress', async () => {
    const [alive, doomed] = [a, b];
    // Straight to the doomed node: a card the sandbox never answers (authorising), then a capture that stops half-way.
    const authorisingPort = await ports.next();
    const authorising = startSipp([
      doomed.sipAddress, '-sf', join(SIPP_DIR, 'direct-pay-rfc4733.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(authorisingPort), '-mp', String(authorisingPort + 2), '-m', '1',
      '-key', 'ref', '1003', '-key', 'pan', TEST_CARDS.noAnswer, '-key', 'exp', '1230', '-key', 'cvv', '123',
    ]);
    await eventually('the no-answer call capturing', async () => ((await payments(alive, '1003')).some((p) => p.status === 'capturing') ? true : undefined), 30_000);
    const capturingPort = await ports.next();
    const capturing = startSipp([
      doomed.sipAddress, '-sf', join(SIPP_DIR, 'direct-pay-hangup.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(capturingPort), '-mp', String(capturingPort + 2), '-m', '1',
      ...keyStepsInjection(join(work, 'half-way.csv'), ['1002#', 2000], ['4242', 60_000]),
    ]);
    // Read through the live node: the store is shared.
    const [inFlight, inCapture] = await eventually('one call authorising and one capturing on the doomed node', async () => {
      const x = (await payments(alive, '1003')).find((p) => p.status === 'authorising');
      const y = (await payments(alive, '1002')).find((p) => p.status === 'capturing');
      return x && y ? ([x, y] as const) : undefined;
    }, 30_000);
    await eventually('the recorder paused for the capture', async () => (recorder.forSession(inCapture.id).at(-1)?.action === 'pause' ? true : undefined), 10_000);

    doomed.system.kill('SIGKILL');
    expect(await doomed.system.exited).toBe('SIGKILL');
    authorising.child.kill('SIGKILL');
    capturing.child.kill('SIGKILL');
    await outOfSet(c, doomed, OUT_OF_SET_BOUND_MS + 2000);
    const before = new Set(c.kamailio.dispatched().keys());
    expectSuccess(await pay(proxyOf(c), 2, 2));
    expect([...dispatchedSince(c, before).values()]).toEqual(Array(2).fill([`sip:${alive.sipAddress}`]));

    // Its heartbeat goes stale; the live node takes over (within the bound, a heartbeat period, and a busy machine's margin).
    const settled = await eventually('the dead node\'s calls settled', async () => {
      const [x, y] = [await alive.system.api<Payment>(`/api/v1/sessions/${inFlight.id}`), await alive.system.api<Payment>(`/api/v1/sessions/${inCapture.id}`)];
      return x.status === 'error' && y.status === 'abandoned' ? [x, y] : undefined;
    }, (DEAD_AFTER_SECONDS + 5) * 1000 + 20_000);
    expect(settled.map((p) => p.status)).toEqual(['error', 'abandoned']);
    const actions = async (id: string): Promise<{ action: string; actor: { id: string } }[]> =>
      (await alive.system.api<{ entries: { action: string; actor: { id: string } }[] }>(`/api/v1/sessions/${id}/audit`)).entries;
    expect((await actions(inCapture.id)).filter((e) => e.action === 'call-interrupted').map((e) => e.actor.id)).toEqual([`takeover-of-${doomed.name}`]);
    // The sandbox on the live node never saw the dead node's key: nothing was charged, and the PSP was asked once.
    const reconciled = (await actions(inFlight.id)).filter((e) => e.action === 'authorisation-interrupted' || e.action === 'authorisation-reconciled');
    expect(reconciled.map((e) => e.action)).toEqual(['authorisation-interrupted', 'authorisation-reconciled']);
    await eventually('the recorder told to resume', async () => (recorder.forSession(inCapture.id).at(-1)?.action === 'resume' ? true : undefined), 10_000);
    expect(recorder.forSession(inCapture.id).at(-1)).toMatchObject({ action: 'resume', recovered: true });
    // Nothing of either order is left in progress.
    const open = ['pending', 'capturing', 'authorising', 'in_doubt'];
    expect([...(await payments(alive, '1002')), ...(await payments(alive, '1003'))].filter((p) => open.includes(p.status))).toEqual([]);

    await c.stop();
    expectNoCardData(c);
    expect(findCardDataInText(doomed.system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
  });
});
