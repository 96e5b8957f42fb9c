-- Service accounts and their API keys (issue 12, gate 1): storage and the one narrow path
-- that reads across tenants. The GraphQL operations that manage them come later; nothing
-- here changes what a client sees.
--
-- A key is `ghk_<id>_<secret>` (src/authn/apiKeys.ts). `id` (24 hex characters, 96 random
-- bits) is public and globally unique; the secret is never stored: `hash` is
-- HMAC-SHA256(API_KEY_PEPPER, key), so a copy of this table (backup, replica, log) does
-- not yield a usable key without the server's pepper.
--
-- Both tables are tenant tables like every other one: FORCE RLS with the exact tenant
-- predicate, DML for the app role inside its tenant transaction.
--
-- A request that presents an API key has no tenant yet: the key says which. The only way
-- to reach a key without knowing its tenant is api_key_lookup(id), a SECURITY DEFINER
-- function owned by gatehouse_key_reader: a NOLOGIN role whose RLS policies see every
-- tenant's rows of these two tables, and whose grants are the few columns the lookup
-- reads plus api_keys.last_used_at (api_keys_touch). The app role may EXECUTE the two
-- functions and is not a member of the role, so it cannot read keys across tenants any
-- other way. `npm run db:check` verifies all of this.
--
-- Ownership: ALTER FUNCTION … OWNER TO needs the migrating role to be a member of the new
-- owner (PostgreSQL 15: membership; 16+: membership WITH SET, the default), and the new
-- owner to hold CREATE on the function's schema. db:setup (and the embedded database's
-- provisioning) makes the owner role a member of gatehouse_key_reader and the owner of
-- `public`; CREATE on `public` is granted to gatehouse_key_reader only for the two
-- ALTERs below and revoked again in this transaction. A later migration that replaces a
-- function does the same.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse_key_reader') THEN
    RAISE EXCEPTION 'role gatehouse_key_reader does not exist: run npm run db:setup (it creates it) before db:migrate';
  END IF;
  IF NOT pg_has_role(current_user, 'gatehouse_key_reader', 'MEMBER') THEN
    RAISE EXCEPTION '% is not a member of gatehouse_key_reader: run npm run db:setup before db:migrate', current_user;
  END IF;
END $$;

CREATE TABLE service_accounts (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  id             uuid NOT NULL,
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description    text CHECK (length(description) <= 2000),
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz(3) NOT NULL DEFAULT now(),
  deactivated_at timestamptz(3),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name),
  CHECK (active = (deactivated_at IS NULL))
);

CREATE TABLE api_keys (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 text NOT NULL CHECK (id ~ '^[0-9a-f]{24}$'),
  service_account_id uuid NOT NULL,
  hash               bytea NOT NULL CHECK (length(hash) = 32),
  last_four          text NOT NULL CHECK (last_four ~ '^[A-Za-z0-9_-]{4}$'),
  scopes             text[] NOT NULL CHECK (array_position(scopes, NULL) IS NULL),
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  expires_at         timestamptz(3),
  revoked_at         timestamptz(3),
  last_used_at       timestamptz(3),
  -- The id of the key this one rotated, for the rotation operations to come.
  replaces           text CHECK (replaces ~ '^[0-9a-f]{24}$' AND replaces <> id),
  PRIMARY KEY (tenant_id, id),
  -- Globally unique: the lookup finds a key by its id alone. Ids are 96 random bits, so a
  -- clash with another tenant's id (which this constraint would reveal) does not happen.
  UNIQUE (id),
  FOREIGN KEY (tenant_id, service_account_id) REFERENCES service_accounts (tenant_id, id)
);
CREATE INDEX api_keys_account_idx ON api_keys (tenant_id, service_account_id, created_at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['service_accounts', 'api_keys'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL
      USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
      WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    EXECUTE format('CREATE POLICY key_reader_reads ON %I FOR SELECT TO gatehouse_key_reader USING (true)', t);
  END LOOP;
END $$;
CREATE POLICY key_reader_touches ON api_keys FOR UPDATE TO gatehouse_key_reader
  USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON service_accounts, api_keys TO gatehouse_app;

-- The key reader: exactly the columns the two functions read, and last_used_at.
GRANT USAGE ON SCHEMA public TO gatehouse_key_reader;
GRANT SELECT (tenant_id, id, active) ON service_accounts TO gatehouse_key_reader;
GRANT SELECT (tenant_id, id, service_account_id, hash, scopes, expires_at, revoked_at)
  ON api_keys TO gatehouse_key_reader;
GRANT UPDATE (last_used_at) ON api_keys TO gatehouse_key_reader;

-- One key by its public id, whatever its tenant, with what the verifier needs to decide
-- (src/authn/ApiKeyVerifier.ts): the hash to compare and the reasons it may be refused.
-- No row for an unknown id.
CREATE FUNCTION api_key_lookup(p_id text)
  RETURNS TABLE (
    tenant_id uuid,
    service_account_id uuid,
    hash bytea,
    scopes text[],
    expires_at timestamptz,
    revoked_at timestamptz,
    account_active boolean
  )
  LANGUAGE sql STABLE STRICT SECURITY DEFINER
  SET search_path = public, pg_temp
AS $$
  SELECT k.tenant_id, k.service_account_id, k.hash, k.scopes, k.expires_at, k.revoked_at, a.active
    FROM public.api_keys k
    JOIN public.service_accounts a ON a.tenant_id = k.tenant_id AND a.id = k.service_account_id
   WHERE k.id = p_id
$$;

-- Records that these keys were used (the verifier batches them, never one call a request).
CREATE FUNCTION api_keys_touch(p_ids text[])
  RETURNS void
  LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
  SET search_path = public, pg_temp
AS $$
  UPDATE public.api_keys SET last_used_at = now() WHERE id = ANY (p_ids)
$$;

-- EXECUTE for the app role only (new functions are executable by PUBLIC by default). The
-- grants are made while the owner role still owns the functions; ALTER … OWNER carries
-- them over to the new owner.
REVOKE ALL ON FUNCTION api_key_lookup(text), api_keys_touch(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_lookup(text), api_keys_touch(text[]) TO gatehouse_app;

GRANT CREATE ON SCHEMA public TO gatehouse_key_reader;
ALTER FUNCTION api_key_lookup(text) OWNER TO gatehouse_key_reader;
ALTER FUNCTION api_keys_touch(text[]) OWNER TO gatehouse_key_reader;
REVOKE CREATE ON SCHEMA public FROM gatehouse_key_reader;
