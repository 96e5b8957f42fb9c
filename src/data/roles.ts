/**
 * The two database roles of DESIGN.md gate 4. The migrations grant to these names, so they
 * are fixed; `npm run db:setup` (or your platform's provisioning) creates them.
 *
 * - OWNER_ROLE owns the schema and tables and runs migrations. It is not a superuser, and
 *   FORCE ROW LEVEL SECURITY applies to it too.
 * - APP_ROLE is what the server runs as: NOSUPERUSER NOBYPASSRLS, DML grants only.
 */
export const OWNER_ROLE = 'gatehouse_owner';
export const APP_ROLE = 'gatehouse_app';
/** Schema holding the migration ledger; the app role has no access to it. */
export const META_SCHEMA = 'gatehouse_meta';
/**
 * Role of the relationship outbox relay: sees every tenant's `authz_outbox` and
 * `authz_tokens` rows and nothing else. The app role may SET ROLE to it.
 */
export const RELAY_ROLE = 'gatehouse_relay';
/**
 * Role of the audit checkpoint signer: reads every tenant's chain head and records signed
 * checkpoints (`audit_chain_heads`, `audit_checkpoints`), and nothing else. The app role
 * may SET ROLE to it.
 */
export const AUDIT_SIGNER_ROLE = 'gatehouse_audit_signer';
/**
 * Role of the API key lookup: owns the two SECURITY DEFINER functions `api_key_lookup`
 * and `api_keys_touch`, the only path from a request without a tenant to the tenant of an
 * API key. It reads the columns of `api_keys` and `service_accounts` those functions need
 * and updates `api_keys.last_used_at`, across tenants, and nothing else. Nobody logs in
 * as it and the app role is not a member: the app role may only EXECUTE the functions.
 * The owner role is a member, so that migrations can hand the functions to it.
 */
export const KEY_READER_ROLE = 'gatehouse_key_reader';
