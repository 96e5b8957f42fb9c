import type { ServerResponse } from 'node:http';

/**
 * Headers on every response. The API serves JSON only, so the strictest CSP applies and
 * nothing may frame it; responses carry per-user data, so nothing is cached.
 */
export function setSecurityHeaders(res: ServerResponse, production: boolean): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  if (production) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
}
