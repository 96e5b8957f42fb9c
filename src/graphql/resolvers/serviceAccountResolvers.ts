import type { Resolvers } from '../../generated/graphql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { API_KEY_PREFIX } from '../../authn/apiKeys.js';
import {
  addServiceAccountToTeam,
  removeServiceAccountFromTeam,
  createApiKey,
  createServiceAccount,
  deactivateServiceAccount,
  revokeApiKey,
  rotateApiKey,
  setServiceAccountRoles,
} from '../../domain/identity/serviceAccountCommands.js';
import { SERVICE_ACCOUNT_COLUMNS } from '../../domain/identity/serviceAccountModel.js';
import { requireData } from './requireData.js';
import { checkedPage, connectionFields, keyset, positionPageRequest } from './paging.js';

export const serviceAccountResolvers: Resolvers = {
  Query: {
    // Reached only with `manage_service_accounts` on the organisation, which covers every
    // account of it: no per-row check. RLS keeps the rows the tenant's.
    serviceAccounts: async (_parent, args, ctx) => {
      const data = requireData(ctx);
      const request = positionPageRequest(args);
      const where: Prisma.ServiceAccountWhereInput = { tenantId: data.tenantId };
      const page = keyset(request);
      const rows = await (
        await data.tx()
      ).serviceAccount.findMany({
        where: { AND: [where, page.where] },
        orderBy: page.orderBy,
        take: page.take,
        select: SERVICE_ACCOUNT_COLUMNS,
      });
      return { ...(await checkedPage(rows, request)), where };
    },
  },
  Mutation: {
    createServiceAccount: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        createServiceAccount(tx, actor, args.input),
      ),
    deactivateServiceAccount: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        deactivateServiceAccount(tx, actor, args.id),
      ),
    setServiceAccountRoles: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        setServiceAccountRoles(tx, actor, args.id, args.roles),
      ),
    createApiKey: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        createApiKey(tx, actor, ctx.apiKeyPepper, args.input),
      ),
    rotateApiKey: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        rotateApiKey(tx, actor, ctx.apiKeyPepper, args.id, args.overlapSeconds),
      ),
    addServiceAccountToTeam: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        addServiceAccountToTeam(tx, actor, args.id, args.teamId),
      ),
    removeServiceAccountFromTeam: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        removeServiceAccountFromTeam(tx, actor, args.id, args.teamId),
      ),
    revokeApiKey: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => revokeApiKey(tx, actor, args.id)),
  },
  ServiceAccountConnection: {
    ...connectionFields,
    totalCount: async (conn, _args, ctx) =>
      (await requireData(ctx).tx()).serviceAccount.count({ where: conn.where }),
  },
  ServiceAccount: {
    apiKeys: (account, _args, ctx) => requireData(ctx).apiKeysByAccount.load(account.id),
    teams: async (account, _args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).team.findMany({
        where: {
          tenantId: data.tenantId,
          serviceAccountMemberships: { some: { serviceAccountId: account.id } },
        },
        orderBy: [{ name: 'asc' }],
      });
    },
  },
  ApiKey: {
    prefix: (key) => `${API_KEY_PREFIX}${key.id}`,
  },
};
