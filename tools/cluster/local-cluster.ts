/**
 * Several IVR nodes behind Kamailio on this machine, for the cluster tests
 * and for demos (`npm run cluster`): N nodes (app/main.ts each, as
 * `npm start` runs it) on free loopback ports, each with its own data
 * folder and RTP range, and Kamailio dispatching over them. `stop()` ends
 * exactly the processes it started, by their ids.
 *
 * With `store: 'postgres'` the nodes share one PostgreSQL started here
 * (tools/postgres-server.ts, with a password), each named by its NODE_ID; with the
 * default SQLite each node keeps its own database.
 */
import { join } from 'node:path';
import { freePort } from '../sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../system-process.js';
import { startKamailio, type RunningKamailio } from './kamailio-process.js';
import { startPostgres, type RunningPostgres } from '../postgres-server.js';

/** The store the cluster's nodes share, or could not. */
export type ClusterStore = 'sqlite' | 'postgres';

export interface ClusterNode {
  /** node-a, node-b, ... (also its NODE_ID with the shared store). */
  readonly name: string;
  /** `127.0.0.1:port`: where Kamailio sends its calls and probes. */
  readonly sipAddress: string;
  readonly system: RunningSystem;
}

/** A node asked to restart while its process still runs. */
export class NodeStillRunningError extends Error {
  override readonly name = 'NodeStillRunningError';
}

export interface LocalClusterOptions {
  /** How many nodes. Default 2. */
  readonly nodes?: number;
  /** Default sqlite: each node its own database in its data folder. */
  readonly store?: ClusterStore;
  /** A data folder per node is made under it (`<dataRoot>/<name>`). */
  readonly dataRoot: string;
  /** Settings every node gets on top of the cluster's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** The first node's RTP range starts here; each node has `rtpPortsPerNode` after the one before. Default 20000. */
  readonly rtpBase?: number;
  /** Default 100 (50 calls at once per node). */
  readonly rtpPortsPerNode?: number;
  /** Kamailio's probe interval and node timeout (kamailio-process.ts defaults). */
  readonly probeSeconds?: number;
  readonly nodeTimeoutMs?: number;
}

export interface LocalCluster {
  readonly kamailio: RunningKamailio;
  readonly nodes: readonly ClusterNode[];
  readonly postgres: RunningPostgres | undefined;
  /**
   * Starts a node whose process has ended (drained or killed) again, with
   * the same ports, data folder and settings; `nodes` then holds the new one.
   */
  restart(name: string): Promise<ClusterNode>;
  /** One line per process: where each listens. */
  describe(): string;
  /** Kamailio first (no new calls), then the nodes (SIGTERM, each drains), then PostgreSQL. */
  stop(): Promise<void>;
}

const NAMES = 'abcdefghijklmnopqrstuvwxyz';
/** Nodes start side by side; on a busy two-core machine one start can take most of a minute. */
const NODE_START_TIMEOUT_MS = 90_000;

/** `count` ports free now and all different (freePort draws at random). */
async function distinctPorts(count: number, base: number, taken: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(base);
    if (taken.has(port)) continue;
    taken.add(port);
    ports.push(port);
  }
  return ports;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const count = options.nodes ?? 2;
  if (count < 1 || count > NAMES.length) throw new RangeError(`nodes: 1 to ${NAMES.length}`);
  const store = options.store ?? 'sqlite';
  const rtpBase = options.rtpBase ?? 20000;
  const rtpPorts = options.rtpPortsPerNode ?? 100;
  const taken = new Set<number>();
  const sipPorts = await distinctPorts(count, 33000, taken);
  const httpPorts = await distinctPorts(count, 31000, taken);

  const started: RunningSystem[] = [];
  let postgres: RunningPostgres | undefined;
  let kamailio: RunningKamailio | undefined;
  const stopAll = async (): Promise<void> => {
    await kamailio?.stop();
    await Promise.all(started.map((s) => s.stop()));
    await postgres?.stop();
  };

  const settings = new Map<string, Record<string, string>>();
  const startNode = async (name: string): Promise<ClusterNode> => {
    const env = settings.get(name) as Record<string, string>;
    const system = await startSystem(env, { timeoutMs: NODE_START_TIMEOUT_MS });
    started.push(system);
    return { name, sipAddress: `127.0.0.1:${env.SIP_PORT}`, system };
  };

  try {
    postgres = store === 'postgres' ? await startPostgres({ database: 'payment_ivr', password: true }) : undefined;
    sipPorts.forEach((sipPort, i) => {
      const name = `node-${NAMES[i]}`;
      settings.set(name, {
        DATA_DIR: join(options.dataRoot, name),
        HTTP_PORT: String(httpPorts[i]),
        SIP_PORT: String(sipPort),
        RTP_PORT_MIN: String(rtpBase + i * rtpPorts),
        RTP_PORT_MAX: String(rtpBase + (i + 1) * rtpPorts - 2),
        ...(postgres ? { STORE: 'postgres', DATABASE_URL: postgres.url(), NODE_ID: name } : {}),
        ...options.env,
      });
    });
    const nodes = await Promise.all([...settings.keys()].map(startNode));
    kamailio = await startKamailio({
      nodes: nodes.map((n) => n.sipAddress),
      ...(options.probeSeconds === undefined ? {} : { probeSeconds: options.probeSeconds }),
      ...(options.nodeTimeoutMs === undefined ? {} : { nodeTimeoutMs: options.nodeTimeoutMs }),
    });
    const proxy = kamailio;
    return {
      kamailio: proxy,
      nodes,
      postgres,
      async restart(name) {
        const i = nodes.findIndex((n) => n.name === name);
        if (i < 0) throw new RangeError(`no node ${name}`);
        const ended = await Promise.race([nodes[i]!.system.exited.then(() => true), new Promise<false>((r) => setImmediate(() => r(false)))]);
        if (!ended) throw new NodeStillRunningError(`${name} (pid ${nodes[i]!.system.pid}) is still running`);
        nodes[i] = await startNode(name);
        return nodes[i]!;
      },
      describe: () =>
        [
          `kamailio  sip:127.0.0.1:${proxy.sipPort}  pid ${proxy.pid}  (probes every ${proxy.probeSeconds} s)`,
          ...nodes.map((n) => `${n.name.padEnd(9)} sip:${n.sipAddress}  ${n.system.httpUrl}  pid ${n.system.pid}  data ${n.system.dataDir}`),
          ...(postgres ? [`postgres  ${postgres.safeUrl()}  pid ${postgres.pid}`] : []),
        ].join('\n'),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
