import type { Resolvers } from '../../generated/graphql.js';
import { readPolicySettings, updatePolicySettings } from '../../domain/policySettings.js';
import { requireData } from './requireData.js';

export const policySettingsResolvers: Resolvers = {
  Query: {
    policySettings: async (_parent, _args, ctx) => {
      const data = requireData(ctx);
      return readPolicySettings(await data.tx(), data.tenantId);
    },
  },
  Mutation: {
    updatePolicySettings: async (_parent, args, ctx, info) => {
      const data = requireData(ctx);
      const settings = await data.mutate(info, args, (tx, actor) =>
        updatePolicySettings(tx, actor, args.input, args.expectedVersion),
      );
      // Committed: this process's next decision for the tenant reads them again.
      ctx.policyData.invalidate(data.tenantId);
      return settings;
    },
  },
  PolicySettings: {
    id: (_settings, _args, ctx) => `policy-settings:${requireData(ctx).tenantId}`,
    updatedBy: (s, _args, ctx) => (s.updatedBy ? requireData(ctx).users.load(s.updatedBy) : null),
  },
};
