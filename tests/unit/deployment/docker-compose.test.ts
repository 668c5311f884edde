import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, loadConfig, SECRET_SETTINGS } from '../../../app/config.js';
import { projectRoot } from '../../../app/project-root.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';
import { attributeValues } from '../../support/xmllint.js';

/**
 * docker-compose.yml, the Dockerfile and .env.example, parsed and checked:
 * every service, port, volume and health check; that no secret is written in
 * them; that the app's environment is a valid configuration; that the fixed
 * addresses agree with FreeSWITCH's ACLs. Docker does not run on these
 * machines, so this is as far as the stack is tested here.
 */

interface Service {
  image?: string;
  build?: { context: string; target: string };
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  tmpfs?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  networks: { voice: { ipv4_address: string } };
  stop_grace_period?: string;
  user?: string;
  network_mode?: string;
  read_only?: boolean;
  cap_drop?: string[];
}

const ROOT = projectRoot();
const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Service>; volumes: Record<string, unknown>; networks: { voice: { ipam: { config: { subnet: string }[] } } } };
const { drachtio, freeswitch, app, sipp, admin } = compose.services as Record<'drachtio' | 'freeswitch' | 'app' | 'sipp' | 'admin', Service>;
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');
const ip = (s: Service): string => s.networks.voice.ipv4_address;
/** vars.xml's `set` defaults. */
const vars = new Map(
  attributeValues(join(ROOT, 'freeswitch-config/vars.xml'), "//X-PRE-PROCESS[@cmd='set']/@data").map((d) => [d.slice(0, d.indexOf('=')), d.slice(d.indexOf('=') + 1)]),
);

