import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { organisationHolder } from './holders';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Project } from '../projects/project.entity';
import { ID_KEYS, orderedPage, type Page } from '../shared/cursor';
import { ValidationError } from '../shared/errors';
import { findVisible } from './find-visible';
import {
  type GrantHolder,
  type GrantHolderKind,
  type GrantListArgs,
  type GrantHolderInput,
  grantHolderOf,
  type GrantPermissionsInput,
  PermissionGrantView,
  type GrantScopeInput,
} from './grant.inputs';
import { type AdminKey, type GrantableKey, KEYS_BY_SCOPE } from './keys';
import { GrantScope, PermissionGrant } from './permission-grant.entity';
import type { PermissionService } from './permission.service';

/** What administering each scope takes; granting there (admin included) needs it. */
const ADMIN_OF: Readonly<Record<GrantScope, AdminKey>> = {
  [GrantScope.ORGANISATION]: 'ORGANISATION_ADMIN',
  [GrantScope.PROJECT]: 'PROJECT_ADMIN',
  [GrantScope.ENVIRONMENT]: 'ENVIRONMENT_ADMIN',
};

/** One organisation, project or environment that grants are on. */
interface Target {
  readonly scope: GrantScope;
  readonly organisationId: number;
  readonly projectId: number | null;
  readonly environmentId: number | null;
  /** How the audit log names it. */
  readonly label: string;
}

const SCOPE_FIELDS = ['organisationId', 'projectId', 'environmentId'] as const;

const path = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

/**
 * Object-level grants: a user's, group's or role's keys (and admin flag) on one
 * organisation, project or environment, one row per holder and scope.
 *
 * Nobody can grant more than they hold: organisation grants need organisation ADMIN,
 * project grants project admin there, environment grants environment admin there (each
 * implied by the ones above it). Scopes the caller cannot see are NOT_FOUND, as unknown
 * ids are.
 */
/** Grants held by each kind of holder. */
const HOLDER_KIND: Record<GrantHolderKind, FilterQuery<PermissionGrant>> = {
  USER: { user: { $ne: null } },
  GROUP: { group: { $ne: null } },
  ROLE: { role: { $ne: null } },
};

export class GrantService {
  constructor(private readonly audit: AuditService) {}

  /** The rows on exactly one scope (admins of that scope). */
  /** A page of the grants on one scope (its admins). */
  async list(
    em: EntityManager,
    p: PermissionService,
    args: GrantListArgs,
  ): Promise<Page<PermissionGrantView>> {
    const target = await this.administered(em, p, args, '');
    const where: FilterQuery<PermissionGrant>[] = [atTarget(target)];
    const kind = args.filter?.holderKind;
    if (kind) where.push(HOLDER_KIND[kind]);
    const page = await orderedPage(em, PermissionGrant, where, args, args.orderBy, ID_KEYS);
    return { ...page, nodes: page.nodes.map((g) => PermissionGrantView.of(g)) };
  }

  /** Sets (replaces) the holder's keys and admin flag on the scope. */
  async grant(
    em: EntityManager,
    p: PermissionService,
    input: GrantPermissionsInput,
  ): Promise<PermissionGrantView> {
    const target = await this.administered(em, p, input, 'input');
    const keys = checkKeys(input.keys, target.scope, 'input.keys');
    if (input.admin && target.scope === GrantScope.ORGANISATION)
      throw new ValidationError(
        'input.admin',
        'organisation ADMIN is a membership role (updateOrganisationMember), not a grant',
      );
    const holder = grantHolderOf(input.holder, 'input.holder');
    const who = await organisationHolder(em, target.organisationId, holder, 'input.holder');
    return em.transactional(async (tx) => {
      const rows = await tx.find(
        PermissionGrant,
        { ...atTarget(target), ...holderWhere(holder) },
        { orderBy: { id: 'asc' } },
      );
      const [row, ...extra] = rows;
      const before = row ? describe(row) : null;
      let grant: PermissionGrant;
      if (row) {
        if (extra.length === 0 && sameKeys(row.keys, keys) && row.admin === input.admin)
          return PermissionGrantView.of(row);
        row.keys = keys;
        row.admin = input.admin;
        for (const stray of extra) tx.remove(stray);
        grant = row;
      } else {
        grant = tx.create(PermissionGrant, {
          scope: target.scope,
          organisation: target.organisationId,
          project: target.projectId,
          environment: target.environmentId,
          ...holderWhere(holder),
          keys,
          admin: input.admin,
        });
      }
      await tx.flush();
      await this.record(
        tx,
        p,
        target,
        grant.id,
        row ? ChangeType.UPDATE : ChangeType.CREATE,
        `Permissions of ${who} on ${target.label} set to ${
          [...(input.admin ? ['admin'] : []), ...keys].join(', ') || 'nothing'
        }`,
        before,
        describe(grant),
      );
      return PermissionGrantView.of(grant);
    });
  }

