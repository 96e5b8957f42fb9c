/**
 * `@audit` is read once at schema build: every mutation and every restricted field must
 * carry a valid one, or the build — and `npm run authz:check` — fails naming the field.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { describe, expect, it } from 'vitest';
import { AuditSchemaError, readAuditedFields } from '../../src/graphql/auditedFields.js';
import { SCHEMA_DIR } from '../../src/graphql/buildSchema.js';

const directives = await readFile(path.join(SCHEMA_DIR, 'directives.graphql'), 'utf8');
const build = (sdl: string) => makeExecutableSchema({ typeDefs: [directives, sdl] });

describe('readAuditedFields', () => {
  it('reads actions, their argument and the id field of audited reads', () => {
    const audited = readAuditedFields(
      build(/* GraphQL */ `
        type Thing @resource(type: "thing", idField: "key") @authenticated {
          key: ID!
          secret: String @classified(level: RESTRICTED) @audit(action: "thing.secret.read")
        }
        type Query {
          thing: Thing @authenticated
        }
        type Mutation {
          rename(id: ID!): Thing
            @permission(name: "edit", on: "id", type: "thing")
            @audit(action: "thing.rename", on: "id")
        }
      `),
    );
    expect([...audited.specs]).toEqual([
      ['Thing.secret', { action: 'thing.secret.read', argument: undefined }],
      ['Mutation.rename', { action: 'thing.rename', argument: 'id' }],
    ]);
    expect([...audited.reads]).toEqual([
      ['Thing.secret', { action: 'thing.secret.read', idField: 'key' }],
    ]);
  });

  it('refuses, listing each coordinate, every way of leaving an action unaudited', () => {
    const attempt = () =>
      readAuditedFields(
        build(/* GraphQL */ `
          type Thing @resource(type: "thing") @authenticated {
            id: ID!
            secret: String @classified(level: RESTRICTED)
            required: String! @audit(action: "thing.required.read")
          }
          type Plain @authenticated {
            id: ID!
            note: String @audit(action: "plain.note.read")
          }
          type Query {
            thing: Thing @authenticated @audit(action: "thing.read")
            plain: Plain @authenticated
          }
          type Mutation {
            forgotten: Boolean @authenticated
            badName: Boolean @authenticated @audit(action: "Thing Created")
            badArgument(id: ID!): Boolean
              @permission(name: "edit", on: "id", type: "thing")
              @audit(action: "thing.edit", on: "nope")
          }
        `),
      );
    expect(attempt).toThrow(AuditSchemaError);
    expect(attempt).toThrow(
      expect.objectContaining({
        problems: [
          'Mutation.badArgument: @audit(on: "nope") names no argument of the field',
          'Mutation.badName: @audit(action: "Thing Created") is not a dotted lowercase name',
          'Mutation.forgotten: every mutation needs @audit(action:)',
          'Plain.note: an audited read needs @resource on Plain (the event names the object)',
          'Query.thing: @audit belongs on mutations and on fields of objects',
          'Thing.required: an audited read must be nullable (it is withheld when its event cannot be written)',
          'Thing.secret: restricted data needs @audit(action:) on its reads',
        ],
      }),
    );
  });
});

describe('npm run authz:check', () => {
  it('fails (exit 1) naming a mutation without @audit, and passes on the real schema', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-schema-'));
    try {
      for (const file of ['directives.graphql', 'scalars.graphql']) {
        await copyFile(path.join(SCHEMA_DIR, file), path.join(dir, file));
      }
      await writeFile(
        path.join(dir, 'app.graphql'),
        'type Query { health: String @public }\ntype Mutation { ping: Boolean @authenticated }\n',
      );
      const run = (args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/authzCheck.ts', ...args], {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, NODE_ENV: 'test' },
        });
      const broken = run(['--schema', dir]);
      expect(broken.status).toBe(1);
      expect(broken.stderr).toBe(
        'authz:check failed:\n  - Mutation.ping: every mutation needs @audit(action:)\n',
      );
      const real = run([]);
      expect(real.status).toBe(0);
      expect(real.stdout).toMatch(/audited \(1 reads\)\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
