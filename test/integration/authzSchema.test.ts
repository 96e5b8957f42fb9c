/**
 * Runs policies/authz.test.yaml (zed validation-file format: schema, relationships,
 * assertTrue/assertFalse, expected subjects per permission) against the real SpiceDB,
 * embedded in-process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { v1 } from '@authzed/authzed-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectSpiceDb,
  ensureSchema,
  type SpiceDbConnection,
} from '../../src/authz/spicedb/SpiceDbConnection.js';

interface ValidationFile {
  schemaFile: string;
  relationships: string;
  assertions: { assertTrue: string[]; assertFalse: string[] };
  validation: Record<string, string[]>;
}

const dir = path.resolve('policies');
const file = parse(readFileSync(path.join(dir, 'authz.test.yaml'), 'utf8')) as ValidationFile;
const ref = (type: string, id: string) =>
  v1.ObjectReference.create({ objectType: type, objectId: id });

/** "type:id#relation@type:id" → parts */
function parseTuple(text: string): {
  type: string;
  id: string;
  relation: string;
  subjectType: string;
  subjectId: string;
} {
  const match = /^(\w+):([\w/-]+)#(\w+)@(\w+):([\w/-]+)$/.exec(text.trim());
  if (!match) throw new Error(`bad tuple: ${text}`);
  const [, type, id, relation, subjectType, subjectId] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { type, id, relation, subjectType, subjectId };
}

const consistency = v1.Consistency.create({
  requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
});

describe('policies/authz.zed', () => {
  let spicedb: SpiceDbConnection;

  beforeAll(async () => {
    spicedb = await connectSpiceDb({ kind: 'embedded' });
    await ensureSchema(spicedb, readFileSync(path.join(dir, file.schemaFile), 'utf8'));
    const updates = file.relationships
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((line) => {
        const t = parseTuple(line);
        return v1.RelationshipUpdate.create({
          operation: v1.RelationshipUpdate_Operation.TOUCH,
          relationship: v1.Relationship.create({
            resource: ref(t.type, t.id),
            relation: t.relation,
            subject: v1.SubjectReference.create({ object: ref(t.subjectType, t.subjectId) }),
          }),
        });
      });
    await spicedb.permissions.writeRelationships(v1.WriteRelationshipsRequest.create({ updates }));
  });
  afterAll(() => spicedb.close());

  async function has(assertion: string): Promise<boolean> {
    const t = parseTuple(assertion);
    const response = await spicedb.permissions.checkPermission(
      v1.CheckPermissionRequest.create({
        consistency,
        resource: ref(t.type, t.id),
        permission: t.relation,
        subject: v1.SubjectReference.create({ object: ref(t.subjectType, t.subjectId) }),
      }),
    );
    return response.permissionship === v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION;
  }

  it.each(file.assertions.assertTrue)('allows %s', async (assertion) => {
    expect(await has(assertion)).toBe(true);
  });

  it.each(file.assertions.assertFalse)('denies %s', async (assertion) => {
    expect(await has(assertion)).toBe(false);
  });

  it.each(Object.entries(file.validation))(
    '%s has exactly the expected subjects',
    async (target, expected) => {
      const [object, permission] = target.split('#') as [string, string];
      const [type, id] = object.split(':') as [string, string];
      const subjects = await spicedb.permissions.lookupSubjects(
        v1.LookupSubjectsRequest.create({
          consistency,
          resource: ref(type, id),
          permission,
          subjectObjectType: 'user',
        }),
      );
      const actual = subjects.map((s) => `user:${s.subject?.subjectObjectId ?? '?'}`).sort();
      const wanted = expected.map((line) => /^\[([^\]]+)\]/.exec(line)?.[1] ?? '?').sort();
      expect(actual).toEqual(wanted);
    },
  );
});
