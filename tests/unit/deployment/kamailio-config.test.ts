import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';

/**
 * kamailio/kamailio.cfg as Debian's Kamailio 5.6 reads it (`kamailio -c`,
 * which parses the script and loads its modules without serving), and the
 * choices in it the cluster relies on. The cluster tests
 * (tests/integration/cluster/) run it for real.
 */

const CFG = join(projectRoot(), 'kamailio/kamailio.cfg');
const RUN = join(projectRoot(), 'kamailio/run-kamailio.sh');
const text = readFileSync(CFG, 'utf8');
const work = mkdtempSync(join(tmpdir(), 'kamailio-cfg-'));
const list = join(work, 'dispatcher.list');
writeFileSync(list, '1 sip:127.0.0.1:5081 0 0\n1 sip:127.0.0.1:5082 0 0\n');

afterAll(() => rmSync(work, { recursive: true, force: true }));

function check(env: Record<string, string>): { status: number | null; output: string } {
  const run = spawnSync('kamailio', ['-c', '-f', CFG], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const SETTINGS = { KAMAILIO_LISTEN: '127.0.0.1:5070', KAMAILIO_DISPATCHER_LIST: list, KAMAILIO_CTL_SOCKET: `unixs:${join(work, 'ctl')}` };

describe('kamailio/kamailio.cfg', () => {
  it('is a valid Kamailio 5.6 script with the settings from the environment, listening where KAMAILIO_LISTEN says', () => {
    const { status, output } = check(SETTINGS);
    expect(status, output).toBe(0);
    expect(output).toMatch(/udp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5070/);
    expect(output).toMatch(/tcp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5070/);
  });

  it('advertises KAMAILIO_ADVERTISE when given (a proxy behind NAT)', () => {
    const { status, output } = check({ ...SETTINGS, KAMAILIO_ADVERTISE: '198.51.100.7:5060' });
    expect(status, output).toBe(0);
    expect(output).toContain('advertise 198.51.100.7:5060');
  });

  it.each(['KAMAILIO_LISTEN', 'KAMAILIO_DISPATCHER_LIST'])('does not start without %s', (missing) => {
    const env: Record<string, string> = { ...SETTINGS };
    delete env[missing];
    expect(check(env).status).not.toBe(0);
  });

  it('probes every node with OPTIONS, takes one out at the first failed probe (a 503 or no answer) and back at the first good one', () => {
    const param = (name: string): string | undefined => new RegExp(`modparam\\("dispatcher", "${name}", ([^)]+)\\)`).exec(text)?.[1];
    expect(param('ds_ping_method')).toBe('"OPTIONS"');
    expect(param('ds_ping_interval')).toBe('KAMAILIO_PROBE_SECONDS');
    expect(param('ds_probing_mode')).toBe('1');
    expect(param('ds_ping_reply_codes')).toBe('"class=2"');
    expect(param('ds_probing_threshold')).toBe('1');
    expect(param('ds_inactive_threshold')).toBe('1');
  });

  it('record-routes new calls, fails over to the next node on a 5xx or no answer, and routes in-dialog requests by their Route', () => {
    expect(text).toMatch(/record_route\(\);\s*route\(DISPATCH\);/);
    expect(text).toMatch(/ds_select_dst\(IVR_NODES, ROUND_ROBIN\)/);
    const failure = text.slice(text.indexOf('failure_route[NEXT_NODE]'));
    expect(failure).toContain('t_check_status("5[0-9][0-9]") || (t_branch_timeout() && !t_branch_replied())');
    expect(failure).toMatch(/ds_mark_dst\("ip"\);\s*if \(ds_next_dst\(\)\)/);
    expect(text).toMatch(/route\[WITHINDLG\] \{\s*if \(loose_route\(\)\)/);
  });

  it('holds no secret and logs no message body by default (INFO bodies carry key presses)', () => {
    expect(text).not.toMatch(/password|secret\s*=|auth_db|db_url/i);
    expect(/#!define KAMAILIO_LOG_LEVEL (\S+)/.exec(text)?.[1]).toBe('1');
    expect(text).not.toMatch(/\$rb|\$mb/);
  });
});

describe('kamailio/run-kamailio.sh', () => {
  it('refuses a node that is not host:port before starting anything', () => {
    const run = spawnSync(RUN, [], { env: { PATH: process.env.PATH ?? '', KAMAILIO_NODES: '127.0.0.1:5081,evil;rm', KAMAILIO_LISTEN: '127.0.0.1:5070', KAMAILIO_RUN_DIR: work }, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('not a host:port: evil;rm');
  });

  it.each(['KAMAILIO_NODES', 'KAMAILIO_LISTEN'])('refuses to start without %s, naming it', (missing) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', KAMAILIO_RUN_DIR: work, KAMAILIO_NODES: '127.0.0.1:5081', KAMAILIO_LISTEN: '127.0.0.1:5070' };
    delete env[missing];
    const run = spawnSync(RUN, [], { env, encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`set ${missing}`);
  });
});
