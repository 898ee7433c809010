import type { EntityManager } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment } from '../../src/environments/environment.entity';
import { UserGroup, UserGroupMembership } from '../../src/groups/user-group.entity';
import {
  OrganisationMembership,
  OrganisationRole,
} from '../../src/organisations/membership.entity';
import { Organisation } from '../../src/organisations/organisation.entity';
import {
  ENVIRONMENT_KEYS,
  type GrantableKey,
  ORGANISATION_KEYS,
  PROJECT_KEYS,
  type PermissionKey,
  type Scope,
} from '../../src/permissions/keys';
import { GrantScope, PermissionGrant } from '../../src/permissions/permission-grant.entity';
import { PermissionService } from '../../src/permissions/permission.service';
import { RULES } from '../../src/permissions/rules';
import { Project } from '../../src/projects/project.entity';
import { Role, RoleAssignment } from '../../src/roles/role.entity';
import { User } from '../../src/users/user.entity';
import { ANONYMOUS, type Principal } from '../../src/users/principal';
import { LoginMethod } from '../../src/users/login-method';
import { SessionKind } from '../../src/users/user-session.entity';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The permission matrix: for every Flagsmith key, a grant of it (held directly, through a
 * group and through a role) allows exactly that key on exactly that record, and nothing in
 * a sibling record or another organisation. Admin grants imply what Flagsmith says they
 * imply. In every scenario `can` and the list filter agree on every record.
 */

const ALL_KEYS = Object.keys(RULES) as PermissionKey[];

interface World {
  orgA: Organisation;
  orgB: Organisation;
  p1: Project;
  p2: Project;
  q: Project;
  e11: Environment;
  e12: Environment;
  e21: Environment;
  f: Environment;
}

type Holder = 'user' | 'group' | 'role';

let t: TestApp;
let w: World;
let seq = 0;

const fork = (): EntityManager => t.app.db.orm.em.fork();

async function seed(): Promise<World> {
  const em = fork();
  const orgA = em.create(Organisation, { name: 'A' });
  const orgB = em.create(Organisation, { name: 'B' });
  const p1 = em.create(Project, { name: 'P1', organisation: orgA });
  const p2 = em.create(Project, { name: 'P2', organisation: orgA });
  const q = em.create(Project, { name: 'Q', organisation: orgB });
  const e11 = em.create(Environment, { name: 'E11', project: p1 });
  const e12 = em.create(Environment, { name: 'E12', project: p1 });
  const e21 = em.create(Environment, { name: 'E21', project: p2 });
  const f = em.create(Environment, { name: 'F', project: q });
  await em.flush();
  return { orgA, orgB, p1, p2, q, e11, e12, e21, f };
}

async function newUser(extra: { isSuperuser?: boolean } = {}): Promise<User> {
  seq += 1;
  return t.app.services.users.create(fork(), { email: `m${seq}@example.com`, ...extra });
}

async function join(user: User, org: Organisation, role = OrganisationRole.USER): Promise<void> {
  const em = fork();
  em.create(OrganisationMembership, { user: user.id, organisation: org.id, role });
  await em.flush();
}

function target(scope: Scope): { scope: GrantScope; project?: Project; environment?: Environment } {
  switch (scope) {
    case 'ORGANISATION':
      return { scope: GrantScope.ORGANISATION };
    case 'PROJECT':
      return { scope: GrantScope.PROJECT, project: w.p1 };
    case 'ENVIRONMENT':
      return { scope: GrantScope.ENVIRONMENT, project: w.p1, environment: w.e11 };
  }
}

/** Gives `user` a grant on orgA's representative record of `scope`, held by `holder`. */
async function grant(
  user: User,
  holder: Holder,
  scope: Scope,
  body: { keys?: GrantableKey[]; admin?: boolean },
): Promise<void> {
  const em = fork();
  const on = target(scope);
  const base = {
    organisation: w.orgA.id,
    scope: on.scope,
    project: on.project?.id ?? null,
    environment: on.environment?.id ?? null,
    keys: body.keys ?? [],
    admin: body.admin ?? false,
  };
  if (holder === 'user') {
    em.create(PermissionGrant, { ...base, user: user.id });
  } else if (holder === 'group') {
    const group = em.create(UserGroup, { name: `g${++seq}`, organisation: w.orgA.id });
    em.create(UserGroupMembership, { group, user: user.id });
    em.create(PermissionGrant, { ...base, group });
  } else {
    const role = em.create(Role, { name: `r${++seq}`, organisation: w.orgA.id });
    em.create(RoleAssignment, { role, user: user.id });
    em.create(PermissionGrant, { ...base, role });
  }
  await em.flush();
}

