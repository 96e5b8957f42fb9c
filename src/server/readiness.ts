/**
 * `/readyz`: whether this instance can answer correctly now — PostgreSQL answers, SpiceDB
 * answers a cheap call, the policy bundle evaluates — each within a short deadline, all at
 * once. Which one failed is reported by name (never why: the log has that), and a check
 * that starts or stops failing is logged once, when it changes.
 */
import type { Logger } from '../observability/logger.js';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or returns false) when it does not. */
  readonly probe: () => Promise<unknown>;
}

export type CheckState = 'ok' | 'failed' | 'timeout';

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckState>>;
}

class ProbeTimeout extends Error {
  override readonly name = 'ProbeTimeout';
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProbeTimeout(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

export function readinessProbe(
  checks: readonly ReadinessCheck[],
  options: { readonly timeoutMs: number; readonly logger: Logger },
): () => Promise<Readiness> {
  const last = new Map<string, CheckState>();
  return async () => {
    const states = await Promise.all(
      checks.map(async ({ name, probe }): Promise<[string, CheckState]> => {
        let state: CheckState;
        let error: unknown;
        try {
          state = (await within(probe(), options.timeoutMs)) === false ? 'failed' : 'ok';
        } catch (caught) {
          error = caught;
          state = caught instanceof ProbeTimeout ? 'timeout' : 'failed';
        }
        const before = last.get(name) ?? 'ok';
        last.set(name, state);
        if (state !== 'ok' && before === 'ok') {
          options.logger.warn('readiness check failing', { check: name, state, error });
        } else if (state === 'ok' && before !== 'ok') {
          options.logger.info('readiness check recovered', { check: name });
        }
        return [name, state];
      }),
    );
    return {
      ready: states.every(([, state]) => state === 'ok'),
      checks: Object.fromEntries(states),
    };
  };
}
