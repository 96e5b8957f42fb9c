/**
 * Enforces `@public` / `@authenticated` on the root fields of Query, Mutation and
 * Subscription (including the `subscribe` step). Deny by default: building the schema
 * fails, naming each field, when a root field carries neither directive. Fields below the
 * root are reachable only through a root field that already required a principal.
 */
import { defaultFieldResolver, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { unauthenticated } from '../errors/clientErrors.js';
import type { GatehouseContext } from './GatehouseContext.js';

type Access = 'public' | 'authenticated';

function accessOf(
  schema: GraphQLSchema,
  field: GraphQLFieldConfig<unknown, unknown>,
): Access | undefined {
  const isPublic = getDirective(schema, field, 'public') !== undefined;
  const isAuthenticated = getDirective(schema, field, 'authenticated') !== undefined;
  if (isPublic && isAuthenticated) return undefined;
  if (isPublic) return 'public';
  if (isAuthenticated) return 'authenticated';
  return undefined;
}

export class UnprotectedFieldsError extends Error {
  override readonly name = 'UnprotectedFieldsError';
  readonly coordinates: readonly string[];
  constructor(coordinates: readonly string[]) {
    super(`Root fields without exactly one of @public / @authenticated: ${coordinates.join(', ')}`);
    this.coordinates = coordinates;
  }
}

export function applyAuthenticationDirectives(schema: GraphQLSchema): GraphQLSchema {
  const unprotected: string[] = [];
  const mapped = mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (field, fieldName, typeName) => {
      const access = accessOf(schema, field);
      if (access === undefined) {
        unprotected.push(`${typeName}.${fieldName}`);
        return field;
      }
      if (access === 'public') return field;
      const resolve = field.resolve ?? defaultFieldResolver;
      const guarded: GraphQLFieldConfig<unknown, GatehouseContext> = {
        ...(field as GraphQLFieldConfig<unknown, GatehouseContext>),
        resolve(source, args, ctx, info) {
          if (!ctx.principal) throw unauthenticated();
          return resolve(source, args, ctx, info);
        },
      };
      const subscribe = field.subscribe;
      if (subscribe) {
        guarded.subscribe = (source, args, ctx, info) => {
          if (!ctx.principal) throw unauthenticated();
          return subscribe(source, args, ctx, info);
        };
      }
      return guarded as GraphQLFieldConfig<unknown, unknown>;
    },
  });
  if (unprotected.length > 0) throw new UnprotectedFieldsError(unprotected.sort());
  return mapped;
}
