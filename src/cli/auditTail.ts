/**
 * `npm run -s audit:tail -- --token <token> [--url ws://localhost:4000/graphql]
 *   [--after <seq>] [--action <action or prefix.>]`: a graphql-ws client of the live audit
 * feed (`subscription { auditEvents }`) that prints each event as one JSON line, in seq
 * order, until interrupted. With `--after`, the stored events after that seq come first.
 * Exits 1 when the subscription is refused or ends with an error (access revoked), and
 * when the socket closes (4401: the token expired).
 */
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { runCli } from './runCli.js';

const FIELDS = `seq occurredAt action outcome gate reasons requestId decisionIds
  actor { subject userId kind ip } resource { type id } changes hash`;

runCli(async () => {
  const { values } = parseArgs({
    options: {
      token: { type: 'string' },
      url: { type: 'string', default: 'ws://localhost:4000/graphql' },
      after: { type: 'string' },
      action: { type: 'string' },
    },
  });
  if (!values.token)
    throw new Error('--token is required (e.g. --token "$(npm run -s token -- dave)")');
  const afterSeq = values.after === undefined ? undefined : Number(values.after);
  if (afterSeq !== undefined && !Number.isSafeInteger(afterSeq))
    throw new Error('--after must be a seq');
  const client = createClient({
    url: values.url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${values.token}` },
    retryAttempts: 0,
  });
  return new Promise<number>((resolve) => {
    client.subscribe(
      {
        query: `subscription($after: Int, $f: AuditEventFilter) { auditEvents(afterSeq: $after, filter: $f) { ${FIELDS} } }`,
        variables: { after: afterSeq ?? null, f: values.action ? { action: values.action } : null },
      },
      {
        next: (result) => {
          if (result.data) process.stdout.write(`${JSON.stringify(result.data['auditEvents'])}\n`);
          if (result.errors) {
            process.stderr.write(`${JSON.stringify(result.errors)}\n`);
            resolve(1);
          }
        },
        error: (error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          process.stderr.write(
            typeof code === 'number' ? `socket closed (${code})\n` : `${JSON.stringify(error)}\n`,
          );
          resolve(1);
        },
        complete: () => resolve(0),
      },
    );
    process.once('SIGINT', () => {
      void client.dispose();
      resolve(0);
    });
  });
});
