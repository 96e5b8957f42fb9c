-- Gatehouse initial schema. Runs as gatehouse_owner (see src/data/roles.ts).
--
-- Tenant isolation (DESIGN.md gate 4): every tenant table has tenant_id first in its
-- primary key and in every foreign key, ENABLE + FORCE ROW LEVEL SECURITY, and one policy
-- for all commands whose USING and WITH CHECK compare tenant_id with the transaction-local
-- setting app.tenant_id. `current_setting(..., true)` returns NULL or '' when unset, so an
-- unset tenant matches no row (fail closed). The `(select ...)` wrapper makes PostgreSQL
-- evaluate it once per statement (an InitPlan) instead of once per row.

CREATE TYPE "OrgRole" AS ENUM ('ADMIN', 'MEMBER', 'VP', 'AUDITOR');
CREATE TYPE "TeamRole" AS ENUM ('MEMBER', 'MAINTAINER');
CREATE TYPE "WorkflowStatus" AS ENUM ('DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'REJECTED');
CREATE TYPE "ShareRole" AS ENUM ('VIEWER', 'EDITOR', 'APPROVER');
CREATE TYPE "ApprovalDecision" AS ENUM ('APPROVED', 'REJECTED');

CREATE TABLE tenants (
  id         uuid PRIMARY KEY,
  slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE users (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  subject      text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  roles        "OrgRole"[] NOT NULL DEFAULT ARRAY['MEMBER']::"OrgRole"[],
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, subject),
  UNIQUE (tenant_id, email)
);

CREATE TABLE teams (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE team_memberships (
  tenant_id  uuid NOT NULL,
  team_id    uuid NOT NULL,
  user_id    uuid NOT NULL,
  role       "TeamRole" NOT NULL DEFAULT 'MEMBER',
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, team_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_memberships_user_idx ON team_memberships (tenant_id, user_id);

CREATE TABLE workflows (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
  amount      numeric(14, 2) NOT NULL CHECK (amount >= 0),
  status      "WorkflowStatus" NOT NULL DEFAULT 'DRAFT',
  owner_id    uuid NOT NULL,
  team_id     uuid,
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id)
);
CREATE INDEX workflows_page_idx ON workflows (tenant_id, created_at DESC, id DESC);

CREATE TABLE workflow_shares (
  tenant_id   uuid NOT NULL,
  workflow_id uuid NOT NULL,
  user_id     uuid NOT NULL,
  role        "ShareRole" NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, workflow_id, user_id),
  FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_shares_user_idx ON workflow_shares (tenant_id, user_id);

CREATE TABLE approvals (
  tenant_id   uuid NOT NULL,
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  workflow_id uuid NOT NULL,
  approver_id uuid NOT NULL,
  decision    "ApprovalDecision" NOT NULL,
  comment     text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, approver_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX approvals_workflow_idx ON approvals (tenant_id, workflow_id);

-- Row-level security: enabled and forced (the owner is subject to it too).
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants FOR ALL
  USING (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'teams', 'team_memberships', 'workflows', 'workflow_shares', 'approvals'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL
      USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
      WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
  END LOOP;
END $$;

-- The app role: DML only, and on tenants only SELECT (tenants are provisioned by the owner).
GRANT USAGE ON SCHEMA public TO gatehouse_app;
GRANT SELECT ON tenants TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, teams, team_memberships, workflows, workflow_shares TO gatehouse_app;
-- Approvals are a record of decisions: they are written once and never changed.
GRANT SELECT, INSERT ON approvals TO gatehouse_app;