function service(user: User | null): PermissionService {
  const principal: Principal = user
    ? {
        kind: 'user',
        user,
        session: { idHash: 'test', kind: SessionKind.TOKEN, method: LoginMethod.PASSWORD },
      }
    : ANONYMOUS;
  return new PermissionService(fork(), principal);
}

/** Every record a key can be asked about, labelled. */
function recordsFor(scope: Scope): [string, Organisation | Project | Environment][] {
  switch (scope) {
    case 'ORGANISATION':
      return [
        ['orgA', w.orgA],
        ['orgB', w.orgB],
      ];
    case 'PROJECT':
      return [
        ['p1', w.p1],
        ['p2', w.p2],
        ['q', w.q],
      ];
    case 'ENVIRONMENT':
      return [
        ['e11', w.e11],
        ['e12', w.e12],
        ['e21', w.e21],
        ['f', w.f],
      ];
  }
}

/**
 * What `can` answers for every key on every record, as "KEY@label" strings, after checking
 * that the list filter selects exactly the same records.
 */
async function allowed(user: User | null): Promise<Set<string>> {
  const p = service(user);
  const out = new Set<string>();
  for (const key of ALL_KEYS) {
    const scope = RULES[key].scope;
    const records = recordsFor(scope);
    const byCan = new Set<string>();
    for (const [label, record] of records) {
      if (await p.can(key, record)) byCan.add(label);
    }
    const em = fork();
    const byFilter = new Set<string>();
    const ids = (rows: { id: number }[]): Set<number> => new Set(rows.map((r) => r.id));
    const found =
      scope === 'ORGANISATION'
        ? ids(await em.find(Organisation, await p.filter(key, Organisation)))
        : scope === 'PROJECT'
          ? ids(await em.find(Project, await p.filter(key, Project)))
          : ids(await em.find(Environment, await p.filter(key, Environment)));
    for (const [label, record] of records) if (found.has(record.id)) byFilter.add(label);
    expect([...byFilter].sort(), `filter and can disagree on ${key}`).toEqual([...byCan].sort());
    for (const label of byCan) out.add(`${key}@${label}`);
  }
  return out;
}

const repr: Record<Scope, string> = { ORGANISATION: 'orgA', PROJECT: 'p1', ENVIRONMENT: 'e11' };

function keysOf(scope: Scope): readonly GrantableKey[] {
  return scope === 'ORGANISATION'
    ? ORGANISATION_KEYS
    : scope === 'PROJECT'
      ? PROJECT_KEYS
      : ENVIRONMENT_KEYS;
}

/** The keys of `scope` on the given records, as "KEY@label". */
function every(keys: readonly PermissionKey[], labels: string[]): string[] {
  return keys.flatMap((k) => labels.map((l) => `${k}@${l}`));
}

const PROJECT_LEVEL: PermissionKey[] = [...PROJECT_KEYS, 'PROJECT_ADMIN'];
const ENV_LEVEL: PermissionKey[] = [...ENVIRONMENT_KEYS, 'ENVIRONMENT_ADMIN'];
const ORG_LEVEL: PermissionKey[] = [...ORGANISATION_KEYS, 'ORGANISATION_ADMIN'];

beforeAll(async () => {
  t = await createTestApp();
  w = await seed();
});

afterAll(async () => {
  await t?.close();
});

