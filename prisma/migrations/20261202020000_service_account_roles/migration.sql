-- Organisation roles of service accounts (issue 12): a service account holds roles like a
-- user, and they become relationships of its SpiceDB subject
-- `service_account:<tenant>/<id>` through the outbox, in the transaction that changes them
-- (setServiceAccountRoles; deactivation removes them). PostgreSQL is the source of truth.
--
-- Never ADMIN: an admin manages service accounts and keys (manage_service_accounts), so an
-- admin key could mint keys and grant itself roles. policies/authz.zed does not accept a
-- service account as an organisation admin either; this CHECK keeps the row from claiming it.
--
-- A column of service_accounts, whose FORCE RLS tenant policy and grants (the landed
-- migration) cover it. The key reader (gatehouse_key_reader) gets no grant on it: the key
-- lookup does not read roles.

ALTER TABLE service_accounts
  ADD COLUMN roles "OrgRole"[] NOT NULL DEFAULT '{}'::"OrgRole"[]
    CHECK (array_position(roles, NULL) IS NULL AND NOT ('ADMIN' = ANY (roles)));
