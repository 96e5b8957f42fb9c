/**
 * The edge of the server, in front of every operation on both transports: who the client
 * is (its address, per TRUST_PROXY), whether its address is locked out after failed
 * authentication, and its rate-limit budget — their counters in one store, Redis when
 * REDIS_URL is set (shared by the replicas), else this process's memory.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { AuthLockout } from './AuthLockout.js';
import { clientAddress } from './clientAddress.js';
import { openRateLimitStore } from './openRateLimitStore.js';
import { RateLimiter } from './RateLimiter.js';
import type { RateLimitStore } from './RateLimitStore.js';

export class Edge {
  readonly rateLimiter: RateLimiter;
  readonly lockout: AuthLockout;
  readonly store: RateLimitStore;
  readonly #trustProxy: Config['trustProxy'];

  constructor(config: Pick<Config, 'rateLimits' | 'lockout' | 'trustProxy'>, logger: Logger) {
    this.store = openRateLimitStore(config.rateLimits.store, logger);
    this.rateLimiter = new RateLimiter(config.rateLimits, this.store);
    this.lockout = new AuthLockout(config.lockout, this.store, logger);
    this.#trustProxy = config.trustProxy;
  }

  /** The client's address for an HTTP request or a WebSocket upgrade. */
  clientIp(req: IncomingMessage): string {
    return clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      this.#trustProxy,
    );
  }

  /** Connects the store (at most `timeoutMs`; a store that does not answer means per-instance limits). */
  async start(timeoutMs = 2_000): Promise<void> {
    await this.store.connect(timeoutMs);
  }

  async close(): Promise<void> {
    this.lockout.close();
    await this.store.close();
  }
}
