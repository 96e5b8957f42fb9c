/**
 * The executable schema: SDL from schema/*.graphql, resolvers, and the rule tree generated
 * from the access directives (gates 2 and 3). Throws when any field lacks a rule or an
 * audited field lacks `@audit`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GraphQLScalarType, GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  applyAuthorization,
  type AuthorizationOptions,
  type AuthorizedSchema,
} from '../authz/authorizationMiddleware.js';
import { DateTimeScalar, DecimalScalar, JsonScalar } from './scalars.js';
import { auditResolvers } from './resolvers/auditResolvers.js';
import { readAuditedFields, recordAuditedReads, type AuditedFields } from './auditedFields.js';
import { tenancyResolvers } from './resolvers/tenancyResolvers.js';
import { workflowResolvers } from './resolvers/workflowResolvers.js';
import { credentialResolvers } from './resolvers/credentialResolvers.js';
import { policySettingsResolvers } from './resolvers/policySettingsResolvers.js';
import { serviceAccountResolvers } from './resolvers/serviceAccountResolvers.js';
import { identityResolvers } from './resolvers/identityResolvers.js';
import { nodeResolvers } from './resolvers/nodeResolvers.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema', import.meta.url));

/** The SDL files in name order. */
export function loadTypeDefs(dir: string = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

/**
 * A scalar's behaviour only: given the GraphQLScalarType itself, graphql-tools would copy
 * its unset `description` and `specifiedByURL` over the SDL's, and the served schema would
 * lose what schema/scalars.graphql says (codegen, IDEs and clients read it).
 */
function scalarBehaviour(
  scalar: GraphQLScalarType,
): Pick<GraphQLScalarType, 'serialize' | 'parseValue' | 'parseLiteral'> {
  return {
    serialize: scalar.serialize.bind(scalar),
    parseValue: scalar.parseValue.bind(scalar),
    parseLiteral: scalar.parseLiteral.bind(scalar),
  };
}

/** The schema before authorization is applied (for tooling and checks). */
export function buildBaseSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [
      {
        DateTime: scalarBehaviour(DateTimeScalar),
        Decimal: scalarBehaviour(DecimalScalar),
        JSON: scalarBehaviour(JsonScalar),
      },
      tenancyResolvers,
      workflowResolvers,
      credentialResolvers,
      policySettingsResolvers,
      serviceAccountResolvers,
      identityResolvers,
      auditResolvers,
      nodeResolvers,
    ],
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  return schema;
}

export interface GatehouseSchema extends AuthorizedSchema {
  /** `@audit` of every audited field (gate 5). */
  readonly audited: AuditedFields;
}

/**
 * The served schema: audited reads record themselves (inside), and the generated rules of
 * gates 2 and 3 decide every field first (outside), so a denied read records no read.
 */
export function buildSchema(options: AuthorizationOptions = {}): GatehouseSchema {
  const base = buildBaseSchema();
  const audited = readAuditedFields(base);
  return { ...applyAuthorization(recordAuditedReads(base, audited), options), audited };
}
