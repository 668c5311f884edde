/**
 * `npm run admin -- <command>`: identities, on the data directory of the
 * configuration (DATA_DIR). No default account or password exists: the first
 * supervisor is made here.
 *
 *   create-user --username U --name "Display Name" --role agent|supervisor [--sip-uri sip:...] --password-stdin
 *   create-api-key --name NAME --role agent|supervisor [--user USERNAME]
 *   list-users
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashApiKey } from '../agent-bridge/identity/authenticator.js';
import { hashPassword } from '../agent-bridge/identity/password-hash.js';
import { resolveAuditKey } from '../app/audit-key.js';
import { ConfigError, loadConfig, type Config } from '../app/config.js';
import { openStores } from '../app/store-adapters.js';

const MIN_PASSWORD = 12;
const ACTOR = { kind: 'system', id: 'admin-cli' } as const;

function fail(message: string): never {
  console.error(`admin: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      username: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      'sip-uri': { type: 'string' },
      user: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
  });
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const auditKey = resolveAuditKey(dataDir, config.AUDIT_KEY);
  if (auditKey.source === 'generated') console.error(`admin: audit key generated in ${auditKey.path} (mode 0600); keep it`);
  const { store, identities, audit } = await openStores(config, dataDir, auditKey.key);
  const role = values.role;
  try {
    switch (command) {
      case 'create-user': {
        if (!values.username || !values.name || (role !== 'agent' && role !== 'supervisor')) {
          fail('create-user needs --username, --name and --role agent|supervisor');
        }
        if (!values['password-stdin']) fail('give the password on standard input with --password-stdin');
        const password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
        if (password.length < MIN_PASSWORD) fail(`the password must have at least ${MIN_PASSWORD} characters`);
        if (values['sip-uri'] && !/^sips?:\S+$/.test(values['sip-uri'])) fail('--sip-uri must be a sip: URI');
        const user = await identities.createUser({
          username: values.username,
          displayName: values.name,
          role,
          sipUri: values['sip-uri'] ?? null,
          passwordHash: await hashPassword(password),
        });
        await audit.append({ sessionId: null, actor: ACTOR, action: 'user-created', detail: { userId: user.id, username: user.username, role } });
        console.log(`created ${role} ${user.username} (${user.id})`);
        break;
      }
      case 'create-api-key': {
        if (!values.name || (role !== 'agent' && role !== 'supervisor')) fail('create-api-key needs --name and --role agent|supervisor');
        const user = values.user ? (await identities.findUserForLogin(values.user))?.user : undefined;
        if (values.user && !user) fail(`no user ${values.user}`);
        const key = `pk_${randomBytes(24).toString('base64url')}`;
        const record = await identities.createApiKey({ name: values.name, role, userId: user?.id ?? null, keyHash: hashApiKey(key) });
        await audit.append({ sessionId: null, actor: ACTOR, action: 'api-key-created', detail: { keyId: record.id, name: record.name, role } });
        // Shown once: only its hash is kept.
        console.log(key);
        break;
      }
      case 'list-users':
        for (const u of await identities.listUsers()) console.log(`${u.username}\t${u.role}\t${u.displayName}\t${u.sipUri ?? '-'}\t${u.id}`);
        break;
      default:
        fail('commands: create-user, create-api-key, list-users');
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
