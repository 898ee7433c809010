import type { EntityManager } from '@mikro-orm/postgresql';
import { buildSchema, execute, type GraphQLObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../../src/graphql/context';
import { PermissionService } from '../../src/permissions/permission.service';
import {
  HIDE_EXTENSION,
  REQUIRES_EXTENSION,
  type Requirement,
} from '../../src/permissions/requirement';
import { enforceTypeRequirements } from '../../src/permissions/type-requirements';
import type { Principal } from '../../src/users/principal';
import { SessionKind } from '../../src/users/user-session.entity';
import { User } from '../../src/users/user.entity';

/**
 * The type-level backstop on its own, on a small schema: Flagward's resolvers also check
 * what they hand out (a state's feature is null when its project may not be viewed), so
 * through the API this layer is only reached when a resolver forgets. Here the resolvers
 * hand out everything, and the layer alone must hold. The requirements used (`superuser`,
 * `authenticated`) need no database.
 */
const SDL = /* GraphQL */ `
  type Query {
    box: Box
    boxes: [Box!]!
    secret: Secret
    secrets: [Secret!]!
  }
  type Box {
    label: String!
    secret: Secret!
    note: String
  }
  type Secret {
    value: String!
  }
`;

function schemaWith(secretNeeds: readonly Requirement[]) {
  const schema = buildSchema(SDL);
  const secret = schema.getType('Secret') as GraphQLObjectType;
  secret.extensions = { ...secret.extensions, [REQUIRES_EXTENSION]: secretNeeds };
  const note = (schema.getType('Box') as GraphQLObjectType).getFields().note!;
  note.extensions = {
    ...note.extensions,
    [REQUIRES_EXTENSION]: [{ kind: 'superuser' }],
    [HIDE_EXTENSION]: true,
  };
  return enforceTypeRequirements(schema);
}

const SUPERUSER: Requirement[] = [{ kind: 'superuser' }];
const box = () => ({ label: 'a box', secret: { value: 'inside' }, note: 'for admins' });
const root = {
  box,
  boxes: () => [box(), box()],
  secret: () => ({ value: 'alone' }),
  secrets: () => [{ value: 'one' }, { value: 'two' }],
};

function person(superuser: boolean): Principal {
  const user = Object.assign(new User(), { id: 1, email: 'p@example.com' });
  user.isSuperuser = superuser;
  return { kind: 'user', user, session: { idHash: 'x', kind: SessionKind.TOKEN } } as Principal;
}

async function run(query: string, principal: Principal, needs: readonly Requirement[] = SUPERUSER) {
  // The requirements used here never reach the database.
  const em = {} as EntityManager;
  const contextValue = {
    em,
    principal,
    permissions: new PermissionService(em, principal),
    typeChecks: new WeakMap(),
  } as unknown as GraphQLContext;
  const result = await execute({
    schema: schemaWith(needs),
    document: parse(query),
    rootValue: root,
    contextValue,
  });
  return JSON.parse(JSON.stringify(result)) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path: (string | number)[]; extensions: { code?: string } }[];
  };
}

describe('type requirements are checked where objects come out', () => {
  it('lets a caller who meets them read the objects, wherever they come from', async () => {
    const res = await run(
      '{ box { label secret { value } note } boxes { secret { value } } secret { value } secrets { value } }',
      person(true),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      box: { label: 'a box', secret: { value: 'inside' }, note: 'for admins' },
      boxes: [{ secret: { value: 'inside' } }, { secret: { value: 'inside' } }],
      secret: { value: 'alone' },
      secrets: [{ value: 'one' }, { value: 'two' }],
    });
  });

  it('answers NOT_FOUND at the field that produced an object the caller may not see', async () => {
    const nested = await run('{ box { label secret { value } } }', person(false));
    expect(nested.errors?.map((e) => [e.extensions.code, e.path])).toEqual([
      ['NOT_FOUND', ['box', 'secret']],
    ]);
    // Secret! is non-null: the box goes with it.
    expect(nested.data).toEqual({ box: null });

    const list = await run('{ secrets { value } }', person(false));
    expect(list.errors?.map((e) => [e.extensions.code, e.path])).toEqual([
      ['NOT_FOUND', ['secrets']],
    ]);
    const inLists = await run('{ boxes { secret { value } } }', person(false));
    expect(inLists.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect(JSON.stringify(inLists)).not.toContain('inside');
  });

  it('tells anonymous callers to sign in', async () => {
    const res = await run('{ secret { value } }', { kind: 'anonymous' }, [
      { kind: 'authenticated' },
    ]);
    expect(res.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    expect(res.data).toEqual({ secret: null });
    const signedIn = await run('{ secret { value } }', person(false), [{ kind: 'authenticated' }]);
    expect(signedIn).toEqual({ data: { secret: { value: 'alone' } } });
  });

  it('reads a hidden field as null for those who do not meet it', async () => {
    expect(await run('{ box { note } }', person(false), [{ kind: 'public' }])).toEqual({
      data: { box: { note: null } },
    });
    expect(await run('{ box { note } }', person(true), [{ kind: 'public' }])).toEqual({
      data: { box: { note: 'for admins' } },
    });
  });

  it('leaves the fields that produce no guarded object alone', () => {
    const schema = buildSchema(SDL);
    const fields = (schema.getType('Box') as GraphQLObjectType).getFields();
    const before = fields.label!.resolve;
    enforceTypeRequirements(schema);
    expect(fields.label!.resolve).toBe(before);
  });

  it('refuses a type requirement that reads arguments', () => {
    const schema = buildSchema(SDL);
    const secret = schema.getType('Secret') as GraphQLObjectType;
    secret.extensions = {
      [REQUIRES_EXTENSION]: [
        { kind: 'permission', key: 'VIEW_PROJECT', on: { arg: 'id', type: 'project' } },
      ],
    };
    expect(() => enforceTypeRequirements(schema)).toThrow(/may only check the object itself/);
  });
});
