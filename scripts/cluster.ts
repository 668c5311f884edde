/**
 * Several IVR nodes behind Kamailio on this machine, for demos and manual
 * tests, until Ctrl-C:
 *
 *   npm run cluster -- [--nodes 2] [--store sqlite|postgres] [--data ./cluster-data] [--rtp-base 20000]
 *
 * Prints where Kamailio and each node listen (call Kamailio's address; each
 * node's API and console are at its HTTP address, with the admin key in its
 * data folder). On SIGINT or SIGTERM it stops exactly what it started.
 * Needs Debian's kamailio (and postgresql for --store postgres).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalCluster, type ClusterStore } from '../tools/cluster/local-cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    store: { type: 'string', default: process.env.STORE ?? 'sqlite' },
    data: { type: 'string', default: './cluster-data' },
    'rtp-base': { type: 'string', default: '20000' },
  },
});
const nodes = Number(values.nodes);
const store = values.store as ClusterStore;
if (!Number.isInteger(nodes) || nodes < 1 || (store !== 'sqlite' && store !== 'postgres')) {
  console.error('usage: npm run cluster -- [--nodes N] [--store sqlite|postgres] [--data DIR] [--rtp-base PORT]');
  process.exit(2);
}
const dataRoot = resolve(values.data);
mkdirSync(dataRoot, { recursive: true, mode: 0o700 });

try {
  const cluster = await startLocalCluster({ nodes, store, dataRoot, rtpBase: Number(values['rtp-base']) });
  console.log(cluster.describe());
  console.log('Ctrl-C stops them all.');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping (each node drains its calls first)...');
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  process.exit(1);
}