describe('docker-compose.yml', () => {
  it('runs drachtio-server, FreeSWITCH and the app; SIPp only under the qa profile, the admin CLI under tools', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['admin', 'app', 'drachtio', 'freeswitch', 'kamailio', 'node-a', 'node-b', 'postgres', 'sipp']);
    expect(sipp.profiles).toEqual(['qa']);
    expect(admin.profiles).toEqual(['tools']);
    // On the app's data volume as the app's user (the runtime image's uid), with no network.
    expect(admin.user).toBe('10001:10001');
    expect(stage('runtime')).toContain('useradd --system --uid 10001 --gid ivr');
    expect(admin.volumes).toEqual(['data:/data']);
    expect(admin.environment?.DATA_DIR).toBe('/data');
    expect(admin.network_mode).toBe('none');
    for (const s of [drachtio, freeswitch, app]) expect(s.profiles).toBeUndefined();
    expect(admin.build).toEqual({ context: '.', target: 'qa' });
    expect(app.build).toEqual({ context: '.', target: 'runtime' });
    expect(sipp.build).toEqual({ context: '.', target: 'qa' });
  });

  it('has a health check on every long-running service, and starts the app only once drachtio-server and FreeSWITCH are healthy', () => {
    for (const [name, s] of Object.entries({ drachtio, freeswitch, app })) expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    expect(drachtio.healthcheck?.test.join(' ')).toContain('/dev/tcp/127.0.0.1/9022');
    expect(freeswitch.healthcheck?.test.join(' ')).toMatch(/fs_cli .*-p "\$\$FREESWITCH_SECRET".*sofia status profile drachtio_mrf/);
    expect(app.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8080/readyz');
    expect(app.depends_on).toEqual({ drachtio: { condition: 'service_healthy' }, freeswitch: { condition: 'service_healthy' } });
    expect(sipp.depends_on).toEqual({ app: { condition: 'service_healthy' } });
  });

  it('publishes SIP on drachtio-server, RTP on FreeSWITCH (the range vars.xml gives it) and HTTP on the app; the control ports stay private', () => {
    expect(drachtio.ports).toEqual(['5060:5060/udp', '5060:5060/tcp']);
    const [start, end] = [vars.get('rtp_start_port'), vars.get('rtp_end_port')];
    expect(freeswitch.ports).toEqual([`${start}-${end}:${start}-${end}/udp`]);
    expect([freeswitch.environment?.FREESWITCH_RTP_START, freeswitch.environment?.FREESWITCH_RTP_END]).toEqual([start, end]);
    expect(app.ports).toEqual(['8080:8080']);
    expect(sipp.ports).toBeUndefined();
    // drachtio's application port, FreeSWITCH's event socket and SIP profile, the outbound socket listener.
    expect(composeText).not.toMatch(/["\s-](9022|8021|5080|8085):/);
  });

  it('keeps data and recordings in volumes, FreeSWITCH writing recordings and reading prompts at the paths the app names them by', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['data', 'node-a-data', 'node-b-data', 'pgdata', 'recordings']);
    expect(app.volumes).toEqual(expect.arrayContaining(['data:/data', 'recordings:/data/recordings']));
    expect(app.environment?.DATA_DIR).toBe('/data');
    expect(freeswitch.volumes).toEqual(
      expect.arrayContaining(['./freeswitch-config:/etc/payment-ivr/freeswitch:ro', 'recordings:/data/recordings']),
    );
    // The prompts, shipped or the operator's PROMPTS_DIR, at /prompts in both: the app checks them at start-up and names them to FreeSWITCH.
    const prompts = '${PROMPTS_DIR:-./ivr/prompts/audio}:/prompts:ro';
    expect(freeswitch.volumes).toContain(prompts);
    expect(app.volumes).toContain(prompts);
    expect(app.environment?.PROMPTS_DIR).toBe('/prompts');
    expect(envExample).toMatch(/^PROMPTS_DIR=$/m);
    // The prompts' path in the app image: WORKDIR /app of the runtime stage.
    expect(stage('runtime')).toMatch(/^WORKDIR \/app$/m);
    expect(stage('runtime')).toMatch(/^COPY ivr\/prompts\/audio \.\/ivr\/prompts\/audio$/m);
  });

  it('runs FreeSWITCH on freeswitch-config/ with its expanded configuration and database in memory', () => {
    expect(freeswitch.entrypoint).toEqual(['freeswitch']);
    const args = freeswitch.command ?? [];
    const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(after('-conf')).toBe('/etc/payment-ivr/freeswitch');
    expect(freeswitch.tmpfs).toEqual(['/run/freeswitch']);
    expect([after('-log'), after('-db')]).toEqual(['/run/freeswitch', '/run/freeswitch']);
    expect(args).toContain('-nonat');
  });

  it('names pinned releases of the drachtio-server and FreeSWITCH images, never latest, the same in .env.example and the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [service, variable] of [[drachtio, 'DRACHTIO_IMAGE'], [freeswitch, 'FREESWITCH_IMAGE']] as const) {
      const fallback = new RegExp(`^\\$\\{${variable}:-([^}]+)\\}$`).exec(service.image ?? '')?.[1];
      expect(fallback, variable).toMatch(/^[\w./-]+:\d+\.\d+\.\d+$/);
      expect(envExample).toContain(`${variable}=${fallback}`);
      expect(readme).toContain(`\`${fallback}\``);
    }
  });

  it('runs drachtio-server with logging that leaves out SIP messages (INFO bodies carry digits)', () => {
    const args = drachtio.command ?? [];
    expect(args[args.indexOf('--loglevel') + 1]).toBe('warning');
    expect(args[args.indexOf('--sofia-loglevel') + 1]).toBe('0');
    expect(args.filter((a) => a.startsWith('sip:'))).toEqual(['sip:*:5060;transport=udp', 'sip:*:5060;transport=tcp']);
  });

  it('writes no secret: every secret is interpolated from .env, the required ones with :?; no stock default anywhere', () => {
    const secretName = /SECRET|PASSWORD|_API_KEY|HMAC|VAULT_KEY|AUDIT_KEY|TOKEN/;
    let checked = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!secretName.test(key)) continue;
        checked++;
        expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+(:\?[^}]+|:-)\}$/);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    for (const required of ['DRACHTIO_SECRET', 'FREESWITCH_SECRET', 'ADMIN_API_KEY']) expect(composeText).toContain(`\${${required}:?`);
    expect(composeText).not.toMatch(/cymru|cluecon/i);
  });

  it('gives the app and the admin CLI the same AUDIT_KEY (or both the one generated on the data volume)', () => {
    expect(app.environment?.AUDIT_KEY).toBe('${AUDIT_KEY:-}');
    expect(admin.environment?.AUDIT_KEY).toBe('${AUDIT_KEY:-}');
    expect(admin.volumes).toEqual(app.volumes?.filter((v) => v.startsWith('data:')));
    expect(loadConfig({ DATA_DIR: '/data', AUDIT_KEY: 'ab'.repeat(32) }).AUDIT_KEY).toHaveLength(32);
  });

  it("gives the app only real settings, and they load as MEDIA_SERVER=freeswitch once .env's values are in", () => {
    const env = app.environment ?? {};
    const known = Object.keys(configSchema.shape);
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    const sample: Record<string, string> = {
      PUBLIC_IP: '198.51.100.7',
      SIP_ALLOW: '192.0.2.0/24,172.28.0.20/32',
      DRACHTIO_SECRET: 'd'.repeat(32),
      FREESWITCH_SECRET: 'f'.repeat(32),
      ADMIN_API_KEY: 'a'.repeat(40),
    };
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z_]+)(?::[?-][^}]*)?\}/g, (_m, name: string) => sample[name] ?? '')]));
    const config = loadConfig(resolved);
    expect(config.MEDIA_SERVER).toBe('freeswitch');
    expect(config.DRACHTIO_HOST).toBe(ip(drachtio));
    expect(config.FREESWITCH_HOST).toBe(ip(freeswitch));
    expect(config.FREESWITCH_ADVERTISED_HOST).toBe(ip(app));
    expect(config.FREESWITCH_LISTEN_PORT).toBe(8085);
    expect(stage('runtime')).toMatch(/^EXPOSE 8080 8085$/m);
  });

  it("puts each service at a fixed address in the network, the ones FreeSWITCH's ACLs allow", () => {
    const subnet = compose.networks.voice.ipam.config[0]?.subnet;
    expect(subnet).toBe('172.28.0.0/24');
    for (const s of [drachtio, freeswitch, app, sipp]) expect(ip(s)).toMatch(/^172\.28\.0\.\d+$/);
    expect(freeswitch.environment?.FREESWITCH_ESL_ALLOW).toBe(`${ip(app)}/32`);
    expect(freeswitch.environment?.FREESWITCH_SIP_ALLOW).toBe(`${ip(drachtio)}/32`);
    // vars.xml's defaults are the same, for FreeSWITCH run without these variables.
    expect(vars.get('esl_allow_cidr')).toBe(`${ip(app)}/32`);
    expect(vars.get('sip_allow_cidr')).toBe(`${ip(drachtio)}/32`);
  });

  it('hardens the app container: read-only root, no capabilities, a tmpfs for /tmp', () => {
    expect(app.read_only).toBe(true);
    expect(app.cap_drop).toEqual(['ALL']);
    expect(app.tmpfs).toEqual(['/tmp']);
  });

  it("points the qa profile's SIPp runner at drachtio-server and the app's API, with the API key from .env", () => {
    const args = sipp.entrypoint ?? [];
    expect(args.slice(0, 4)).toEqual(['npm', 'run', 'qa', '--']);
    expect(args[args.indexOf('--target') + 1]).toBe(`${ip(drachtio)}:5060`);
    expect(args[args.indexOf('--api') + 1]).toBe(`http://${ip(app)}:8080`);
    expect(args[args.indexOf('--local-ip') + 1]).toBe(ip(sipp));
    expect(sipp.environment?.QA_API_KEY).toMatch(/^\$\{ADMIN_API_KEY:\?/);
    expect(sipp.volumes).toEqual(['./qa-results:/results']);
  });
});

