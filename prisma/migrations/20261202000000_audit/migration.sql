-- Gate 5: the audit trail (DESIGN.md "Gate 5"; src/audit/).
--
-- Each tenant has one hash chain: audit_events.seq increases by exactly 1 per tenant, and
-- hash = SHA-256(prev_hash ‖ canonical JSON of the event) (src/audit/auditHash.ts). The
-- chain head (last seq and hash) is a row of audit_chain_heads that every append locks
-- (FOR UPDATE) in its own transaction: appends of one tenant are serialised, other tenants
-- never wait, and a rolled-back append leaves no hole because the head only moves when
-- the appending transaction commits.
--
-- Append-only: the app role may INSERT and SELECT events, nothing else, and a trigger
-- rejects UPDATE, DELETE and TRUNCATE for every role, the owner included. Only someone who
-- can disable the trigger (the table owner or a superuser) can rewrite history, and the
-- chain shows where; signed checkpoints (audit_checkpoints) show it even when every hash
-- was recomputed. `npm run db:check` verifies all of this.

CREATE TABLE audit_chain_heads (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  seq       bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
  hash      text NOT NULL DEFAULT repeat('0', 64) CHECK (hash ~ '^[0-9a-f]{64}$')
);

CREATE TABLE audit_events (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  seq           bigint NOT NULL CHECK (seq >= 1),
  id            uuid NOT NULL,
  occurred_at   timestamptz(3) NOT NULL,
  actor_subject text,
  -- No foreign key: the record outlives the user account.
  actor_user_id uuid,
  actor_kind    text NOT NULL CHECK (actor_kind IN ('user', 'service', 'system')),
  actor_ip      text,
  action        text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  resource_type text,
  resource_id   text,
  outcome       text NOT NULL CHECK (outcome IN ('SUCCEEDED', 'DENIED', 'FAILED')),
  gate          text,
  reasons       text[] NOT NULL,
  request_id    text,
  trace_id      text,
  decision_ids  text[] NOT NULL,
  decisions     jsonb NOT NULL,
  changes       jsonb,
  prev_hash     text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  PRIMARY KEY (tenant_id, seq)
);
-- Every read path is indexed: by seq (the primary key), by time, by resource, and a
-- decision id a client reports leads to its event.
CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_resource_idx ON audit_events (tenant_id, resource_type, resource_id, seq);
CREATE INDEX audit_events_decision_idx ON audit_events USING gin (decision_ids)
  WHERE decision_ids <> '{}';

-- A chain head signed with the server's Ed25519 key (AUDIT_SIGNING_KEY).
CREATE TABLE audit_checkpoints (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  seq       bigint NOT NULL CHECK (seq >= 0),
  hash      text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  signed_at timestamptz(3) NOT NULL,
  key_id    text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- Statement triggers: refused even when no row would match.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_chain_heads', 'audit_events', 'audit_checkpoints'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL
      USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
      WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
  END LOOP;
END $$;

-- The checkpoint signer (a role the server assumes, like the outbox relay's): reads every
-- tenant's chain head and records checkpoints; no event, no other table. The operator CLI
-- (`npm run audit:verify`, `audit:export`) runs as the owner, assumes it to list the
-- chains, and reads each tenant's events under that tenant's own policy.
CREATE POLICY signer_reads_heads ON audit_chain_heads FOR SELECT TO gatehouse_audit_signer USING (true);
CREATE POLICY signer_reads_checkpoints ON audit_checkpoints FOR SELECT TO gatehouse_audit_signer USING (true);
CREATE POLICY signer_writes_checkpoints ON audit_checkpoints FOR INSERT TO gatehouse_audit_signer WITH CHECK (true);

GRANT SELECT, INSERT ON audit_events TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO gatehouse_app;
GRANT SELECT, INSERT ON audit_checkpoints TO gatehouse_app;
GRANT USAGE ON SCHEMA public TO gatehouse_audit_signer;
GRANT SELECT ON audit_chain_heads TO gatehouse_audit_signer;
GRANT SELECT, INSERT ON audit_checkpoints TO gatehouse_audit_signer;
