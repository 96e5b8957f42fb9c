/**
 * `npm run authz:check [-- --schema <dir>]`: fails (exit 1) listing, by schema coordinate
 * (`Type.field`), every field without an effective authorization rule, every invalid
 * access directive, and every mutation or restricted field without a valid `@audit`. On
 * success prints how many fields are covered and how.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { AuthorizationSchemaError, readRequirements } from '../authz/directives.js';
import { AuditSchemaError, readAuditedFields } from '../graphql/auditedFields.js';
import { loadTypeDefs, SCHEMA_DIR } from '../graphql/buildSchema.js';
import { runCli } from './runCli.js';

runCli(() => {
  const { values } = parseArgs({ options: { schema: { type: 'string', default: SCHEMA_DIR } } });
  // Structure only: resolvers are irrelevant to who may use a field.
  const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(path.resolve(values.schema)) });
  try {
    const requirements = [...readRequirements(schema).values()];
    const audited = readAuditedFields(schema);
    const count = (p: (r: (typeof requirements)[number]) => boolean): number =>
      requirements.filter(p).length;
    process.stdout.write(
      `authz:check ok: ${requirements.length} fields covered — ` +
        `${count((r) => r.public)} @public, ${count((r) => r.permissions.length > 0)} with SpiceDB permissions, ` +
        `${count((r) => r.scopes.length > 0)} with scopes, ` +
        `${count((r) => !r.public && r.permissions.length === 0 && r.scopes.length === 0)} authenticated only; ` +
        `${audited.specs.size} audited (${audited.reads.size} reads)\n`,
    );
    return Promise.resolve(0);
  } catch (error) {
    if (!(error instanceof AuthorizationSchemaError || error instanceof AuditSchemaError)) {
      throw error;
    }
    process.stderr.write(
      `authz:check failed:\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return Promise.resolve(1);
  }
});
