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

/** The SpiceDB id of the tenant's object `resourceType:id` (the organisation: the tenant). */
export function tenantObjectId(tenantId: string, resourceType: string, id: string): string {
  return resourceType === 'organization' ? organizationId(tenantId) : objectId(tenantId, id);
}
