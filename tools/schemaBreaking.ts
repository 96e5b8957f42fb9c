// `npm run schema:breaking` | `npm run schema:release` (tools/schemaBreaking.ts, run with tsx)
//   check:   diffs the served schema (what introspection answers) against the previous
//            release's, schema/release/served.graphql, with graphql-inspector, prints every
//            change by criticality, and fails on a breaking change that is not declared in
//            schema/release/declared-breaking.json — and on a declaration that matches no
//            breaking change, so the file says exactly what the next release breaks.
//   release: at release time: rewrites the snapshot from the served schema and empties the
//            declarations (what they declared is now released).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import {
  buildClientSchema,
  buildSchema as parseSchema,
  introspectionFromSchema,
  lexicographicSortSchema,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import { buildSchema } from '../src/graphql/buildSchema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const SNAPSHOT_FILE = path.join(root, 'schema', 'release', 'served.graphql');
export const DECLARED_FILE = path.join(root, 'schema', 'release', 'declared-breaking.json');

/** A change of the schema's root operation types has no coordinate; it is declared as this. */
const SCHEMA_PATH = 'schema';

const LEVELS = [
  CriticalityLevel.Breaking,
  CriticalityLevel.Dangerous,
  CriticalityLevel.NonBreaking,
] as const;

const Declarations = z.array(
  z.strictObject({ path: z.string().min(1), reason: z.string().trim().min(1) }),
);
export type Declaration = z.infer<typeof Declarations>[number];

export interface Comparison {
  /** Every change, in graphql-inspector's order, by criticality. */
  readonly changes: Readonly<Record<CriticalityLevel, readonly Change[]>>;
  /** Breaking changes whose path no declaration names. */
  readonly undeclared: readonly Change[];
  /** Declarations whose path names no breaking change. */
  readonly stale: readonly Declaration[];
}

/**
 * What introspection answers, printed sorted (stable diffs): types, descriptions,
 * deprecations and @specifiedBy — not the access directives applied to fields, which no
 * client can see, so changing who may use a field is no change to the API's shape.
 */
export function printServedSchema(schema: GraphQLSchema): string {
  const introspected = buildClientSchema(introspectionFromSchema(schema));
  return `${printSchema(lexicographicSortSchema(introspected))}\n`;
}

export function parseDeclarations(json: string): Declaration[] {
  return Declarations.parse(JSON.parse(json));
}

export function changePath(change: Change): string {
  return change.path ?? SCHEMA_PATH;
}

/**
 * Both sides go through the same printing, so only what a client can observe differs
 * (graphql-inspector also diffs applied directives, and a parsed schema has them).
 */
export async function compareSchemas(
  released: GraphQLSchema,
  current: GraphQLSchema,
  declared: readonly Declaration[],
): Promise<Comparison> {
  const asServed = (schema: GraphQLSchema) => parseSchema(printServedSchema(schema));
  const all = await diff(asServed(released), asServed(current));
  const at = (level: CriticalityLevel) => all.filter((c) => c.criticality.level === level);
  const changes = {
    [CriticalityLevel.Breaking]: at(CriticalityLevel.Breaking),
    [CriticalityLevel.Dangerous]: at(CriticalityLevel.Dangerous),
    [CriticalityLevel.NonBreaking]: at(CriticalityLevel.NonBreaking),
  };
  const breaking = changes[CriticalityLevel.Breaking];
  const declaredPaths = new Set(declared.map((d) => d.path));
  const breakingPaths = new Set(breaking.map(changePath));
  return {
    changes,
    undeclared: breaking.filter((c) => !declaredPaths.has(changePath(c))),
    stale: declared.filter((d) => !breakingPaths.has(d.path)),
  };
}

export function passes(comparison: Comparison): boolean {
  return comparison.undeclared.length === 0 && comparison.stale.length === 0;
}

function changeLine(change: Change, declared: readonly Declaration[]): string {
  // Messages quote whole descriptions; one line per change keeps the report scannable.
  const line = `  ${changePath(change)}: ${change.message.replace(/\s*\n\s*/g, ' ')}`;
  if (change.criticality.level === CriticalityLevel.Breaking) {
    const declaration = declared.find((d) => d.path === changePath(change));
    return declaration
      ? `${line}\n      declared: ${declaration.reason}`
      : `${line}  [NOT DECLARED]`;
  }
  return change.criticality.reason ? `${line}\n      ${change.criticality.reason}` : line;
}

export function formatComparison(comparison: Comparison, declared: readonly Declaration[]): string {
  const lines: string[] = [];
  for (const level of LEVELS) {
    const changes = comparison.changes[level];
    lines.push(`${level} (${changes.length})`, ...changes.map((c) => changeLine(c, declared)));
  }
  if (comparison.stale.length > 0) {
    lines.push(
      `STALE DECLARATIONS (${comparison.stale.length}): no breaking change at their path`,
      ...comparison.stale.map((d) => `  ${d.path}: ${d.reason}`),
    );
  }
  return lines.join('\n');
}

async function check(): Promise<boolean> {
  const released = parseSchema(await readFile(SNAPSHOT_FILE, 'utf8'));
  const declared = parseDeclarations(await readFile(DECLARED_FILE, 'utf8'));
  const comparison = await compareSchemas(released, buildSchema().schema, declared);
  const relative = (file: string) => path.relative(root, file);
  process.stdout.write(
    `served schema against the previous release (${relative(SNAPSHOT_FILE)})\n` +
      `${formatComparison(comparison, declared)}\n`,
  );
  if (passes(comparison)) return true;
  process.stderr.write(
    `schema:breaking failed: declare each breaking change in ${relative(DECLARED_FILE)} ` +
      `({ "path": "<path above>", "reason": "…" }) or undo it, and remove stale declarations.\n`,
  );
  return false;
}

async function release(): Promise<void> {
  await writeFile(SNAPSHOT_FILE, printServedSchema(buildSchema().schema));
  await writeFile(DECLARED_FILE, '[]\n');
  process.stdout.write(
    `wrote ${path.relative(root, SNAPSHOT_FILE)}; the breaking-change declarations are empty\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const command = process.argv[2];
  if (command === 'check') {
    if (!(await check())) process.exit(1);
  } else if (command === 'release') {
    await release();
  } else {
    process.stderr.write('usage: tsx tools/schemaBreaking.ts check|release\n');
    process.exit(2);
  }
}
