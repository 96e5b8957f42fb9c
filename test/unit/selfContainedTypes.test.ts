import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { selfContainedTypes } from '../../src/authz/spicedb/selfContainedTypes.js';

describe('selfContainedTypes', () => {
  it("finds the types of Gatehouse's schema that no other type reaches", () => {
    const schema = readFileSync('policies/authz.zed', 'utf8');
    // organization (every `organization->…`) and team (`team->membership` of workflow) are
    // reached: a write on them can change other objects' permissions.
    expect([...selfContainedTypes(schema)].sort()).toEqual([
      'credential',
      'service_account',
      'user',
      'workflow',
    ]);
  });

  it('counts arrows (also .any/.all and across lines) and subject sets as reaching a type, direct subjects not', () => {
    const schema = `
      // definition ghost { relation x: folder }  (a comment: not a definition)
      definition user {}
      definition group { relation member: user | group#member }
      definition folder { relation parent: folder  relation viewer: user }
      definition tag { relation owner: user }
      definition label { relation owner: user }
      definition doc {
        relation folder: folder
        relation tag: tag
        relation label: label with some_caveat
        relation reader: user | group#member | user:*
        permission view = reader +
          folder->viewer + tag.any(owner)
        /* label->owner would reach label */
      }
      definition note { relation doc: doc }`;
    expect([...selfContainedTypes(schema)].sort()).toEqual(['doc', 'label', 'note', 'user']);
  });
});