describe('permission matrix: one key granted', () => {
  const cases: [Scope, GrantableKey, Holder][] = [];
  for (const scope of ['ORGANISATION', 'PROJECT', 'ENVIRONMENT'] as const)
    for (const key of keysOf(scope))
      for (const holder of ['user', 'group', 'role'] as const) cases.push([scope, key, holder]);

  it.each(cases)(
    '%s key %s held by %s allows exactly that key there',
    async (scope, key, holder) => {
      const user = await newUser();
      await join(user, w.orgA);
      await grant(user, holder, scope, { keys: [key] });
      expect([...(await allowed(user))].sort()).toEqual(
        [`ORGANISATION_MEMBER@orgA`, `${key}@${repr[scope]}`].sort(),
      );
    },
  );
});

describe('permission matrix: what admin implies', () => {
  it('organisation ADMIN: every key on everything in that organisation, nothing outside', async () => {
    const user = await newUser();
    await join(user, w.orgA, OrganisationRole.ADMIN);
    expect([...(await allowed(user))].sort()).toEqual(
      [
        ...every([...ORG_LEVEL, 'ORGANISATION_MEMBER'], ['orgA']),
        ...every(PROJECT_LEVEL, ['p1', 'p2']),
        ...every(ENV_LEVEL, ['e11', 'e12', 'e21']),
      ].sort(),
    );
  });

  it.each(['user', 'group', 'role'] as const)(
    'project admin (held by %s): every project key there and environment admin of its environments',
    async (holder) => {
      const user = await newUser();
      await join(user, w.orgA);
      await grant(user, holder, 'PROJECT', { admin: true });
      expect([...(await allowed(user))].sort()).toEqual(
        [
          'ORGANISATION_MEMBER@orgA',
          ...every(PROJECT_LEVEL, ['p1']),
          ...every(ENV_LEVEL, ['e11', 'e12']),
        ].sort(),
      );
    },
  );

  it.each(['user', 'group', 'role'] as const)(
    'environment admin (held by %s): every environment key on that environment only',
    async (holder) => {
      const user = await newUser();
      await join(user, w.orgA);
      await grant(user, holder, 'ENVIRONMENT', { admin: true });
      expect([...(await allowed(user))].sort()).toEqual(
        ['ORGANISATION_MEMBER@orgA', ...every(ENV_LEVEL, ['e11'])].sort(),
      );
    },
  );

  it('an environment key granted at project scope does not reach the environments', async () => {
    const user = await newUser();
    await join(user, w.orgA);
    // A project row listing an environment key is meaningless; it must not leak downwards.
    await grant(user, 'user', 'PROJECT', {
      keys: ['VIEW_ENVIRONMENT' as GrantableKey, 'VIEW_PROJECT'],
    });
    expect([...(await allowed(user))].sort()).toEqual(
      ['ORGANISATION_MEMBER@orgA', 'VIEW_PROJECT@p1'].sort(),
    );
  });

  it('a plain member sees the organisation and nothing else', async () => {
    const user = await newUser();
    await join(user, w.orgA);
    expect([...(await allowed(user))]).toEqual(['ORGANISATION_MEMBER@orgA']);
  });

  it('grants of someone who is not (or no longer) a member are ignored', async () => {
    const user = await newUser();
    await grant(user, 'user', 'PROJECT', { admin: true, keys: ['VIEW_PROJECT'] });
    await grant(user, 'user', 'ORGANISATION', { keys: ['CREATE_PROJECT'] });
    expect([...(await allowed(user))]).toEqual([]);
    await join(user, w.orgB); // membership elsewhere does not revive them
    expect([...(await allowed(user))].sort()).toEqual(['ORGANISATION_MEMBER@orgB']);
  });

  it('a superuser may do everything everywhere; an anonymous caller nothing', async () => {
    const root = await newUser({ isSuperuser: true });
    const everything = ALL_KEYS.flatMap((k) =>
      recordsFor(RULES[k].scope).map(([l]) => `${k}@${l}`),
    );
    expect([...(await allowed(root))].sort()).toEqual(everything.sort());
    expect([...(await allowed(null))]).toEqual([]);
  });

  it('an inactive superuser is not a superuser', async () => {
    const user = await newUser({ isSuperuser: true });
    const em = fork();
    const fresh = await em.findOneOrFail(User, user.id);
    fresh.isActive = false;
    await em.flush();
    expect([...(await allowed(fresh))]).toEqual([]);
  });
});
