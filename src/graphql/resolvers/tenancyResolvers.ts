import type { Resolvers } from '../../generated/graphql.js';
import { requireId } from '../../domain/inputValidation.js';
import { requireData } from './requireData.js';

export const tenancyResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => {
      requireData(ctx);
      // requireData guarantees a principal.
      return { principal: ctx.principal! };
    },
    health: () => 'ok',
    teams: async (_parent, _args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).team.findMany({
        where: { tenantId: data.tenantId },
        orderBy: [{ name: 'asc' }],
      });
    },
    user: async (_parent, args, ctx) => requireData(ctx).users.load(requireId(args.id, 'id')),
    team: async (_parent, args, ctx) => requireData(ctx).teams.load(requireId(args.id, 'id')),
  },
  Viewer: {
    id: (viewer) => `viewer:${viewer.principal.tenantId}:${viewer.principal.subject}`,
    subject: (viewer) => viewer.principal.subject,
    tenant: async (_viewer, _args, ctx) => {
      const data = requireData(ctx);
      return (await data.tx()).tenant.findFirst({ where: { id: data.tenantId } });
    },
    user: (_viewer, _args, ctx) => requireData(ctx).currentUser(),
    scopes: (viewer) => [...viewer.principal.scopes],
    authenticationMethods: (viewer) => [...viewer.principal.amr],
    expiresAt: (viewer) => new Date(viewer.principal.expiresAt * 1000),
  },
  User: {
    teams: (user, _args, ctx) => requireData(ctx).membershipsByUser.load(user.id),
    rolesFromGroups: (user) => user.mappedRoles,
    active: (user) => user.deactivatedAt === null,
    invitationPending: (user) => user.subject === null,
  },
  Team: {
    members: (team, _args, ctx) => requireData(ctx).membershipsByTeam.load(team.id),
  },
  TeamMembership: {
    id: (m) => `team-membership:${m.teamId}:${m.userId}`,
    fromGroups: (m) => m.viaGroups,
    team: async (m, _args, ctx) => mustExist(await requireData(ctx).teams.load(m.teamId)),
    user: async (m, _args, ctx) => mustExist(await requireData(ctx).users.load(m.userId)),
  },
};

/** A foreign key guarantees the row; its absence is a server fault, not a client error. */
export function mustExist<T>(row: T | null): T {
  if (row === null) throw new Error('referenced row missing despite foreign key');
  return row;
}