describe('docker-compose.yml, cluster profile', () => {
  const { postgres, kamailio } = compose.services as Record<'postgres' | 'kamailio', Service>;
  const nodes = [compose.services['node-a'], compose.services['node-b']] as Service[];
  const sample: Record<string, string> = { PUBLIC_IP: '198.51.100.7', SIP_ALLOW: '192.0.2.0/24', ADMIN_API_KEY: 'a'.repeat(40), POSTGRES_PASSWORD: 'p'.repeat(24) };
  const resolve = (value: string): string => value.replace(/\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g, (_m, name: string, kind?: string, rest?: string) => sample[name] ?? (kind === '-' ? (rest ?? '') : ''));

  it('runs PostgreSQL, Kamailio and two nodes only under the cluster profile, each with a health check', () => {
    for (const s of [postgres, kamailio, ...nodes]) {
      expect(s.profiles).toEqual(['cluster']);
      expect(s.healthcheck?.test.length).toBeGreaterThan(1);
    }
    expect(postgres.healthcheck?.test).toEqual(['CMD', 'pg_isready', '-U', 'payment_ivr', '-d', 'payment_ivr']);
    expect(kamailio.healthcheck?.test.join(' ')).toContain('kamcmd -s unixs:/run/kamailio/kamailio_ctl dispatcher.list');
    for (const node of nodes) expect(node.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it("points Kamailio's dispatcher at exactly the nodes' SIP addresses, and gives each node its own ports, RTP range and data volume", () => {
    const env = kamailio.environment ?? {};
    const addresses = nodes.map((n) => `${resolve(n.environment!.SIP_HOST!)}:${n.environment!.SIP_PORT}`);
    expect(resolve(env.KAMAILIO_NODES!).split(',')).toEqual(addresses);
    expect(new Set(addresses).size).toBe(2);
    expect(resolve(env.KAMAILIO_LISTEN!)).toBe('198.51.100.7:5070');
    expect(env.KAMAILIO_CTL_SOCKET).toBe(`unixs:${env.KAMAILIO_RUN_DIR}/kamailio_ctl`);
    const [a, b] = nodes.map((n) => loadConfig(Object.fromEntries(Object.entries(n.environment ?? {}).map(([k, v]) => [k, resolve(String(v))]))));
    expect(a!.HTTP_PORT).not.toBe(b!.HTTP_PORT);
    expect(a!.RTP_PORT_MAX).toBeLessThan(b!.RTP_PORT_MIN);
    expect(nodes.map((n) => n.volumes)).toEqual([['node-a-data:/data'], ['node-b-data:/data']]);
    // Kamailio is on the nodes' host, so its address must be allowed to send them calls.
    for (const config of [a!, b!]) expect(config.SIP_ALLOW).toContain('198.51.100.7/32');
  });

  it('gives the nodes only real settings, the same secrets as the app, and a drain before a stop', () => {
    const known = Object.keys(configSchema.shape);
    for (const node of nodes) {
      const env = node.environment ?? {};
      expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
      expect(env.STORE).toBe('postgres');
      expect(env.DATABASE_URL).toBe('postgresql://payment_ivr:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@127.0.0.1:5432/payment_ivr');
      for (const secret of ['ADMIN_API_KEY', 'VAULT_KEY', 'AUDIT_KEY']) expect(env[secret]).toBe(app.environment?.[secret]);
      expect(Number(node.stop_grace_period?.replace('s', ''))).toBeGreaterThan(Number(env.SHUTDOWN_DRAIN_SECONDS));
      expect(node.read_only).toBe(true);
      expect(node.cap_drop).toEqual(['ALL']);
    }
    expect(postgres.ports).toEqual(['127.0.0.1:5432:5432']);
  });

  it("builds Kamailio from Debian bookworm's own package (5.6) as an unprivileged user owning its run folder", () => {
    const kamailioDockerfile = readFileSync(join(ROOT, 'kamailio/Dockerfile'), 'utf8');
    expect(kamailio.build).toEqual({ context: './kamailio' });
    expect(kamailioDockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(kamailioDockerfile).toMatch(/apt-get install -y --no-install-recommends kamailio/);
    expect(kamailioDockerfile).toMatch(/^USER kamailio$/m);
    const uid = /--uid (\d+)/.exec(kamailioDockerfile)?.[1];
    expect(kamailio.tmpfs).toEqual([`/run/kamailio:uid=${uid},gid=${uid},mode=0700`]);
    expect(kamailio.read_only).toBe(true);
  });
});

/** The lines of one stage of the Dockerfile. */
function stage(name: string): string {
  const stages = dockerfile.split(/^(?=FROM )/m);
  const found = stages.find((s) => new RegExp(`^FROM \\S+ AS ${name}$`, 'm').test(s));
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}

describe('Dockerfile', () => {
  it('builds in stages and runs as an unprivileged user with production dependencies only', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBe(4);
    expect(stage('prod')).toMatch(/^RUN npm prune --omit=dev$/m);
    const runtime = stage('runtime');
    expect(runtime).toMatch(/^FROM node:20-\S+ AS runtime$/m);
    expect(runtime).toMatch(/useradd --system --uid 10001/);
    expect(runtime).toMatch(/^USER ivr$/m);
    expect(runtime).not.toMatch(/^USER (root|0)\b/m);
    expect(runtime).toMatch(/^COPY --from=prod \/app\/node_modules \.\/node_modules$/m);
    expect(runtime).not.toMatch(/--from=build/);
    expect(runtime).not.toMatch(/^COPY (tests|scripts)\b/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/app\/main\.js"\]$/m);
  });

  it('ships every file the app reads at run time', () => {
    const runtime = stage('runtime');
    const paths = Object.values(SHIPPED_FILES).map((path) => relative(projectRoot(), path));
    expect(paths).toContain('ivr/prompts/audio');
    for (const path of paths) expect(runtime, path).toContain(`COPY ${path} ./${path}`);
  });

  it('builds every folder the production build compiles', () => {
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    expect(include).toContain('app');
    for (const folder of include) expect(stage('build'), folder).toMatch(new RegExp(`^COPY ${folder} ${folder}$`, 'm'));
  });

  it('keeps .env out of the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['.env', 'node_modules', 'data', '.git']));
  });
});

describe('.env.example', () => {
  const assignments = new Map([...envExample.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));

  it('names every variable docker-compose.yml reads', () => {
    const used = new Set([...composeText.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1] as string));
    expect([...used].filter((v) => !assignments.has(v))).toEqual([]);
  });

  it('offers AUDIT_KEY, empty (generated at the first start)', () => {
    expect(assignments.get('AUDIT_KEY')).toBe('');
    expect(envExample).toMatch(/audit chain's HMAC-SHA-256 key, at least 32 bytes.*\n.*\nAUDIT_KEY=$/m);
  });

  it('holds no secret value', () => {
    for (const [name, value] of assignments) {
      if (SECRET_SETTINGS.has(name) || /SECRET|_KEY$/.test(name)) expect(value, name).toBe('');
    }
  });
});
