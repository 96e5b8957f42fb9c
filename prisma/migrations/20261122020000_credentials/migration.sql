-- Credentials (DESIGN.md demo domain): a named secret owned by a user. The secret is
-- encrypted by the application before it reaches the database (AES-256-GCM, see
-- src/domain/secretBox.ts): the row holds the ciphertext and the id of the key that
-- sealed it, never the plaintext. The ciphertext is bound to its tenant and credential id
-- (authenticated data), so a ciphertext copied into another row or tenant does not open.
-- Isolation as for every tenant table: FORCE RLS with the exact tenant predicate.

CREATE TABLE credentials (
  tenant_id         uuid NOT NULL REFERENCES tenants (id),
  id                uuid NOT NULL,
  owner_id          uuid NOT NULL,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_ciphertext bytea NOT NULL CHECK (length(secret_ciphertext) BETWEEN 29 AND 16384),
  secret_key_id     text NOT NULL CHECK (secret_key_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  created_at        timestamptz(3) NOT NULL DEFAULT now(),
  updated_at        timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, owner_id, name),
  FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX credentials_page_idx ON credentials (tenant_id, created_at DESC, id DESC);

ALTER TABLE credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credentials FOR ALL
  USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

GRANT SELECT, INSERT, UPDATE, DELETE ON credentials TO gatehouse_app;
