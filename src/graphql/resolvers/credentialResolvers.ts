import type { Resolvers } from '../../generated/graphql.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { requireId } from '../../domain/inputValidation.js';
import {
  createCredential,
  deleteCredential,
  rotateCredential,
  visibleCredentials,
} from '../../domain/credentialCommands.js';
import { CREDENTIAL_COLUMNS, type CredentialModel } from '../../domain/credentialModel.js';
import type { RequestData } from '../RequestData.js';
import { mustExist } from './tenancyResolvers.js';
import { requireData } from './requireData.js';
import { listLookahead } from '../../authz/selectedPermissions.js';
import { checkedPage, connectionFields, emptyPage, keyset, positionPageRequest } from './paging.js';

/** A credential of the tenant by id (`credential(id:)`, `node(id:)`), or null. */
export async function readCredential(
  data: RequestData,
  id: string,
): Promise<CredentialModel | null> {
  return (await data.tx()).credential.findFirst({
    where: { tenantId: data.tenantId, id },
    select: CREDENTIAL_COLUMNS,
  });
}

export const credentialResolvers: Resolvers = {
  Query: {
    credentials: async (_parent, args, ctx, info) => {
      const data = requireData(ctx);
      const request = positionPageRequest(args);
      // A user, or a service account (with its roles: it owns no credential).
      const user = await data.currentCaller();
      if (!user) return { ...emptyPage(), where: { id: { in: [] } } };
      const where: Prisma.CredentialWhereInput = {
        AND: [{ tenantId: data.tenantId }, visibleCredentials(user)],
      };
      const page = keyset(request);
      const rows = await (
        await data.tx()
      ).credential.findMany({
        where: { AND: [where, page.where] },
        orderBy: page.orderBy,
        take: page.take,
        select: CREDENTIAL_COLUMNS,
      });
      const checked = await checkedPage(rows, request, (p) =>
        ctx.authz.filter(
          p,
          'credential',
          (c) => c.id,
          'view',
          listLookahead(info, 'credential', ctx),
        ),
      );
      return { ...checked, where };
    },
    credential: (_parent, args, ctx) => readCredential(requireData(ctx), requireId(args.id, 'id')),
  },
  Mutation: {
    createCredential: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        createCredential(tx, actor, ctx.secrets, args.input),
      ),
    rotateCredential: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) =>
        rotateCredential(tx, actor, ctx.secrets, args.id, args.secret),
      ),
    deleteCredential: (_parent, args, ctx, info) =>
      requireData(ctx).mutate(info, args, (tx, actor) => deleteCredential(tx, actor, args.id)),
  },
  CredentialConnection: {
    ...connectionFields,
    totalCount: async (conn, _args, ctx) =>
      (await requireData(ctx).tx()).credential.count({ where: conn.where }),
  },
  Credential: {
    owner: async (c, _args, ctx) => mustExist(await requireData(ctx).users.load(c.ownerId)),
    // Reached only after SpiceDB (`read_secret`: the owner) and the classification policy
    // (restricted: multi-factor authentication) allowed it.
    secret: async (c, _args, ctx) => {
      const sealed = await requireData(ctx).credentialSecrets.load(c.id);
      if (!sealed) return null;
      // A secret that does not open (unknown key, tampering) is a server fault: it is
      // logged without the ciphertext and answered as INTERNAL_SERVER_ERROR.
      return ctx.secrets.open(sealed, { tenantId: c.tenantId, id: c.id });
    },
  },
};
