/**
 * Reads `@audit` (schema/directives.graphql) once at schema build and makes audited reads
 * record themselves. The build fails when
 * - a mutation has no `@audit` (every mutation is audited, in its own transaction);
 * - a `@classified(level: RESTRICTED)` field has no `@audit` (restricted reads are);
 * - an audited read is non-null (a value whose event cannot be written must be withheld),
 *   or on a type without `@resource` (the event names the object read);
 * - `@audit` is on a query or subscription root field, names an argument that does not
 *   exist, or an action that is not a dotted lowercase name.
 */
import {
  defaultFieldResolver,
  isNonNullType,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { getDirective, mapSchema, MapperKind } from '@graphql-tools/utils';
import type { AuditSpec } from '../audit/OperationAuditLog.js';
import type { GatehouseContext } from './GatehouseContext.js';
import { requireData } from './resolvers/requireData.js';

export class AuditSchemaError extends Error {
  override readonly name = 'AuditSchemaError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Audit directives are incomplete or invalid:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** An audited read: its action, and the field of its parent that holds the object's id. */
interface AuditedRead {
  readonly action: string;
  readonly idField: string;
}

export interface AuditedFields {
  /** Every audited field (mutations and reads) by schema coordinate. */
  readonly specs: ReadonlyMap<string, AuditSpec>;
  readonly reads: ReadonlyMap<string, AuditedRead>;
}

export function readAuditedFields(schema: GraphQLSchema): AuditedFields {
  const problems: string[] = [];
  const specs = new Map<string, AuditSpec>();
  const reads = new Map<string, AuditedRead>();
  const mutation = schema.getMutationType();
  const otherRoots = new Set([schema.getQueryType(), schema.getSubscriptionType()]);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const resource = getDirective(schema, type, 'resource')?.[0];
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const audit = getDirective(schema, field, 'audit')?.[0];
      const classified = getDirective(schema, field, 'classified')?.[0];
      if (!audit) {
        if (type === mutation) problems.push(`${coordinate}: every mutation needs @audit(action:)`);
        if (classified?.['level'] === 'RESTRICTED') {
          problems.push(`${coordinate}: restricted data needs @audit(action:) on its reads`);
        }
        continue;
      }
      const action = String(audit['action']);
      const argument = typeof audit['on'] === 'string' ? audit['on'] : undefined;
      if (!ACTION.test(action)) {
        problems.push(`${coordinate}: @audit(action: "${action}") is not a dotted lowercase name`);
      }
      if (otherRoots.has(type)) {
        problems.push(`${coordinate}: @audit belongs on mutations and on fields of objects`);
        continue;
      }
      if (argument !== undefined && !field.args.some((a) => a.name === argument)) {
        problems.push(`${coordinate}: @audit(on: "${argument}") names no argument of the field`);
      }
      specs.set(coordinate, { action, argument });
      if (type === mutation) continue;
      if (isNonNullType(field.type)) {
        problems.push(
          `${coordinate}: an audited read must be nullable (it is withheld when its event cannot be written)`,
        );
      }
      if (!resource) {
        problems.push(
          `${coordinate}: an audited read needs @resource on ${type.name} (the event names the object)`,
        );
        continue;
      }
      const idField = typeof resource['idField'] === 'string' ? resource['idField'] : 'id';
      reads.set(coordinate, { action, idField });
    }
  }
  if (problems.length > 0) throw new AuditSchemaError([...new Set(problems)].sort());
  return { specs, reads };
}

function pathOf(path: { prev: unknown; key: string | number } | undefined): Array<string | number> {
  const keys: Array<string | number> = [];
  for (let p = path; p; p = p.prev as typeof path) keys.unshift(p.key);
  return keys;
}

/**
 * Wraps the resolver of every audited read: once its value is resolved (and it is not
 * null), the read is recorded with its place in the response, so the operation can append
 * its event before the response leaves — or withhold the value when it cannot.
 */
export function recordAuditedReads(schema: GraphQLSchema, audited: AuditedFields): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const coordinate = `${typeName}.${fieldName}`;
      const read = audited.reads.get(coordinate);
      if (!read) return field;
      const resolve: GraphQLFieldResolver<unknown, GatehouseContext> =
        field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        async resolve(parent, args, ctx: GatehouseContext, info) {
          const value: unknown = await resolve(parent, args, ctx, info);
          if (value !== null && value !== undefined) {
            const id = (parent as Record<string, unknown>)[read.idField];
            requireData(ctx).audit.read(coordinate, String(id), pathOf(info.path));
          }
          return value;
        },
      };
    },
  });
}
