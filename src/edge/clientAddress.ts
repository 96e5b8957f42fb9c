/**
 * The client's address: the TCP peer, or — when TRUST_PROXY says the peer is a proxy of
 * ours — the address that proxy reports in `X-Forwarded-For`. By default no proxy is
 * trusted (any client can write that header). Rate limits and lockouts key anonymous
 * traffic on it, the audit trail and the policies see it.
 */
import { isIP, type BlockList } from 'node:net';
import type { TrustProxy } from '../config.js';

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) is `1.2.3.4`. */
function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The client's address for a request from `peer` carrying `forwardedFor`. */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: TrustProxy,
): string {
  const remote = unmapped(peer ?? '');
  if (trust.kind === 'none' || forwardedFor === undefined) return remote;
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => unmapped(s.trim()))
    .filter((s) => s.length > 0);
  // Nearest last: the peer, then what each proxy appended, right to left.
  const chain = [...forwarded, remote];
  if (trust.kind === 'hops') {
    const candidate = chain[Math.max(0, chain.length - 1 - trust.hops)] ?? remote;
    return isIP(candidate) ? candidate : remote;
  }
  let index = chain.length - 1;
  while (index > 0 && isTrusted(trust.list, chain[index] ?? '')) index -= 1;
  const candidate = chain[index] ?? remote;
  // What an untrusted hop wrote is not believed beyond this point; garbage is the peer.
  return isIP(candidate) ? candidate : remote;
}

/**
 * The key anonymous budgets and lockouts count under: an IPv4 address, or an IPv6
 * address's /64 (one subscriber's network, whose addresses are free to rotate).
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
