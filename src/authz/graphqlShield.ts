/**
 * graphql-shield, loaded from its CommonJS build. Its ES module build does
 * `import { isUndefined } from 'util'`, which no longer exists on Node 24, so importing it
 * fails at link time. The CommonJS build reads `util.isUndefined` only inside `chain()` and
 * `race()`, which Gatehouse does not use (rules are composed in decideField instead).
 * graphql-middleware is loaded the same way: shield's middleware generator must be the
 * class graphql-middleware checks for (one module realm).
 */
import { createRequire } from 'node:module';
import type * as GraphQLMiddleware from 'graphql-middleware';
import type * as GraphQLShield from 'graphql-shield';

const load = createRequire(import.meta.url);
const shieldModule = load('graphql-shield') as typeof GraphQLShield;

export const { shield, rule, deny } = shieldModule;
export const { applyMiddleware } = load('graphql-middleware') as typeof GraphQLMiddleware;
export type { IRule } from 'graphql-shield';
