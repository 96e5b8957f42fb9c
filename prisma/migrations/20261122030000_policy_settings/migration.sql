-- Policy data kept per tenant by its admins (gate 3, `updatePolicySettings`): it overlays
-- POLICY_DATA_FILE under data.tenants[<tenant id>] and takes effect without a redeploy
-- (src/authz/opa/PolicyData.ts). A NULL limit or an empty network list inherits the
-- operator's default.

CREATE TABLE tenant_policy_settings (
  tenant_id         uuid PRIMARY KEY REFERENCES tenants (id),
  approval_limit    numeric(14, 2) CHECK (approval_limit >= 0),
  -- Networks (CIDR) from which approvals are accepted. The cast rejects anything that is
  -- not a network.
  approval_networks text[] NOT NULL DEFAULT '{}' CHECK (
    cardinality(approval_networks) <= 100 AND approval_networks::cidr[] IS NOT NULL),
  version           integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_at        timestamptz(3) NOT NULL DEFAULT now(),
  updated_by        uuid,
  FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);

ALTER TABLE tenant_policy_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_policy_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_policy_settings FOR ALL
  USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

GRANT SELECT, INSERT, UPDATE ON tenant_policy_settings TO gatehouse_app;
