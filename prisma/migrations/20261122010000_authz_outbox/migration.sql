-- Transactional outbox for SpiceDB relationships (DESIGN.md gate 2).
--
-- A domain change and its relationship changes commit in the same tenant transaction
-- (the app role may INSERT rows of its own tenant only). The relay applies pending rows to
-- SpiceDB in id order and records the ZedToken it got back, per resource, in authz_tokens,
-- so later checks on that resource can ask SpiceDB for data at least as fresh.
--
-- The relay works across tenants, so it runs as gatehouse_relay: a NOLOGIN role that the
-- app role may SET ROLE to, with access to these two tables only (relationship tuples:
-- ids, never domain data). Every other table stays closed to it.

CREATE TABLE authz_outbox (
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  id               bigint GENERATED ALWAYS AS IDENTITY,
  operation        text NOT NULL CHECK (operation IN ('TOUCH', 'DELETE')),
  resource_type    text NOT NULL,
  resource_id      text NOT NULL,
  relation         text NOT NULL,
  subject_type     text NOT NULL,
  subject_id       text NOT NULL,
  subject_relation text NOT NULL DEFAULT '',
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  applied_at       timestamptz(3),
  zed_token        text,
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  next_attempt_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  -- Object ids are "<tenant>/<id>" (or the tenant itself for organizations): a row can only
  -- describe its own tenant's objects.
  CHECK (resource_id = tenant_id::text OR resource_id LIKE tenant_id::text || '/%'),
  CHECK (subject_id = tenant_id::text OR subject_id LIKE tenant_id::text || '/%')
);
CREATE INDEX authz_outbox_pending_idx ON authz_outbox (id) WHERE applied_at IS NULL;
CREATE INDEX authz_outbox_log_idx ON authz_outbox (id);

CREATE TABLE authz_tokens (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  zed_token     text NOT NULL,
  applied_at    timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, resource_type, resource_id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['authz_outbox', 'authz_tokens'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL
      USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
      WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    EXECUTE format('CREATE POLICY relay_all_tenants ON %I FOR ALL TO gatehouse_relay USING (true) WITH CHECK (true)', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON authz_outbox TO gatehouse_app;
GRANT SELECT ON authz_tokens TO gatehouse_app;
GRANT USAGE ON SCHEMA public TO gatehouse_relay;
GRANT SELECT, UPDATE ON authz_outbox TO gatehouse_relay;
GRANT SELECT, INSERT, UPDATE ON authz_tokens TO gatehouse_relay;

-- Backfill: a database that already holds data when this migration runs gets the
-- relationships of that data into the outbox, so the relay brings SpiceDB up to date.
-- The owner reads and writes across tenants here, so RLS is relaxed for the owner inside
-- this migration's transaction only, and forced again before it commits.
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE teams NO FORCE ROW LEVEL SECURITY;
ALTER TABLE team_memberships NO FORCE ROW LEVEL SECURITY;
ALTER TABLE workflows NO FORCE ROW LEVEL SECURITY;
ALTER TABLE workflow_shares NO FORCE ROW LEVEL SECURITY;
ALTER TABLE authz_outbox NO FORCE ROW LEVEL SECURITY;

INSERT INTO authz_outbox (tenant_id, operation, resource_type, resource_id, relation, subject_type, subject_id)
SELECT tenant_id, 'TOUCH', resource_type, resource_id, relation, subject_type, subject_id
FROM (
  -- users: self and organization (src/authz/RelationshipTuple.ts userTuples)
  SELECT u.tenant_id, 'user' AS resource_type, u.tenant_id || '/' || u.id AS resource_id, 'self' AS relation,
         'user' AS subject_type, u.tenant_id || '/' || u.id AS subject_id, 1 AS ord
    FROM users u
  UNION ALL
  SELECT u.tenant_id, 'user', u.tenant_id || '/' || u.id, 'organization', 'organization', u.tenant_id::text, 2
    FROM users u
  UNION ALL
  SELECT u.tenant_id, 'organization', u.tenant_id::text,
         CASE r WHEN 'ADMIN' THEN 'admin' WHEN 'MEMBER' THEN 'member' WHEN 'VP' THEN 'vice_president' ELSE 'auditor' END,
         'user', u.tenant_id || '/' || u.id, 3
    FROM users u, unnest(u.roles) AS r
  UNION ALL
  -- teams and memberships
  SELECT t.tenant_id, 'team', t.tenant_id || '/' || t.id, 'organization', 'organization', t.tenant_id::text, 4
    FROM teams t
  UNION ALL
  SELECT m.tenant_id, 'team', m.tenant_id || '/' || m.team_id, lower(m.role::text), 'user', m.tenant_id || '/' || m.user_id, 5
    FROM team_memberships m
  UNION ALL
  -- workflows and shares
  SELECT w.tenant_id, 'workflow', w.tenant_id || '/' || w.id, 'organization', 'organization', w.tenant_id::text, 6
    FROM workflows w
  UNION ALL
  SELECT w.tenant_id, 'workflow', w.tenant_id || '/' || w.id, 'owner', 'user', w.tenant_id || '/' || w.owner_id, 7
    FROM workflows w
  UNION ALL
  SELECT w.tenant_id, 'workflow', w.tenant_id || '/' || w.id, 'team', 'team', w.tenant_id || '/' || w.team_id, 8
    FROM workflows w WHERE w.team_id IS NOT NULL
  UNION ALL
  SELECT s.tenant_id, 'workflow', s.tenant_id || '/' || s.workflow_id, lower(s.role::text), 'user', s.tenant_id || '/' || s.user_id, 9
    FROM workflow_shares s
) AS existing
ORDER BY ord;

ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE teams FORCE ROW LEVEL SECURITY;
ALTER TABLE team_memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE workflows FORCE ROW LEVEL SECURITY;
ALTER TABLE workflow_shares FORCE ROW LEVEL SECURITY;
ALTER TABLE authz_outbox FORCE ROW LEVEL SECURITY;
