import type { Database } from 'better-sqlite3';

/**
 * Schema versions, applied in order inside one transaction each and tracked
 * with PRAGMA user_version. Never edit a shipped migration: add the next one.
 * No table has a column that could hold a PAN, expiry or security code.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE payment_sessions (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('direct', 'agent-assisted')),
    reference TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending','capturing','authorising','approved','declined','failed','abandoned','cancelled','in_doubt','error')),
    card_brand TEXT,
    card_last4 TEXT CHECK (card_last4 IS NULL OR (length(card_last4) = 4 AND card_last4 GLOB '[0-9][0-9][0-9][0-9]')),
    psp_reference TEXT,
    auth_code TEXT,
    decline_reason TEXT,
    idempotency_key TEXT UNIQUE,
    call_id TEXT,
    language TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX payment_sessions_reference ON payment_sessions (reference);
  CREATE INDEX payment_sessions_status ON payment_sessions (status);

  CREATE TABLE capture_attempts (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    field TEXT NOT NULL CHECK (field IN ('card-number', 'expiry', 'security-code')),
    attempt INTEGER NOT NULL CHECK (attempt >= 1),
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX capture_attempts_session ON capture_attempts (session_id);

  CREATE TABLE authorisations (
    idempotency_key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    psp TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'declined', 'error', 'in_doubt')),
    psp_reference TEXT,
    detail TEXT,
    requested_at TEXT NOT NULL,
    resolved_at TEXT
  );
  CREATE INDEX authorisations_state ON authorisations (state);

  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    session_id TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_log_session ON audit_log (session_id);
  -- The trail is append-only, in the database too (PCI DSS 4.0 req. 10.3.2).
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

  CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
  `,
  // 2: agents and supervisors, CTI API keys, and agent-assisted sessions.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
    sip_uri TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
    user_id TEXT REFERENCES users (id),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  ALTER TABLE payment_sessions ADD COLUMN agent_id TEXT REFERENCES users (id);
  ALTER TABLE payment_sessions ADD COLUMN session_code TEXT;
  ALTER TABLE payment_sessions ADD COLUMN agent_uri TEXT;
  ALTER TABLE payment_sessions ADD COLUMN auto_capture INTEGER NOT NULL DEFAULT 1;
  CREATE UNIQUE INDEX payment_sessions_code ON payment_sessions (session_code) WHERE session_code IS NOT NULL;
  CREATE INDEX payment_sessions_agent ON payment_sessions (agent_id);
  `,
];

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
