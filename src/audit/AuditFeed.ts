/**
 * The live audit feed of one server instance.
 *
 * Fan-out across instances goes through PostgreSQL: every append sends
 * `NOTIFY gatehouse_audit, '<tenant>:<seq>'` in its own transaction, delivered on commit.
 * The notification carries no event data. For a tenant with subscribers here, the instance
 * reads the new events ONCE, inside a transaction of that tenant (row-level security, not
 * this code, keeps tenants apart), into a bounded ring of recent events that all its
 * subscribers read from: one database read per event per instance, whatever the number of
 * subscribers.
 *
 * Each subscriber is a cursor (the last seq it has passed) that pulls: its next events come
 * from the ring when they are still there, otherwise from the table (a replay with
 * `afterSeq`, or a slow consumer the ring has moved past), and it waits for a notification
 * when it is at the head. So delivery is in seq order, without gaps or duplicates across
 * the switch from stored to live events, and a slow subscriber holds no buffer of its own:
 * memory is bounded by the rings.
 *
 * Notifications can be lost (the listening connection drops): on reconnect, and every
 * `pollIntervalMs` as a safety net, the heads of the tenants with subscribers are re-read.
 */
import type { Listen } from '../data/listen.js';
import type { TenantDatabase } from '../data/TenantDatabase.js';
import type { Logger } from '../observability/logger.js';
import type { AuditEvent } from './AuditEvent.js';
import { AUDIT_CHANNEL } from './appendAuditEvents.js';
import { matchesFilter, type AuditFilter } from './AuditFilter.js';
import { readChainHead, readEventsAfter, type AuditQuery } from './auditRows.js';

export interface AuditFeedOptions {
  readonly tenants: TenantDatabase;
  readonly listen: Listen;
  readonly logger: Logger;
  /** Recent events kept per tenant with subscribers (default 1,000). */
  readonly ringSize?: number;
  /** Events per read from the table (default 500). */
  readonly pageSize?: number;
  /** How often the heads of watched tenants are re-read (default 5 s; 0: never). */
  readonly pollIntervalMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FEED_SUBJECT = 'gatehouse:audit-feed';

interface Signal {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** One tenant's recent events on this instance. */
class TenantFeed {
  readonly tenantId: string;
  subscribers = 0;
  readonly #feed: AuditFeed;
  /** Consecutive events ending at #last. */
  #ring: AuditEvent[] = [];
  /** Seq of the newest event in the ring, or the head it was positioned at (-1: not yet). */
  #last = -1;
  /** The newest seq a notification announced. */
  #announced = 0;
  #changed = signal();
  #refreshing: Promise<void> | undefined;

  constructor(feed: AuditFeed, tenantId: string) {
    this.#feed = feed;
    this.tenantId = tenantId;
  }

  /** Events held in the ring. */
  get buffered(): number {
    return this.#ring.length;
  }

  /** A notification (or a re-read head) says the chain reached `seq`. */
  announce(seq: number): void {
    if (seq > this.#announced) this.#announced = seq;
    // One read at a time; a notification arriving meanwhile is picked up by its loop.
    if (this.#refreshing) return;
    this.#refreshing = this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
  }

  async #refresh(): Promise<void> {
    try {
      if (this.#last < 0) {
        // Positioned at the head as it is now; older events are read by who needs them.
        this.#last = (
          await this.#feed.read(this.tenantId, (q) => readChainHead(q, this.tenantId))
        ).seq;
        this.#wake();
      }
      while (this.#last < this.#announced) {
        const page = await this.#feed.readEvents(this.tenantId, this.#last, this.#announced);
        // Nothing more is visible (a notification can only announce what committed, but a
        // forged one could announce anything): stop until the next one.
        if (page.length === 0) break;
        this.#ring.push(...page);
        this.#last = page.at(-1)!.seq;
        const excess = this.#ring.length - this.#feed.ringSize;
        if (excess > 0) this.#ring.splice(0, excess);
        this.#wake();
      }
    } catch (error) {
      this.#feed.logger.warn('audit feed: reading new events failed; will retry', {
        tenantId: this.tenantId,
        error,
      });
    }
  }

  #wake(): void {
    const changed = this.#changed;
    this.#changed = signal();
    changed.resolve();
  }

  /**
   * The events after `cursor`, oldest first: from the ring, else from the table; waits
   * while there are none. Rejects when the table cannot be read.
   */
  async after(cursor: number, closed: Promise<void>): Promise<AuditEvent[] | undefined> {
    for (;;) {
      const changed = this.#changed.promise; // taken first: no wake-up is lost
      const first = this.#ring[0]?.seq ?? this.#last + 1;
      if (this.#last >= 0 && cursor + 1 >= first && cursor < this.#last) {
        return this.#ring.slice(cursor + 1 - first);
      }
      if (this.#last < 0) {
        this.announce(this.#announced);
      } else if (cursor + 1 < first || cursor > this.#last) {
        // Behind the ring (a replay, a slow consumer) or ahead of it (read from the table
        // before the notification was processed): the table has what was committed.
        const page = await this.#feed.readEvents(this.tenantId, cursor);
        if (page.length > 0) return page;
      }
      const woke = await Promise.race([changed.then(() => true), closed.then(() => false)]);
      if (!woke) return undefined;
    }
  }
}

