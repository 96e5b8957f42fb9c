import { fileURLToPath } from 'node:url';

/** The SpiceDB schema of Gatehouse, written (or verified) at start-up. */
export const AUTHZ_SCHEMA_FILE = fileURLToPath(
  new URL('../../../policies/authz.zed', import.meta.url),
);
