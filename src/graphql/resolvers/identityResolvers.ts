import type { Resolvers } from '../../generated/graphql.js';
import { readRoleMapping, updateRoleMapping } from '../../domain/identity/roleMapping.js';
import {
  addTeamMember,
  createTeam,
  removeTeamMember,
  renameTeam,
} from '../../domain/identity/teamCommands.js';
import {
  deactivateUser,
  inviteUser,
  reactivateUser,
  setUserRoles,
} from '../../domain/identity/userCommands.js';
import { listLookahead } from '../../authz/selectedPermissions.js';
import { requireData } from './requireData.js';
import { checkedPage, connectionFields, keyset, positionPageRequest } from './paging.js';

export const identityResolvers: Resolvers = {
  Query: {
    users: async (_parent, args, ctx, info) => {
      const data = requireData(ctx);
      const request = positionPageRequest(args);
      const page = keyset(request);
      const rows = await (
        await data.tx()
      ).user.findMany({
        where: { AND: [{ tenantId: data.tenantId }, page.where] },
        orderBy: page.orderBy,
        take: page.take,
      });
      // One bulk check for the page (`view` on each user); the fields' checks hit its memo.
      return checkedPage(rows, request, (p) =>
        ctx.authz.filter(p, 'user', (u) => u.id, 'view', listLookahead(info, 'user', ctx)),
      );
    },
    roleMapping: async (_parent, _args, ctx) => {
      const data = requireData(ctx);
      return readRoleMapping(await data.tx(), data.tenantId);
    },
  },
  Mutation: {
    inviteUser: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => inviteUser(tx, actor, args.input)),
    setUserRoles: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        setUserRoles(tx, actor, args.userId, args.roles),
      ),
    deactivateUser: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => deactivateUser(tx, actor, args.userId)),
    reactivateUser: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => reactivateUser(tx, actor, args.userId)),
    createTeam: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => createTeam(tx, actor, args.input)),
    renameTeam: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => renameTeam(tx, actor, args.id, args.name)),
    addTeamMember: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        addTeamMember(tx, actor, {
          teamId: args.teamId,
          userId: args.userId,
          role: args.role,
        }),
      ),
    removeTeamMember: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        removeTeamMember(tx, actor, { teamId: args.teamId, userId: args.userId }),
      ),
    updateRoleMapping: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => updateRoleMapping(tx, actor, args.rules)),
  },
  UserConnection: connectionFields,
  RoleMapping: {
    id: (_mapping, _args, ctx) => `role-mapping:${requireData(ctx).tenantId}`,
  },
  GroupMappingRule: {
    // A rule's team is of this organisation (foreign key); Team's own check decides it.
    team: async (rule, _args, ctx) =>
      rule.teamId ? requireData(ctx).teams.load(rule.teamId) : null,
  },
};