/** One subscriber: a cursor pulling from its tenant's feed (see the file comment). */
class FeedSubscription implements AsyncIterableIterator<AuditEvent> {
  #cursor: number;
  readonly #filter: AuditFilter;
  readonly #tenant: TenantFeed;
  readonly #release: () => void;
  readonly #closed = signal();
  #done = false;
  #batch: AuditEvent[] = [];

  constructor(tenant: TenantFeed, cursor: number, filter: AuditFilter, release: () => void) {
    this.#tenant = tenant;
    this.#cursor = cursor;
    this.#filter = filter;
    this.#release = release;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<AuditEvent>> {
    while (!this.#done) {
      const event = this.#batch.shift();
      if (event) return { done: false, value: event };
      const page = await this.#tenant.after(this.#cursor, this.#closed.promise);
      if (!page) break;
      for (const e of page) {
        this.#cursor = e.seq;
        if (matchesFilter(this.#filter, e)) this.#batch.push(e);
      }
    }
    return { done: true, value: undefined };
  }

  return(): Promise<IteratorResult<AuditEvent>> {
    if (!this.#done) {
      this.#done = true;
      this.#batch = [];
      this.#closed.resolve();
      this.#release();
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(): Promise<IteratorResult<AuditEvent>> {
    return this.return();
  }
}

export class AuditFeed {
  readonly logger: Logger;
  readonly ringSize: number;
  readonly #options: AuditFeedOptions;
  readonly #pageSize: number;
  readonly #tenants = new Map<string, TenantFeed>();
  #listener: { close(): Promise<void> } | undefined;
  #poll: NodeJS.Timeout | undefined;
  #eventsRead = 0;

  constructor(options: AuditFeedOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.ringSize = options.ringSize ?? 1000;
    this.#pageSize = options.pageSize ?? 500;
  }

  /** Listens for appends (all instances' commits). */
  async start(): Promise<void> {
    this.#listener = await this.#options.listen(
      AUDIT_CHANNEL,
      (payload) => this.#notified(payload),
      () => this.#resync(),
    );
    const every = this.#options.pollIntervalMs ?? 5000;
    if (every > 0) {
      this.#poll = setInterval(() => this.#resync(), every);
      this.#poll.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    await this.#listener?.close();
    this.#listener = undefined;
  }

  /** Live-feed subscribers on this instance (all tenants). */
  get subscribers(): number {
    let n = 0;
    for (const t of this.#tenants.values()) n += t.subscribers;
    return n;
  }

  /** Live-feed subscribers of one tenant on this instance. */
  subscribersOf(tenantId: string): number {
    return this.#tenants.get(tenantId)?.subscribers ?? 0;
  }

  /** Events read from the database so far (by the rings and by catching-up subscribers). */
  get eventsRead(): number {
    return this.#eventsRead;
  }

  /** Events held in memory now, all tenants (each ring is bounded by `ringSize`). */
  get bufferedEvents(): number {
    let n = 0;
    for (const t of this.#tenants.values()) n += t.buffered;
    return n;
  }

  /**
   * The events of `tenantId` after seq `afterSeq` that match `filter`, as they are
   * appended, until the iterator is returned.
   */
  subscribe(
    tenantId: string,
    afterSeq: number,
    filter: AuditFilter = {},
  ): AsyncIterableIterator<AuditEvent> {
    let tenant = this.#tenants.get(tenantId);
    if (!tenant) {
      tenant = new TenantFeed(this, tenantId);
      this.#tenants.set(tenantId, tenant);
    }
    tenant.subscribers += 1;
    const watched = tenant;
    return new FeedSubscription(watched, afterSeq, filter, () => {
      watched.subscribers -= 1;
      if (watched.subscribers === 0 && this.#tenants.get(tenantId) === watched) {
        this.#tenants.delete(tenantId);
      }
    });
  }

  #notified(payload: string): void {
    const at = payload.lastIndexOf(':');
    const tenantId = payload.slice(0, at);
    const seq = Number(payload.slice(at + 1));
    if (!UUID.test(tenantId) || !Number.isSafeInteger(seq)) {
      this.logger.warn('audit feed: ignored a malformed notification');
      return;
    }
    this.#tenants.get(tenantId)?.announce(seq);
  }

  /** Re-reads the heads of the watched tenants (after a reconnect; as a safety net). */
  #resync(): void {
    for (const tenant of this.#tenants.values()) {
      this.read(tenant.tenantId, (q) => readChainHead(q, tenant.tenantId)).then(
        (head) => tenant.announce(head.seq),
        (error: unknown) => this.logger.warn('audit feed: re-reading a head failed', { error }),
      );
    }
  }

  /** Runs `work` in a read transaction of `tenantId` (RLS: that tenant's rows only). */
  read<T>(tenantId: string, work: (query: AuditQuery) => Promise<T>): Promise<T> {
    return this.#options.tenants.transaction({ tenantId, subject: FEED_SUBJECT }, 'read', (tx) =>
      work((sql, params) => tx.$queryRawUnsafe(sql, ...params)),
    );
  }

  /** Events of `tenantId` after `afterSeq` (up to `untilSeq`), one page. */
  async readEvents(tenantId: string, afterSeq: number, untilSeq?: number): Promise<AuditEvent[]> {
    const events = await this.read(tenantId, (q) =>
      readEventsAfter(q, tenantId, afterSeq, this.#pageSize, untilSeq),
    );
    this.#eventsRead += events.length;
    return events;
  }
}