  /** Removes what the holder holds on the scope; false when it held nothing there. */
  async revoke(
    em: EntityManager,
    p: PermissionService,
    holderInput: GrantHolderInput,
    where: GrantScopeInput,
  ): Promise<boolean> {
    const target = await this.administered(em, p, where, 'scope');
    const holder = grantHolderOf(holderInput, 'holder');
    return em.transactional(async (tx) => {
      const rows = await tx.find(
        PermissionGrant,
        { ...atTarget(target), ...holderWhere(holder) },
        { orderBy: { id: 'asc' } },
      );
      if (rows.length === 0) return false;
      await this.record(
        tx,
        p,
        target,
        rows[0]!.id,
        ChangeType.DELETE,
        `Permissions of ${holder.kind} ${holder.id} on ${target.label} revoked`,
        describe(rows[0]!),
        null,
      );
      await tx.nativeDelete(PermissionGrant, { id: { $in: rows.map((r) => r.id) } });
      return true;
    });
  }

  /**
   * The one scope named by `where` (NOT_FOUND when the caller cannot see it), once the
   * caller is known to administer it (FORBIDDEN naming the admin key otherwise).
   */
  private async administered(
    em: EntityManager,
    p: PermissionService,
    where: GrantScopeInput,
    prefix: string,
  ): Promise<Target> {
    const given = SCOPE_FIELDS.filter((f) => where[f] != null);
    if (given.length !== 1)
      throw new ValidationError(
        prefix || 'organisationId',
        'name exactly one of organisationId, projectId and environmentId',
      );
    const field = given[0]!;
    const at = path(prefix, field);
    let target: Target;
    if (field === 'organisationId') {
      const org = await findVisible(
        em,
        p,
        Organisation,
        where.organisationId,
        at,
        'ORGANISATION_MEMBER',
        'organisation',
      );
      target = {
        scope: GrantScope.ORGANISATION,
        organisationId: org.id,
        projectId: null,
        environmentId: null,
        label: `organisation ${org.name}`,
      };
    } else if (field === 'projectId') {
      const project = await findVisible(
        em,
        p,
        Project,
        where.projectId,
        at,
        'VIEW_PROJECT',
        'project',
      );
      target = {
        scope: GrantScope.PROJECT,
        organisationId: project.organisation.id,
        projectId: project.id,
        environmentId: null,
        label: `project ${project.name}`,
      };
    } else {
      const environment = await findVisible(
        em,
        p,
        Environment,
        where.environmentId,
        at,
        'VIEW_ENVIRONMENT',
        'environment',
      );
      const project = await em.findOneOrFail(Project, environment.project.id);
      target = {
        scope: GrantScope.ENVIRONMENT,
        organisationId: project.organisation.id,
        projectId: project.id,
        environmentId: environment.id,
        label: `environment ${environment.name}`,
      };
    }
    await p.assert(ADMIN_OF[target.scope], {
      organisationId: target.organisationId,
      ...(target.projectId !== null && { projectId: target.projectId }),
      ...(target.environmentId !== null && { environmentId: target.environmentId }),
    });
    return target;
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    target: Target,
    grantId: number,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      organisationId: target.organisationId,
      projectId: target.projectId,
      environmentId: target.environmentId,
      type: AuditObjectType.PERMISSION,
      objectId: grantId,
      change,
      log,
      before,
      after,
    });
  }
}

function atTarget(t: Target): {
  scope: GrantScope;
  organisation: number;
  project: number | null;
  environment: number | null;
} {
  return {
    scope: t.scope,
    organisation: t.organisationId,
    project: t.projectId,
    environment: t.environmentId,
  };
}

function holderWhere(holder: GrantHolder): { user: number } | { group: number } | { role: number } {
  switch (holder.kind) {
    case 'user':
      return { user: holder.id };
    case 'group':
      return { group: holder.id };
    case 'role':
      return { role: holder.id };
  }
}

/** The keys, each one of the scope's, without repeats, in the order given. */
function checkKeys(keys: readonly string[], scope: GrantScope, field: string): GrantableKey[] {
  const allowed = KEYS_BY_SCOPE[scope] as readonly string[];
  for (const key of keys) {
    if (!allowed.includes(key))
      throw new ValidationError(
        field,
        `${key} is not ${scope === GrantScope.ENVIRONMENT ? 'an' : 'a'} ${scope.toLowerCase()} key (${allowed.join(', ')})`,
      );
  }
  return [...new Set(keys)] as GrantableKey[];
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

function describe(g: PermissionGrant): Record<string, unknown> {
  return {
    scope: g.scope,
    user: g.user?.id ?? null,
    group: g.group?.id ?? null,
    role: g.role?.id ?? null,
    keys: [...g.keys],
    admin: g.admin,
  };
}
