/**
 * A SpiceDB reachable over the network, for testing Gatehouse's remote mode
 * (`SPICEDB_ENDPOINT`): a real gRPC server (@grpc/grpc-js, HTTP/2 on a loopback TCP port)
 * that serves SpiceDB's PermissionsService and SchemaService by handing each call to the
 * real SpiceDB engine embedded in this process. Decisions, ZedTokens and errors are
 * SpiceDB's own; the gateway adds what a SpiceDB server adds at its edge — the preshared
 * key check (`authorization: Bearer <key>`, else UNAUTHENTICATED) — plus test switches:
 * `stall()` holds every call unanswered (a partitioned server), `failWrites` refuses
 * relationship writes, `stop()`/`restart()` take the port away and bring it back with the
 * same data.
 *
 * The SpiceDB server binary itself cannot be fetched on this machine (the Go module proxy
 * refuses github.com/authzed/spicedb), which is why the engine is fronted this way.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@authzed/authzed-node';
import {
  connectSpiceDb,
  type SpiceDbConnection,
} from '../../src/authz/spicedb/SpiceDbConnection.js';
import { grpcStatusOf } from '../../src/authz/spicedb/grpcStatus.js';

interface MethodInfo {
  readonly name: string;
  readonly localName: string;
  readonly serverStreaming: boolean;
  readonly clientStreaming: boolean;
  readonly I: { toBinary(v: object): Uint8Array; fromBinary(b: Uint8Array): object };
  readonly O: { toBinary(v: object): Uint8Array; fromBinary(b: Uint8Array): object };
}

interface ServiceInfo {
  readonly typeName: string;
  readonly methods: readonly MethodInfo[];
}

const SERVICES = [
  v1.PermissionsService as unknown as ServiceInfo,
  v1.SchemaService as unknown as ServiceInfo,
];

export interface SpiceDbGateway {
  /** `<host>:<port>` for SPICEDB_ENDPOINT. */
  readonly endpoint: string;
  /** The engine behind the gateway (for assertions). */
  readonly engine: SpiceDbConnection;
  /** Calls answered or refused, by method name (e.g. `CheckBulkPermissions`). */
  readonly calls: Map<string, number>;
  /** Calls refused for a missing or wrong preshared key. */
  unauthenticated: number;
  /** Refuse relationship writes with UNAVAILABLE while checks still work. */
  failWrites: boolean;
  /** Hold every call unanswered until `resume()` (clients see their deadline pass). */
  stall(): void;
  resume(): void;
  /** Closes the port (clients get UNAVAILABLE); `restart()` opens it again, same data. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function serviceDefinition(service: ServiceInfo): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const m of service.methods) {
    definition[m.name] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.clientStreaming,
      responseStream: m.serverStreaming,
      requestSerialize: (v: object) => Buffer.from(m.I.toBinary(v)),
      requestDeserialize: (b: Buffer) => m.I.fromBinary(b),
      responseSerialize: (v: object) => Buffer.from(m.O.toBinary(v)),
      responseDeserialize: (b: Buffer) => m.O.fromBinary(b),
    };
  }
  return definition;
}

/** The gRPC status error a SpiceDB server would send for `error` (numeric code kept). */
function statusError(error: unknown): grpc.ServiceError {
  const message = error instanceof Error ? error.message : String(error);
  // "DeadlineExceeded" → grpc.status.DEADLINE_EXCEEDED
  const key = grpcStatusOf(error)
    .replace(/(?<=[a-z])(?=[A-Z])/g, '_')
    .toUpperCase();
  const code =
    key in grpc.status ? grpc.status[key as keyof typeof grpc.status] : grpc.status.UNKNOWN;
  return Object.assign(new Error(message), {
    code,
    details: message,
    metadata: new grpc.Metadata(),
  });
}

export interface GatewayOptions {
  /** Address to listen on (default 127.0.0.1, plaintext as on loopback). */
  readonly host?: string;
  /** Serve TLS with this certificate chain and key (PEM). */
  readonly tls?: { readonly certChain: Buffer; readonly privateKey: Buffer };
}

export async function startSpiceDbGateway(
  presharedKey: string,
  options: GatewayOptions = {},
): Promise<SpiceDbGateway> {
  const host = options.host ?? '127.0.0.1';
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        null,
        [{ cert_chain: options.tls.certChain, private_key: options.tls.privateKey }],
        false,
      )
    : grpc.ServerCredentials.createInsecure();
  const engine = await connectSpiceDb({ kind: 'embedded' });
  let stalled = false;
  let waiting: Array<() => void> = [];
  let server: grpc.Server | undefined;
  let port = 0;

  const gateway: SpiceDbGateway = {
    endpoint: '',
    engine,
    calls: new Map(),
    unauthenticated: 0,
    failWrites: false,
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const release of waiting) release();
      waiting = [];
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
      // Calls held by a stall would keep the shutdown waiting; force them closed.
      s?.forceShutdown();
    },
    restart: async () => {
      await listen(port);
    },
    close: async () => {
      gateway.resume();
      await gateway.stop();
      engine.close();
    },
  };

  /** Runs `work` unless the key is wrong; waits while stalled. */
  const admit = async (name: string, metadata: grpc.Metadata): Promise<void> => {
    gateway.calls.set(name, (gateway.calls.get(name) ?? 0) + 1);
    const [auth] = metadata.get('authorization');
    if (auth !== `Bearer ${presharedKey}`) {
      gateway.unauthenticated += 1;
      throw Object.assign(new Error('invalid preshared key'), {
        code: grpc.status.UNAUTHENTICATED,
      });
    }
    if (stalled) await new Promise<void>((resolve) => waiting.push(resolve));
    if (gateway.failWrites && name === 'WriteRelationships') {
      throw Object.assign(new Error('datastore unavailable'), { code: grpc.status.UNAVAILABLE });
    }
  };

  const handlers = (service: ServiceInfo, client: object): grpc.UntypedServiceImplementation => {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const m of service.methods) {
      const call = (request: object): Promise<unknown> =>
        (client as Record<string, (r: object) => Promise<unknown>>)[m.localName]!(request);
      if (m.serverStreaming) {
        impl[m.name] = (stream: grpc.ServerWritableStream<object, object>) => {
          admit(m.name, stream.metadata)
            .then(() => call(stream.request))
            .then((items) => {
              for (const item of items as object[]) stream.write(item);
              stream.end();
            })
            .catch((error: unknown) => stream.destroy(statusError(error)));
        };
      } else {
        impl[m.name] = (
          unary: grpc.ServerUnaryCall<object, object>,
          callback: grpc.sendUnaryData<object>,
        ) => {
          admit(m.name, unary.metadata)
            .then(() => call(unary.request))
            .then((reply) => callback(null, reply as object))
            .catch((error: unknown) => callback(statusError(error)));
        };
      }
    }
    return impl;
  };

  const listen = async (wanted: number): Promise<void> => {
    const s = new grpc.Server();
    s.addService(serviceDefinition(SERVICES[0]!), handlers(SERVICES[0]!, engine.permissions));
    s.addService(serviceDefinition(SERVICES[1]!), handlers(SERVICES[1]!, engine.schema));
    port = await new Promise<number>((resolve, reject) =>
      s.bindAsync(`${host}:${wanted}`, credentials, (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    server = s;
    (gateway as { endpoint: string }).endpoint = `${host}:${port}`;
  };

  await listen(0);
  return gateway;
}
