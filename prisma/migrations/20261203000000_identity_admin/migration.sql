-- Identity administration (issue 12): users managed through the API, and identity-provider
-- groups mapped to roles and team memberships.
--
-- users
-- - `subject` may be NULL: an invitation (inviteUser without a subject) is an account not
--   yet bound to an identity-provider subject. The first token of the tenant whose
--   verified email (`email_verified: true`) is the invitation's binds it. UNIQUE
--   (tenant_id, subject) still holds (NULLs are distinct).
-- - `roles` stays the account's effective organisation roles, the ones SpiceDB holds and
--   every reader uses; it is `granted_roles` (given by an admin: setUserRoles, inviteUser,
--   tenant:create) together with `mapped_roles` (from the identity provider's groups
--   through the tenant's mapping). The CHECK keeps the three in agreement.
-- - `groups_fingerprint`: what the group mapping was last applied for (a hash of the
--   mapping's version and the token's groups), so a request compares one string instead
--   of reconciling every time.
-- - `deactivated_at`: set by deactivateUser; a deactivated account is refused on its next
--   request, whatever token it brings.
-- - emails are unique per tenant whatever their case.
--
-- team_memberships.via_groups: the membership comes from the group mapping (the mapping
-- adds and removes those only); an admin's or maintainer's own addTeamMember makes it
-- manual.
--
-- group_mappings / role_mapping_versions: the tenant's mapping, replaced as a whole by
-- updateRoleMapping (the version increases each time, which changes every fingerprint).
-- Tenant tables like the others: FORCE RLS with the exact tenant predicate.

-- Copying roles into granted_roles must see every tenant's rows: FORCE is lifted for this
-- statement only (the owner is exempt from non-forced RLS) and restored in the same
-- transaction; db:check verifies FORCE afterwards.
ALTER TABLE users
  ALTER COLUMN subject DROP NOT NULL,
  ADD COLUMN granted_roles "OrgRole"[],
  ADD COLUMN mapped_roles "OrgRole"[] NOT NULL DEFAULT '{}'::"OrgRole"[],
  ADD COLUMN groups_fingerprint text CHECK (length(groups_fingerprint) <= 100),
  ADD COLUMN deactivated_at timestamptz(3),
  ADD COLUMN invited_at timestamptz(3);
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
UPDATE users SET granted_roles = roles;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE users
  ALTER COLUMN granted_roles SET NOT NULL,
  ALTER COLUMN granted_roles SET DEFAULT ARRAY['MEMBER']::"OrgRole"[],
  ADD CONSTRAINT users_roles_agree CHECK (
    array_position(granted_roles, NULL) IS NULL
    AND array_position(mapped_roles, NULL) IS NULL
    AND roles @> granted_roles AND roles @> mapped_roles
    AND (granted_roles || mapped_roles) @> roles
  ),
  ADD CONSTRAINT users_email_shape CHECK (email ~ '^[^\s@]+@[^\s@]+$');
CREATE UNIQUE INDEX users_email_ci ON users (tenant_id, lower(email));

ALTER TABLE team_memberships ADD COLUMN via_groups boolean NOT NULL DEFAULT false;

CREATE TABLE role_mapping_versions (
  tenant_id  uuid PRIMARY KEY REFERENCES tenants (id),
  version    integer NOT NULL CHECK (version >= 1),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_by uuid NOT NULL,
  FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);

-- One rule: members of `group_name` hold `org_role`, or are `team_role` of team `team_id`.
CREATE TABLE group_mappings (
  tenant_id  uuid NOT NULL,
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  group_name text NOT NULL CHECK (length(group_name) BETWEEN 1 AND 255),
  org_role   "OrgRole",
  team_id    uuid,
  team_role  "TeamRole",
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id) REFERENCES role_mapping_versions (tenant_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
  CHECK ((org_role IS NOT NULL) <> (team_id IS NOT NULL)),
  CHECK ((team_id IS NULL) = (team_role IS NULL))
);
CREATE UNIQUE INDEX group_mappings_role_idx ON group_mappings (tenant_id, group_name, org_role)
  WHERE org_role IS NOT NULL;
CREATE UNIQUE INDEX group_mappings_team_idx ON group_mappings (tenant_id, group_name, team_id)
  WHERE team_id IS NOT NULL;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['role_mapping_versions', 'group_mappings'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL
      USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
      WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON role_mapping_versions, group_mappings TO gatehouse_app;
