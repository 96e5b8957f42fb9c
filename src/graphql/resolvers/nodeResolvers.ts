/**
 * `node(id:)` and `nodes(ids:)` (schema/node.graphql). Authorization has already decided
 * each object by its type's lookup field (`@nodeLookup`); these only read the allowed ones,
 * the way those lookup fields do.
 */
import type { Resolvers } from '../../generated/graphql.js';
import type { RequestData } from '../RequestData.js';
import { readCredential } from './credentialResolvers.js';
import { requireData } from './requireData.js';
import { readWorkflow } from './workflowResolvers.js';

type NodeModel = NonNullable<Awaited<ReturnType<typeof readNode>>>;

/** The object an id names in the tenant, read as its type's lookup field reads it. */
async function readNode(data: RequestData, id: string) {
  switch (await data.nodeType(id)) {
    case 'Workflow':
      return readWorkflow(data, id);
    case 'User':
      return data.users.load(id);
    case 'Team':
      return data.teams.load(id);
    case 'Credential':
      return readCredential(data, id);
    case null: // no object of the tenant has this id
      return null;
  }
}

export const nodeResolvers: Resolvers = {
  Query: {
    node: (_parent, args, ctx) => readNode(requireData(ctx), args.id.toLowerCase()),
    nodes: (_parent, args, ctx) => {
      const data = requireData(ctx);
      return Promise.all(args.ids.map((id) => readNode(data, id.toLowerCase())));
    },
  },
  Node: {
    // The type was read with the object (a DataLoader of this operation): no second query.
    __resolveType: async (node: NodeModel, ctx) => {
      const type = await requireData(ctx).nodeType(node.id);
      if (!type) throw new Error(`no Node type for ${node.id}`);
      return type;
    },
  },
};
