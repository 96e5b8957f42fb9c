/**
 * The web client example (examples/web-client) as a test imports it: its typed operations
 * are generated first, as `npm run example:codegen` does (src/gql/ is git-ignored), and
 * only then are its modules imported, so a test file that uses it needs no generation step
 * before vitest starts and a failing generation fails that file alone.
 */
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import config from '../../examples/web-client/codegen.js';
import type * as AuditFeed from '../../examples/web-client/src/auditFeed.js';
import type * as Client from '../../examples/web-client/src/client.js';
import type * as Errors from '../../examples/web-client/src/errors.js';
import type * as Operations from '../../examples/web-client/src/operations.js';
import type * as WorkflowList from '../../examples/web-client/src/workflowList.js';

export const WEB_CLIENT_DIR = path.resolve(import.meta.dirname, '../../examples/web-client');

export type WebClientExample = typeof AuditFeed &
  typeof Client &
  typeof Errors &
  typeof Operations &
  typeof WorkflowList;

export async function loadWebClientExample(): Promise<WebClientExample> {
  await generate({ ...config, cwd: WEB_CLIENT_DIR, silent: true }, true);
  const modules = await Promise.all([
    import('../../examples/web-client/src/auditFeed.js'),
    import('../../examples/web-client/src/client.js'),
    import('../../examples/web-client/src/errors.js'),
    import('../../examples/web-client/src/operations.js'),
    import('../../examples/web-client/src/workflowList.js'),
  ]);
  return Object.assign({}, ...modules) as WebClientExample;
}
