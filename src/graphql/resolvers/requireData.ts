import { unauthenticated } from '../../errors/clientErrors.js';
import type { GatehouseContext } from '../GatehouseContext.js';
import type { RequestData } from '../RequestData.js';

/** Tenant data of the operation; anonymous callers have none (fail closed). */
export function requireData(ctx: GatehouseContext): RequestData {
  if (!ctx.data) throw unauthenticated();
  return ctx.data;
}
