/**
 * SpiceDB object ids. Every object id is "<tenant uuid>/<object uuid>", so objects of two
 * tenants can never share an id even if their database ids were equal (the database keys
 * are (tenant_id, id)). Organizations are identified by the tenant uuid alone.
 */
export function objectId(tenantId: string, id: string): string {
  return `${tenantId}/${id}`;
}

export function organizationId(tenantId: string): string {
  return tenantId;
}

/** Splits an object id made by {@link objectId}; undefined if it is not one. */
export function parseObjectId(value: string): { tenantId: string; id: string } | undefined {
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1) return undefined;
  return { tenantId: value.slice(0, slash), id: value.slice(slash + 1) };
}
