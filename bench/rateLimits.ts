/**
 * `npm run bench:ratelimits` (part of `npm run bench`): what one rate-limit check costs —
 * RateLimiter.charge for a user, the way every operation is charged — with the in-memory
 * store and with the Redis store (REDIS_URL, default the local Redis; its own key prefix,
 * deleted afterwards). One check at a time (latency: median and p99) and 32 at once
 * (throughput), and this process's CPU per check. Redis's own CPU is not in it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Principal } from '../src/authn/Principal.js';
import { loadConfig } from '../src/config.js';
import { MemoryRateLimitStore } from '../src/edge/MemoryRateLimitStore.js';
import { RateLimiter } from '../src/edge/RateLimiter.js';
import type { RateLimitStore } from '../src/edge/RateLimitStore.js';
import { RedisRateLimitStore } from '../src/edge/RedisRateLimitStore.js';
import { median, percentile } from './statistics.js';

const CHECKS = Number(process.env['BENCH_CHECKS'] ?? '20000');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const config = loadConfig({
  RATE_LIMIT_USER_PER_HOUR: '1000000000',
  RATE_LIMIT_USER_BURST: '1000000000',
}).rateLimits;

const principals: Principal[] = Array.from({ length: 100 }, (_, i) => ({
  kind: 'user',
  subject: `bench|user-${i}`,
  tenantId: '00000000-0000-4000-8000-000000000001',
  roles: [],
  scopes: [],
  amr: [],
  expiresAt: 0,
  tokenId: undefined,
}));

async function measure(name: string, store: RateLimitStore): Promise<string> {
  const limiter = new RateLimiter(config, store);
  const subject = (i: number) => ({ principal: principals[i % principals.length]!, clientIp: '' });
  for (let i = 0; i < 1_000; i += 1) await limiter.charge(subject(i), 50); // warm-up
  const latencies: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < CHECKS; i += 1) {
    const start = process.hrtime.bigint();
    await limiter.charge(subject(i), 50);
    latencies.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  const sequentialCpu = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < CHECKS) {
        next += 1;
        await limiter.charge(subject(next), 50);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const concurrentCpu = process.cpuUsage(cpu);
  const cpuPerCheck = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / CHECKS;
  return `| ${name} | ${median(latencies).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${cpuPerCheck(sequentialCpu).toFixed(1)} | ${Math.round(CHECKS / seconds)} | ${cpuPerCheck(concurrentCpu).toFixed(1)} |`;
}

const rows = [
  '| store | one at a time: median µs | p99 µs | CPU µs/check | 32 at once: checks/s | CPU µs/check |',
  '|---|---|---|---|---|---|',
];
rows.push(await measure('memory', new MemoryRateLimitStore()));
const prefix = `gatehouse-bench:${randomUUID()}:`;
const redis = new RedisRateLimitStore({ url: REDIS_URL, prefix });
if (!(await redis.connect())) throw new Error(`Redis at ${REDIS_URL} does not answer`);
try {
  rows.push(await measure('Redis (loopback)', redis));
} finally {
  await redis.close();
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
}
process.stdout.write(
  `\nRate-limit check (${CHECKS} checks, ${principals.length} principals)\n${rows.join('\n')}\n`,
);
