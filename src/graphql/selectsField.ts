/**
 * Look-ahead for a prefetch: whether a field of this name is selected anywhere below the
 * current field, within `depth` levels, through fragments. An over-approximation (it does
 * not ask on which type the field stands, nor about @skip/@include), which is what a
 * prefetch wants: reading what no field then uses costs a little, reading too little only
 * leaves the field to its own loader.
 */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

export function selectsField(info: GraphQLResolveInfo, fieldName: string, depth: number): boolean {
  const visit = (set: SelectionSetNode | undefined, level: number): boolean => {
    if (!set || level > depth) return false;
    for (const selection of set.selections) {
      switch (selection.kind) {
        case Kind.FIELD:
          if (selection.name.value === fieldName) return true;
          if (visit(selection.selectionSet, level + 1)) return true;
          break;
        case Kind.INLINE_FRAGMENT:
          if (visit(selection.selectionSet, level)) return true;
          break;
        case Kind.FRAGMENT_SPREAD:
          // Validation has refused fragment cycles; `depth` bounds the walk.
          if (visit(info.fragments[selection.name.value]?.selectionSet, level)) return true;
          break;
      }
    }
    return false;
  };
  return info.fieldNodes.some((node) => visit(node.selectionSet, 1));
}
