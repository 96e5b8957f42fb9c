/**
 * The executable schema: SDL from schema/*.graphql, resolvers, and the rule tree generated
 * from the access directives (gates 2 and 3). Throws when any field lacks a rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { applyAuthorization, type AuthorizedSchema } from '../authz/authorizationMiddleware.js';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { tenancyResolvers } from './resolvers/tenancyResolvers.js';
import { workflowResolvers } from './resolvers/workflowResolvers.js';
import { credentialResolvers } from './resolvers/credentialResolvers.js';
import { policySettingsResolvers } from './resolvers/policySettingsResolvers.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema', import.meta.url));

/** The SDL files in name order. */
export function loadTypeDefs(dir: string = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

/** The schema before authorization is applied (for tooling and checks). */
export function buildBaseSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [
      { DateTime: DateTimeScalar, Decimal: DecimalScalar },
      tenancyResolvers,
      workflowResolvers,
      credentialResolvers,
      policySettingsResolvers,
    ],
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  return schema;
}

export function buildSchema(): AuthorizedSchema {
  return applyAuthorization(buildBaseSchema());
}
