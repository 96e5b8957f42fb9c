/**
 * The deployment files, checked without a container engine (tools/deployCheck.ts):
 * deploy/compose.yaml loaded by compose-go — the loader of `docker compose` itself — and
 * deploy/Dockerfile linted by dockerfile-utils and held to the image's promises. What this
 * cannot do is build the image or start the containers: there is no engine here. The same
 * topology runs as processes in test/e2e/cluster.test.ts, with deploy/nginx.conf.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  buildComposeCheck,
  lintDockerfile,
  loadCompose,
  type ComposeProject,
} from '../../tools/deployCheck.js';
import { filledIn, parseEnvFile } from '../support/envExample.js';

const VARIABLES = {
  POSTGRES_PASSWORD: 'pg-admin-pw',
  SPICEDB_DB_PASSWORD: 'spicedb-db-pw',
  SPICEDB_PRESHARED_KEY: 'spicedb-preshared-key',
  GATEHOUSE_APP_PASSWORD: 'app-pw',
  GATEHOUSE_OWNER_PASSWORD: 'owner-pw',
};

/** deploy/.env.example filled in, without what compose.yaml sets itself. */
const GATEHOUSE_ENV = parseEnvFile(readFileSync('deploy/.env.example', 'utf8'))
  .filter(([k]) => !['DATABASE_URL', 'SPICEDB_ENDPOINT', 'SPICEDB_PRESHARED_KEY'].includes(k))
  .map(([k, v]) => `${k}=${filledIn(k, v)}`)
  .join('\n');

const DOCKERFILE = readFileSync('deploy/Dockerfile', 'utf8');

describe('deploy/compose.yaml (compose-go)', () => {
  let project: ComposeProject;

  beforeAll(async () => {
    buildComposeCheck();
    const loaded = await loadCompose(VARIABLES, GATEHOUSE_ENV);
    if (!loaded.ok) throw new Error(loaded.error);
    project = loaded.project;
  }, 300_000);

  it('is a valid Compose project with the production topology', () => {
    expect(Object.keys(project.services).sort()).toEqual([
      'gatehouse-1',
      'gatehouse-2',
      'gatehouse-migrate',
      'nginx',
      'otel-collector',
      'postgres',
      'redis',
      'spicedb',
      'spicedb-migrate',
    ]);
    expect(project.services['spicedb']!.image).toBe('authzed/spicedb:v1.56.2');
    expect(project.services['spicedb']!.depends_on?.['spicedb-migrate']?.condition).toBe(
      'service_completed_successfully',
    );
    expect(project.services['spicedb']!.environment?.['SPICEDB_DATASTORE_ENGINE']).toBe('postgres');
    // Only the load balancer is published; it waits for healthy replicas.
    const published = Object.entries(project.services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['nginx']);
    expect(project.services['nginx']!.depends_on).toMatchObject({
      'gatehouse-1': { condition: 'service_healthy' },
      'gatehouse-2': { condition: 'service_healthy' },
    });
  });

  it('gives each replica a valid production configuration, read-only, no capabilities', () => {
    for (const name of ['gatehouse-1', 'gatehouse-2']) {
      const service = project.services[name]!;
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.depends_on?.['gatehouse-migrate']?.condition).toBe(
        'service_completed_successfully',
      );
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? undefined]),
      );
      const config = loadConfig(env);
      expect(config.env).toBe('production');
      expect(config.database.kind).toBe('postgres');
      expect(config.authz.spicedb).toMatchObject({
        kind: 'remote',
        endpoint: 'spicedb:50051',
        presharedKey: 'spicedb-preshared-key',
      });
      expect(env['DATABASE_URL']).toBe('postgres://gatehouse_app:app-pw@postgres:5432/gatehouse');
    }
  });

  it('gives the migration job the same production configuration, plus the owner and admin', () => {
    const job = project.services['gatehouse-migrate']!;
    const env = Object.fromEntries(
      Object.entries(job.environment ?? {}).map(([k, v]) => [k, v ?? undefined]),
    );
    // Its CLIs (db:setup, db:migrate, db:check) load the configuration as the server does.
    const config = loadConfig(env);
    expect(config.env).toBe('production');
    expect(config.database).toMatchObject({
      kind: 'postgres',
      url: 'postgres://gatehouse_app:app-pw@postgres:5432/gatehouse',
      ownerUrl: 'postgres://gatehouse_owner:owner-pw@postgres:5432/gatehouse',
    });
    expect(env['DATABASE_ADMIN_URL']).toBe(
      'postgres://postgres:pg-admin-pw@postgres:5432/postgres',
    );
    expect(job.healthcheck?.disable).toBe(true);
  });

  it('holds no secret itself: each password is required from .env, by name', async () => {
    const text = readFileSync('deploy/compose.yaml', 'utf8');
    for (const value of Object.values(VARIABLES)) expect(text).not.toContain(value);
    for (const name of Object.keys(VARIABLES)) {
      const without = Object.fromEntries(Object.entries(VARIABLES).filter(([k]) => k !== name));
      const loaded = await loadCompose(without, GATEHOUSE_ENV);
      expect(loaded.ok, name).toBe(false);
      if (!loaded.ok) expect(loaded.error).toContain(`required variable ${name} is missing`);
    }
  });

  it('refuses to load without the replicas’ gatehouse.env', async () => {
    const loaded = await loadCompose(VARIABLES, undefined);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.error).toMatch(/gatehouse\.env/);
  });
});

describe('deploy/Dockerfile', () => {
  it('has no problem: dockerfile-utils, and the image rules', () => {
    expect(lintDockerfile(DOCKERFILE)).toEqual([]);
  });

  it('the rules catch what they promise to: root, no health check, a baked secret, one stage', () => {
    const broken = [
      'FROM node:24-bookworm-slim',
      'ENV API_KEY_PEPPER=abc',
      'COPY deploy/.env .env',
      'CMD ["node", "dist/main.js"]',
    ].join('\n');
    const messages = lintDockerfile(broken).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'not multi-stage',
        'the final stage runs as root',
        'no HEALTHCHECK on /readyz',
        'a secret baked into the image: API_KEY_PEPPER',
        'copies secret material: COPY deploy/.env .env',
      ]),
    );
    // And dockerfile-utils' own validation runs (an unknown instruction).
    expect(lintDockerfile(`${DOCKERFILE}\nRUNN echo`).length).toBeGreaterThan(0);
  });

  it('keeps secrets and host builds out of the build context (.dockerignore)', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of [
      '.env',
      '.env.*',
      '.gatehouse',
      'node_modules',
      'dist',
      '.tools',
      '.git',
    ]) {
      expect(ignored).toContain(entry);
    }
  });
});
