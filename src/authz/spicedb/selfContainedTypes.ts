/**
 * The resource types of a SpiceDB schema whose relationships decide nothing about other
 * objects: no definition reaches an object of theirs through an arrow (`rel->permission`)
 * or names them as a subject set (`type#relation`). A relationship written on such an
 * object (`workflow:1#viewer@user:2`) can change only that object's permissions, so the
 * decision cache forgets that object's decisions instead of all of them
 * (authz/DecisionCache.ts). A direct subject (`relation member: user`) does not make
 * `user` reached: the relationship deciding it is the organisation's, not the user's.
 *
 * Read from the schema text itself, so a schema change that makes a type reached makes
 * its writes invalidate everything again, with no list to keep in step.
 */

/** `definition name { … }` blocks (SpiceDB schemas do not nest them). */
const DEFINITION = /definition\s+([a-z][a-z0-9_/]*)\s*\{([^}]*)\}/g;
/** `relation name: type | type#relation | type:* with caveat`. */
const RELATION = /relation\s+([a-z][a-z0-9_]*)\s*:([^\n]*)/g;
/** The left side of an arrow: `rel->permission`, `rel.any(permission)`, `rel.all(…)`. */
const ARROW = /([a-z][a-z0-9_]*)\s*(?:->|\.(?:any|all)\s*\()/g;

function withoutComments(schema: string): string {
  return schema.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

export function selfContainedTypes(schema: string): ReadonlySet<string> {
  const definitions = new Map<string, string>();
  for (const [, name, body] of withoutComments(schema).matchAll(DEFINITION)) {
    definitions.set(name!, body!);
  }
  const reached = new Set<string>();
  for (const body of definitions.values()) {
    const relationTypes = new Map<string, string[]>();
    for (const [, relation, types] of body.matchAll(RELATION)) {
      const allowed = types!
        .split('|')
        .map((t) => t.trim().split(/\s+/)[0]!)
        .filter(Boolean);
      relationTypes.set(relation!, allowed);
      for (const t of allowed) {
        // A subject set: the set's members are decided by the named type's relationships.
        if (t.includes('#')) reached.add(t.slice(0, t.indexOf('#')));
      }
    }
    // (Arrows appear only in permission expressions, which may span lines.)
    for (const [, relation] of body.matchAll(ARROW)) {
      for (const t of relationTypes.get(relation!) ?? []) reached.add(t.replace(/[#:].*$/, ''));
    }
  }
  return new Set([...definitions.keys()].filter((name) => !reached.has(name)));
}
