/**
 * `npm start`: tracing first (observability/tracing.ts: its instrumentations must patch
 * `http`, `pg` and gRPC before they are imported), then the server (server/serve.ts).
 */
import { startTracing, type Tracing } from './observability/tracing.js';

let tracing: Tracing;
try {
  tracing = await startTracing();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
try {
  const { serve } = await import('./server/serve.js');
  await serve(tracing);
} catch (error) {
  process.stderr.write(
    `Gatehouse failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
