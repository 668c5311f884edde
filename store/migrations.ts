import type { Database } from 'better-sqlite3';
import { SchemaVersionError } from './store-errors.js';

/**
 * One schema version in both dialects. PostgreSQL's text differs where the
 * dialects do: identity columns for SQLite's rowid, CHECK constraints and
 * PL/pgSQL triggers for SQLite's BEFORE triggers, ALTER ... CONSTRAINT where
 * SQLite must rebuild a table. Applied by migrate() here and by
 * store/postgres-migrate.ts.
 */
export interface Migration {
  readonly sqlite: string;
  readonly postgres: string;
}

/**
 * Schema versions, applied in order inside one transaction each and tracked
 * with PRAGMA user_version (version n = the first n entries applied). Never
 * edit a shipped migration: add the next one. No table has a column that
 * could hold a PAN, expiry or security code (PCI DSS 4.0 req. 3.2.1).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    sqlite: `
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
    postgres: `
  CREATE TABLE payment_sessions (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('direct', 'agent-assisted')),
    reference TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending','capturing','authorising','approved','declined','failed','abandoned','cancelled','in_doubt','error')),
    card_brand TEXT,
    card_last4 TEXT CHECK (card_last4 IS NULL OR card_last4 ~ '^[0-9]{4}$'),
    psp_reference TEXT,
    auth_code TEXT,
    decline_reason TEXT,
    idempotency_key TEXT UNIQUE,
    call_id TEXT,
    language TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- SQLite's rowid: the order rows were written in.
    row_order BIGINT GENERATED ALWAYS AS IDENTITY
  );
  CREATE INDEX payment_sessions_reference ON payment_sessions (reference);
  CREATE INDEX payment_sessions_status ON payment_sessions (status);

  CREATE TABLE capture_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    resolved_at TEXT,
    row_order BIGINT GENERATED ALWAYS AS IDENTITY
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
  CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

  CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
  `,
  },
  // 2: agents and supervisors, CTI API keys, and agent-assisted sessions.
  {
    sqlite: `
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
    postgres: `
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
  },
  // 3: the checks migration 1 left to the code. SQLite cannot add a CHECK to an
  // existing table without rebuilding it, so these are BEFORE triggers. The
  // brand and decline-reason lists also mean neither column can ever hold card
  // digits (PCI DSS 4.0 req. 3.3.1); a new brand or reason needs a migration.
  {
    sqlite: `
  CREATE TRIGGER payment_sessions_check_insert BEFORE INSERT ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;
  CREATE TRIGGER payment_sessions_check_update BEFORE UPDATE OF amount_minor, card_brand, decline_reason ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;

  CREATE TRIGGER authorisations_check_insert BEFORE INSERT ON authorisations
    WHEN typeof(NEW.amount_minor) <> 'integer' OR NEW.amount_minor < 0
      OR NOT (length(NEW.currency) = 3 AND NEW.currency GLOB '[A-Z][A-Z][A-Z]')
    BEGIN SELECT RAISE(ABORT, 'authorisations: amount_minor must be an integer >= 0, currency three capital letters'); END;
  -- What was asked of the PSP is fixed once written; only the answer changes.
  CREATE TRIGGER authorisations_intent_fixed BEFORE UPDATE OF idempotency_key, session_id, psp, amount_minor, currency, requested_at ON authorisations
    BEGIN SELECT RAISE(ABORT, 'authorisations: the intent cannot change'); END;

  CREATE TRIGGER audit_log_check_insert BEFORE INSERT ON audit_log
    WHEN NEW.actor_kind NOT IN ('call','agent','supervisor','api-key','system')
      OR length(NEW.prev_hash) <> 64 OR length(NEW.hash) <> 64 OR NOT json_valid(NEW.detail)
    BEGIN SELECT RAISE(ABORT, 'audit_log: bad actor kind, hash or detail'); END;
  `,
    postgres: `
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_card_brand
    CHECK (card_brand IS NULL OR card_brand IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'));
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_decline_reason
    CHECK (decline_reason IS NULL OR decline_reason IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'));
  ALTER TABLE authorisations ADD CONSTRAINT authorisations_amount_minor CHECK (amount_minor >= 0);
  ALTER TABLE authorisations ADD CONSTRAINT authorisations_currency CHECK (currency ~ '^[A-Z]{3}$');
  -- What was asked of the PSP is fixed once written; only the answer changes.
  CREATE FUNCTION authorisations_intent_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'authorisations: the intent cannot change'; END $$;
  CREATE TRIGGER authorisations_intent_fixed BEFORE UPDATE OF idempotency_key, session_id, psp, amount_minor, currency, requested_at ON authorisations
    FOR EACH ROW EXECUTE FUNCTION authorisations_intent_fixed();
  ALTER TABLE audit_log ADD CONSTRAINT audit_log_checks CHECK (
    actor_kind IN ('call','agent','supervisor','api-key','system')
    AND length(prev_hash) = 64 AND length(hash) = 64 AND detail::json IS NOT NULL);
  `,
  },
  // 4: real PSPs. Sessions that store the card at the PSP for repeat payments;
  // the PSP's reusable token (its own identifiers, never card data: PCI DSS 4.0
  // req. 3.2.1); refunds and voids with their idempotency keys; and the PSP's
  // asynchronous notifications (Adyen webhooks), reduced to what reconciling needs.
  {
    sqlite: `
  ALTER TABLE payment_sessions ADD COLUMN tokenise INTEGER NOT NULL DEFAULT 0 CHECK (tokenise IN (0, 1));
  ALTER TABLE payment_sessions ADD COLUMN customer_reference TEXT;

  CREATE TABLE payment_tokens (
    session_id TEXT PRIMARY KEY REFERENCES payment_sessions (id),
    psp TEXT NOT NULL,
    token TEXT NOT NULL,
    customer TEXT NOT NULL,
    card_brand TEXT CHECK (card_brand IS NULL OR card_brand IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro')),
    card_last4 TEXT CHECK (card_last4 IS NULL OR (length(card_last4) = 4 AND card_last4 GLOB '[0-9][0-9][0-9][0-9]')),
    created_at TEXT NOT NULL
  );

  CREATE TABLE reversals (
    idempotency_key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'void')),
    psp TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
    state TEXT NOT NULL CHECK (state IN ('requested', 'pending', 'succeeded', 'refused', 'error', 'in_doubt')),
    psp_reference TEXT,
    detail TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    resolved_at TEXT
  );
  CREATE INDEX reversals_session ON reversals (session_id);
  CREATE INDEX reversals_psp_reference ON reversals (psp_reference);
  CREATE TRIGGER reversals_intent_fixed BEFORE UPDATE OF idempotency_key, session_id, kind, psp, amount_minor, currency, requested_at ON reversals
    BEGIN SELECT RAISE(ABORT, 'reversals: the request cannot change'); END;

  CREATE TABLE psp_notifications (
    psp TEXT NOT NULL,
    event_code TEXT NOT NULL,
    psp_reference TEXT NOT NULL,
    original_reference TEXT,
    merchant_reference TEXT NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    detail TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (psp, event_code, psp_reference)
  );
  CREATE INDEX psp_notifications_merchant_reference ON psp_notifications (merchant_reference);
  CREATE INDEX psp_notifications_original_reference ON psp_notifications (original_reference);
  `,
    postgres: `
  ALTER TABLE payment_sessions ADD COLUMN tokenise INTEGER NOT NULL DEFAULT 0 CHECK (tokenise IN (0, 1));
  ALTER TABLE payment_sessions ADD COLUMN customer_reference TEXT;

  CREATE TABLE payment_tokens (
    session_id TEXT PRIMARY KEY REFERENCES payment_sessions (id),
    psp TEXT NOT NULL,
    token TEXT NOT NULL,
    customer TEXT NOT NULL,
    card_brand TEXT CHECK (card_brand IS NULL OR card_brand IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro')),
    card_last4 TEXT CHECK (card_last4 IS NULL OR card_last4 ~ '^[0-9]{4}$'),
    created_at TEXT NOT NULL
  );

  CREATE TABLE reversals (
    idempotency_key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    kind TEXT NOT NULL CONSTRAINT reversals_kind CHECK (kind IN ('refund', 'void')),
    psp TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    state TEXT NOT NULL CHECK (state IN ('requested', 'pending', 'succeeded', 'refused', 'error', 'in_doubt')),
    psp_reference TEXT,
    detail TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    resolved_at TEXT,
    row_order BIGINT GENERATED ALWAYS AS IDENTITY
  );
  CREATE INDEX reversals_session ON reversals (session_id);
  CREATE INDEX reversals_psp_reference ON reversals (psp_reference);
  CREATE FUNCTION reversals_intent_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'reversals: the request cannot change'; END $$;
  CREATE TRIGGER reversals_intent_fixed BEFORE UPDATE OF idempotency_key, session_id, kind, psp, amount_minor, currency, requested_at ON reversals
    FOR EACH ROW EXECUTE FUNCTION reversals_intent_fixed();

  CREATE TABLE psp_notifications (
    psp TEXT NOT NULL,
    event_code TEXT NOT NULL,
    psp_reference TEXT NOT NULL,
    original_reference TEXT,
    merchant_reference TEXT NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    detail TEXT,
    received_at TEXT NOT NULL,
    row_order BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (psp, event_code, psp_reference)
  );
  CREATE INDEX psp_notifications_merchant_reference ON psp_notifications (merchant_reference);
  CREATE INDEX psp_notifications_original_reference ON psp_notifications (original_reference);
  `,
  },
  // 5: access tokens revoked at logout. A row lives until the token would have
  // expired anyway (then it is pruned), so a restart, or another process on
  // the same database, refuses the token too.
  {
    sqlite: `
  CREATE TABLE revoked_tokens (
    token_id TEXT PRIMARY KEY,
    refused_until TEXT NOT NULL,
    revoked_at TEXT NOT NULL
  );
  CREATE INDEX revoked_tokens_refused_until ON revoked_tokens (refused_until);
  `,
    postgres: `
  CREATE TABLE revoked_tokens (
    token_id TEXT PRIMARY KEY,
    refused_until TEXT NOT NULL,
    revoked_at TEXT NOT NULL
  );
  CREATE INDEX revoked_tokens_refused_until ON revoked_tokens (refused_until);
  `,
  },
  // 6: the audit chain is keyed (HMAC-SHA-256 with AUDIT_KEY, audit-chain.ts).
  // Rows already written stay chained by plain SHA-256; `audit_chain` fixes,
  // once, the seq the keyed chain starts at, so no row from there on can be
  // passed off as an unkeyed one. Each keyed row names its key (key_id).
  {
    sqlite: `
  ALTER TABLE audit_log ADD COLUMN key_id TEXT;
  CREATE TABLE audit_chain (id INTEGER PRIMARY KEY CHECK (id = 1), keyed_from_seq INTEGER NOT NULL);
  INSERT INTO audit_chain (id, keyed_from_seq) SELECT 1, COALESCE(MAX(seq), 0) + 1 FROM audit_log;
  CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
    BEGIN SELECT RAISE(ABORT, 'audit_chain is fixed'); END;
  CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
    BEGIN SELECT RAISE(ABORT, 'audit_chain is fixed'); END;
  CREATE TRIGGER audit_log_keyed BEFORE INSERT ON audit_log
    WHEN NEW.key_id IS NULL OR length(NEW.key_id) <> 16
    BEGIN SELECT RAISE(ABORT, 'audit_log: a new row is chained with the key (key_id)'); END;
  `,
    postgres: `
  ALTER TABLE audit_log ADD COLUMN key_id TEXT;
  CREATE TABLE audit_chain (id INTEGER PRIMARY KEY CHECK (id = 1), keyed_from_seq INTEGER NOT NULL);
  INSERT INTO audit_chain (id, keyed_from_seq) SELECT 1, COALESCE(MAX(seq), 0) + 1 FROM audit_log;
  CREATE FUNCTION audit_chain_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_chain is fixed'; END $$;
  CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_fixed();
  CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_fixed();
  -- New rows only: the ones written before the key have none.
  ALTER TABLE audit_log ADD CONSTRAINT audit_log_keyed CHECK (key_id IS NOT NULL AND length(key_id) = 16) NOT VALID;
  `,
  },
  // 7: the short reference an approved payment is given (spoken to the caller,
  // printed on receipts), unique so that quoting it finds one payment; and an
  // index to find a payment by the PSP's reference. Payments approved before
  // this version have none (their callers heard the authorisation code).
  {
    sqlite: `
  ALTER TABLE payment_sessions ADD COLUMN confirmation TEXT;
  CREATE UNIQUE INDEX payment_sessions_confirmation ON payment_sessions (confirmation) WHERE confirmation IS NOT NULL;
  CREATE INDEX payment_sessions_psp_reference ON payment_sessions (psp_reference);
  `,
    postgres: `
  ALTER TABLE payment_sessions ADD COLUMN confirmation TEXT;
  CREATE UNIQUE INDEX payment_sessions_confirmation ON payment_sessions (confirmation) WHERE confirmation IS NOT NULL;
  CREATE INDEX payment_sessions_psp_reference ON payment_sessions (psp_reference);
  `,
  },
  // 8: merchant-initiated charges on a stored card (no caller, no card data):
  // a third mode, and the PSP token the session charged. The mode's CHECK
  // cannot be altered in place, so the table is rebuilt as SQLite's ALTER
  // TABLE page says (sqlite.org/lang_altertable.html §7, foreign keys off:
  // see migrate()), with its indexes and the triggers of migration 3.
  {
    sqlite: `
  CREATE TABLE payment_sessions_v8 (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('direct', 'agent-assisted', 'merchant-initiated')),
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
    updated_at TEXT NOT NULL,
    agent_id TEXT REFERENCES users (id),
    session_code TEXT,
    agent_uri TEXT,
    auto_capture INTEGER NOT NULL DEFAULT 1,
    tokenise INTEGER NOT NULL DEFAULT 0 CHECK (tokenise IN (0, 1)),
    customer_reference TEXT,
    confirmation TEXT,
    stored_card_token TEXT,
    CHECK ((mode = 'merchant-initiated') = (stored_card_token IS NOT NULL))
  );
  INSERT INTO payment_sessions_v8 (id, mode, reference, amount_minor, currency, description, status, card_brand, card_last4, psp_reference,
      auth_code, decline_reason, idempotency_key, call_id, language, created_at, updated_at, agent_id, session_code, agent_uri,
      auto_capture, tokenise, customer_reference, confirmation)
    SELECT id, mode, reference, amount_minor, currency, description, status, card_brand, card_last4, psp_reference,
      auth_code, decline_reason, idempotency_key, call_id, language, created_at, updated_at, agent_id, session_code, agent_uri,
      auto_capture, tokenise, customer_reference, confirmation
    FROM payment_sessions;
  DROP TABLE payment_sessions;
  ALTER TABLE payment_sessions_v8 RENAME TO payment_sessions;
  CREATE INDEX payment_sessions_reference ON payment_sessions (reference);
  CREATE INDEX payment_sessions_status ON payment_sessions (status);
  CREATE UNIQUE INDEX payment_sessions_code ON payment_sessions (session_code) WHERE session_code IS NOT NULL;
  CREATE INDEX payment_sessions_agent ON payment_sessions (agent_id);
  CREATE UNIQUE INDEX payment_sessions_confirmation ON payment_sessions (confirmation) WHERE confirmation IS NOT NULL;
  CREATE INDEX payment_sessions_psp_reference ON payment_sessions (psp_reference);
  CREATE TRIGGER payment_sessions_check_insert BEFORE INSERT ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;
  CREATE TRIGGER payment_sessions_check_update BEFORE UPDATE OF amount_minor, card_brand, decline_reason ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;
  CREATE INDEX payment_tokens_token ON payment_tokens (token);
  `,
    postgres: `
  ALTER TABLE payment_sessions DROP CONSTRAINT payment_sessions_mode_check;
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_mode_check CHECK (mode IN ('direct', 'agent-assisted', 'merchant-initiated'));
  ALTER TABLE payment_sessions ADD COLUMN stored_card_token TEXT;
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_stored_card_check CHECK ((mode = 'merchant-initiated') = (stored_card_token IS NOT NULL));
  CREATE INDEX payment_tokens_token ON payment_tokens (token);
  `,
  },
  // 9: captures of authorised payments (PSP_CAPTURE=manual) are kept with the
  // refunds and voids: the same intent, idempotency key and PSP answer. The
  // kind's CHECK is widened by rebuilding the table (nothing points at it).
  {
    sqlite: `
  CREATE TABLE reversals_v9 (
    idempotency_key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'refund', 'void')),
    psp TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
    state TEXT NOT NULL CHECK (state IN ('requested', 'pending', 'succeeded', 'refused', 'error', 'in_doubt')),
    psp_reference TEXT,
    detail TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    resolved_at TEXT
  );
  INSERT INTO reversals_v9 SELECT idempotency_key, session_id, kind, psp, amount_minor, currency, state, psp_reference, detail,
    actor_kind, actor_id, requested_at, resolved_at FROM reversals;
  DROP TABLE reversals;
  ALTER TABLE reversals_v9 RENAME TO reversals;
  CREATE INDEX reversals_session ON reversals (session_id);
  CREATE INDEX reversals_psp_reference ON reversals (psp_reference);
  CREATE TRIGGER reversals_intent_fixed BEFORE UPDATE OF idempotency_key, session_id, kind, psp, amount_minor, currency, requested_at ON reversals
    BEGIN SELECT RAISE(ABORT, 'reversals: the request cannot change'); END;
  `,
    postgres: `
  ALTER TABLE reversals DROP CONSTRAINT reversals_kind;
  ALTER TABLE reversals ADD CONSTRAINT reversals_kind CHECK (kind IN ('capture', 'refund', 'void'));
  `,
  },
  // 10: payment links sent by text message. A session may be made for a link
  // (mode 'link') and goes link-sent → approved | declined | expired; the mode
  // and status CHECKs are widened (SQLite: by rebuilding the table as
  // migration 8 did, with its indexes and triggers). Each link the PSP made is kept (its id,
  // URL, the E.164 number it went to, its state); the sandbox SMS outbox keeps
  // the messages it "sent" for demos and tests. No card data: the card is
  // keyed on the PSP's own page.
  {
    sqlite: `
  CREATE TABLE payment_sessions_v10 (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('direct', 'agent-assisted', 'merchant-initiated', 'link')),
    reference TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending','capturing','authorising','approved','declined','failed','abandoned','cancelled','in_doubt','error','link-sent','expired')),
    card_brand TEXT,
    card_last4 TEXT CHECK (card_last4 IS NULL OR (length(card_last4) = 4 AND card_last4 GLOB '[0-9][0-9][0-9][0-9]')),
    psp_reference TEXT,
    auth_code TEXT,
    decline_reason TEXT,
    idempotency_key TEXT UNIQUE,
    call_id TEXT,
    language TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    agent_id TEXT REFERENCES users (id),
    session_code TEXT,
    agent_uri TEXT,
    auto_capture INTEGER NOT NULL DEFAULT 1,
    tokenise INTEGER NOT NULL DEFAULT 0 CHECK (tokenise IN (0, 1)),
    customer_reference TEXT,
    confirmation TEXT,
    stored_card_token TEXT,
    CHECK ((mode = 'merchant-initiated') = (stored_card_token IS NOT NULL))
  );
  INSERT INTO payment_sessions_v10 SELECT id, mode, reference, amount_minor, currency, description, status, card_brand, card_last4, psp_reference,
      auth_code, decline_reason, idempotency_key, call_id, language, created_at, updated_at, agent_id, session_code, agent_uri,
      auto_capture, tokenise, customer_reference, confirmation, stored_card_token
    FROM payment_sessions;
  DROP TABLE payment_sessions;
  ALTER TABLE payment_sessions_v10 RENAME TO payment_sessions;
  CREATE INDEX payment_sessions_reference ON payment_sessions (reference);
  CREATE INDEX payment_sessions_status ON payment_sessions (status);
  CREATE UNIQUE INDEX payment_sessions_code ON payment_sessions (session_code) WHERE session_code IS NOT NULL;
  CREATE INDEX payment_sessions_agent ON payment_sessions (agent_id);
  CREATE UNIQUE INDEX payment_sessions_confirmation ON payment_sessions (confirmation) WHERE confirmation IS NOT NULL;
  CREATE INDEX payment_sessions_psp_reference ON payment_sessions (psp_reference);
  CREATE TRIGGER payment_sessions_check_insert BEFORE INSERT ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;
  CREATE TRIGGER payment_sessions_check_update BEFORE UPDATE OF amount_minor, card_brand, decline_reason ON payment_sessions
    WHEN typeof(NEW.amount_minor) <> 'integer'
      OR (NEW.card_brand IS NOT NULL AND NEW.card_brand NOT IN ('visa','mastercard','amex','discover','diners','jcb','unionpay','maestro'))
      OR (NEW.decline_reason IS NOT NULL AND NEW.decline_reason NOT IN ('generic-decline','insufficient-funds','expired-card','incorrect-security-code','card-not-supported','fraud-suspected','do-not-honour'))
    BEGIN SELECT RAISE(ABORT, 'payment_sessions: amount_minor must be an integer, card_brand and decline_reason from their lists'); END;

  CREATE TABLE payment_links (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    provider TEXT NOT NULL,
    provider_link_id TEXT NOT NULL,
    url TEXT NOT NULL,
    phone TEXT NOT NULL CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 8 AND 16),
    state TEXT NOT NULL CHECK (state IN ('active', 'paid', 'declined', 'expired', 'cancelled')),
    valid_until TEXT NOT NULL,
    psp_reference TEXT,
    created_at TEXT NOT NULL,
    settled_at TEXT,
    UNIQUE (provider, provider_link_id)
  );
  CREATE INDEX payment_links_session ON payment_links (session_id);
  CREATE INDEX payment_links_state ON payment_links (state);

  CREATE TABLE sms_outbox (
    id TEXT PRIMARY KEY,
    session_id TEXT REFERENCES payment_sessions (id),
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL
  );
  CREATE INDEX sms_outbox_session ON sms_outbox (session_id);
  `,
    postgres: `
  ALTER TABLE payment_sessions DROP CONSTRAINT payment_sessions_mode_check;
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_mode_check CHECK (mode IN ('direct', 'agent-assisted', 'merchant-initiated', 'link'));
  ALTER TABLE payment_sessions DROP CONSTRAINT payment_sessions_status_check;
  ALTER TABLE payment_sessions ADD CONSTRAINT payment_sessions_status_check CHECK (status IN ('pending','capturing','authorising','approved','declined','failed','abandoned','cancelled','in_doubt','error','link-sent','expired'));

  CREATE TABLE payment_links (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    provider TEXT NOT NULL,
    provider_link_id TEXT NOT NULL,
    url TEXT NOT NULL,
    phone TEXT NOT NULL CHECK (phone ~ '^[+][1-9]' AND length(phone) BETWEEN 8 AND 16),
    state TEXT NOT NULL CHECK (state IN ('active', 'paid', 'declined', 'expired', 'cancelled')),
    valid_until TEXT NOT NULL,
    psp_reference TEXT,
    created_at TEXT NOT NULL,
    settled_at TEXT,
    row_order BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (provider, provider_link_id)
  );
  CREATE INDEX payment_links_session ON payment_links (session_id);
  CREATE INDEX payment_links_state ON payment_links (state);

  CREATE TABLE sms_outbox (
    id TEXT PRIMARY KEY,
    session_id TEXT REFERENCES payment_sessions (id),
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    row_order BIGINT GENERATED ALWAYS AS IDENTITY
  );
  CREATE INDEX sms_outbox_session ON sms_outbox (session_id);
  `,
  },
  // 11: every text message sent is kept in the outbox, whichever provider sent
  // it, with the provider's id of it and its delivery as the provider's signed
  // status callbacks report it (Twilio's StatusCallback, Vonage's delivery
  // receipts): submitted → sent → delivered | undelivered | failed, with the
  // provider's error code. The link a message carried is named. Rows kept by
  // the sandbox before are its own: their id is the provider's id.
  {
    sqlite: `
  ALTER TABLE sms_outbox ADD COLUMN provider TEXT NOT NULL DEFAULT 'sandbox';
  ALTER TABLE sms_outbox ADD COLUMN provider_message_id TEXT;
  ALTER TABLE sms_outbox ADD COLUMN link_id TEXT REFERENCES payment_links (id);
  ALTER TABLE sms_outbox ADD COLUMN delivery TEXT NOT NULL DEFAULT 'submitted'
    CHECK (delivery IN ('submitted', 'sent', 'delivered', 'undelivered', 'failed'));
  ALTER TABLE sms_outbox ADD COLUMN delivery_error TEXT;
  ALTER TABLE sms_outbox ADD COLUMN delivery_at TEXT;
  UPDATE sms_outbox SET provider_message_id = id;
  CREATE UNIQUE INDEX sms_outbox_provider_message ON sms_outbox (provider, provider_message_id);
  CREATE INDEX sms_outbox_link ON sms_outbox (link_id);
  `,
    // The same statements: PostgreSQL takes a column's CHECK and REFERENCES in ADD COLUMN too.
    postgres: `
  ALTER TABLE sms_outbox ADD COLUMN provider TEXT NOT NULL DEFAULT 'sandbox';
  ALTER TABLE sms_outbox ADD COLUMN provider_message_id TEXT;
  ALTER TABLE sms_outbox ADD COLUMN link_id TEXT REFERENCES payment_links (id);
  ALTER TABLE sms_outbox ADD COLUMN delivery TEXT NOT NULL DEFAULT 'submitted'
    CHECK (delivery IN ('submitted', 'sent', 'delivered', 'undelivered', 'failed'));
  ALTER TABLE sms_outbox ADD COLUMN delivery_error TEXT;
  ALTER TABLE sms_outbox ADD COLUMN delivery_at TEXT;
  UPDATE sms_outbox SET provider_message_id = id;
  CREATE UNIQUE INDEX sms_outbox_provider_message ON sms_outbox (provider, provider_message_id);
  CREATE INDEX sms_outbox_link ON sms_outbox (link_id);
  `,
  },
  // 12: several nodes on one database. Each node's heartbeat row (NODE_ID),
  // and the node whose call holds a session: a node that restarts recovers
  // its own sessions only.
  {
    sqlite: `
  CREATE TABLE nodes (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL);
  ALTER TABLE payment_sessions ADD COLUMN node_id TEXT;
  CREATE INDEX payment_sessions_node ON payment_sessions (node_id, status);
  `,
    postgres: `
  CREATE TABLE nodes (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL);
  ALTER TABLE payment_sessions ADD COLUMN node_id TEXT;
  CREATE INDEX payment_sessions_node ON payment_sessions (node_id, status);
  `,
  },
  // 13: agent commands between nodes. A command sent to one node's API for
  // a call another node holds is a row for that node (which a notification
  // wakes); the node applies it and answers once: applied, not-joined or
  // rejected, unless the sender gave up first (unanswered). A command names
  // a field, never what was keyed.
  {
    sqlite: `
  CREATE TABLE agent_commands (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    node_id TEXT NOT NULL,
    command TEXT NOT NULL CHECK (command IN ('capture', 'recapture', 'cancel', 'complete')),
    field TEXT CHECK (field IS NULL OR field IN ('card-number', 'expiry', 'security-code')),
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sent', 'applied', 'not-joined', 'rejected', 'unanswered')),
    detail TEXT,
    sent_at TEXT NOT NULL,
    answered_at TEXT
  );
  CREATE INDEX agent_commands_waiting ON agent_commands (node_id, state);
  CREATE INDEX agent_commands_session ON agent_commands (session_id);
  `,
    postgres: `
  CREATE TABLE agent_commands (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES payment_sessions (id),
    node_id TEXT NOT NULL,
    command TEXT NOT NULL CHECK (command IN ('capture', 'recapture', 'cancel', 'complete')),
    field TEXT CHECK (field IS NULL OR field IN ('card-number', 'expiry', 'security-code')),
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sent', 'applied', 'not-joined', 'rejected', 'unanswered')),
    detail TEXT,
    sent_at TEXT NOT NULL,
    answered_at TEXT
  );
  CREATE INDEX agent_commands_waiting ON agent_commands (node_id, state);
  CREATE INDEX agent_commands_session ON agent_commands (session_id);
  `,
  },
  // 14: the masked progress stream, shared by the nodes: each frame with its
  // per-session sequence number, so a console that resumes on another node
  // reads what it missed. No foreign key: a direct-pay call's first frames
  // may come before its session's row. A frame is a masked ProgressEvent
  // (the last four digits at most, PCI DSS 4.0 req. 3.4.1), never what was keyed.
  {
    sqlite: `
  CREATE TABLE progress_frames (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  `,
    postgres: `
  CREATE TABLE progress_frames (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  `,
  },
  // 15: what the retention job (agent-bridge/stream/shared-stream-retention.ts) deletes by: a session's
  // frames once its newest is old, and agent commands answered long ago.
  {
    sqlite: `
  CREATE INDEX progress_frames_at ON progress_frames (at);
  CREATE INDEX agent_commands_answered ON agent_commands (answered_at);
  `,
    postgres: `
  CREATE INDEX progress_frames_at ON progress_frames (at);
  CREATE INDEX agent_commands_answered ON agent_commands (answered_at);
  `,
  },
];

/**
 * Brings the schema up to date: each pending migration runs in its own
 * IMMEDIATE transaction that re-reads the version first, so two processes
 * opening the same file at once cannot both apply it. Returns the version.
 *
 * Foreign keys are off while migrations run (a table rebuilt under its
 * children would otherwise be emptied by its DROP: sqlite.org/lang_altertable.html §7)
 * and each migration must leave none broken (PRAGMA foreign_key_check) to commit.
 */
export function migrate(db: Database): number {
  const step = db.transaction((): boolean => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) throw new SchemaVersionError(current, MIGRATIONS.length);
    if (current === MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[current]!.sqlite);
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migration ${current + 1} leaves ${broken.length} foreign key(s) broken`);
    // PRAGMA takes no bound parameters; the value is our own integer.
    db.pragma(`user_version = ${current + 1}`);
    return true;
  });
  // A no-op inside a transaction: switched around them.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    while (step.immediate()) {
      // one migration per transaction
    }
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
  return MIGRATIONS.length;
}
