/**
 * gRPC status of a SpiceDB error. The remote client throws grpc-js ServiceErrors with a
 * numeric `code`; the embedded library throws Errors whose message reads
 * "rpc error: code = NotFound desc = …". Both are mapped to the same names.
 */
const NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

export type GrpcStatus = (typeof NAMES)[number];

export function grpcStatusOf(error: unknown): GrpcStatus {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && code >= 0 && code < NAMES.length) return NAMES[code] ?? 'Unknown';
  const message = error instanceof Error ? error.message : '';
  const match = /code = (\w+)/.exec(message);
  const name = match?.[1];
  return NAMES.find((n) => n === name) ?? 'Unknown';
}
