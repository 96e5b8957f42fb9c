/**
 * `npm run audit:public-key`: prints the public key (PEM) of the key that signs audit
 * checkpoints (AUDIT_SIGNING_KEY, or the development key), and its key id. Auditors keep
 * it to check checkpoints with `npm run audit:verify -- --public-key <file>`.
 */
import { loadConfig } from '../config.js';
import { loadAuditSigner } from '../audit/loadAuditSigner.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const signer = await loadAuditSigner(loadConfig().audit.signingKey);
  process.stderr.write(`key id ${signer.keyId}\n`);
  process.stdout.write(signer.publicKeyPem);
});
