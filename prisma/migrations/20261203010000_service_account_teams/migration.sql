-- Team memberships of service accounts (issue 12): a service account is a member of teams
-- like a user (a CI job that reads its team's workflows), through the relation `member`
-- of `team`, which accepts `service_account` subjects (policies/authz.zed). Members only:
-- a maintainer manages the team's members, and a service account runs no mutation.
-- Managed by organisation admins (manage_service_accounts), written to SpiceDB through
-- the outbox like every other relationship; PostgreSQL is the source of truth.

CREATE TABLE service_account_team_memberships (
  tenant_id          uuid NOT NULL,
  team_id            uuid NOT NULL,
  service_account_id uuid NOT NULL,
  created_at         timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, team_id, service_account_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, service_account_id) REFERENCES service_accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX service_account_team_memberships_account_idx
  ON service_account_team_memberships (tenant_id, service_account_id);

ALTER TABLE service_account_team_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_account_team_memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON service_account_team_memberships FOR ALL
  USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

GRANT SELECT, INSERT, DELETE ON service_account_team_memberships TO gatehouse_app;
