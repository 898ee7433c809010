import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { FeatureState, MultivariateStateValue } from '../features/feature-state.entity';
import { MultivariateOption } from '../features/multivariate-option.entity';
import { Feature } from '../features/feature.entity';
import { typeInitialValue } from '../features/feature-value';
import { GrantScope, PermissionGrant } from '../permissions/permission-grant.entity';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { applySettings, pick } from '../shared/apply-settings';
import type { Page } from '../shared/cursor';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import { shortUuid, sha256Hex } from '../shared/ids';
import {
  type CreateEnvironmentInput,
  type CreateServerSideKeyInput,
  ENVIRONMENT_SETTING_KEYS,
  NULLABLE_ENVIRONMENT_SETTINGS,
  type UpdateEnvironmentInput,
  type UpdateServerSideKeyInput,
} from './environment.inputs';
import { Environment } from './environment.entity';
import { environmentsChanged } from './touch';
import { SERVER_KEY_PREFIX, ServerSideKey } from './server-side-key.entity';

const AUDITED = ['name', ...ENVIRONMENT_SETTING_KEYS] as const;
const KEY_AUDITED = ['name', 'keyPrefix', 'active', 'expiresAt'] as const;

export class EnvironmentService {
  constructor(private readonly audit: AuditService) {}

  async create(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    input: CreateEnvironmentInput,
  ): Promise<Environment> {
    const created = await em.transactional(async (tx) => {
      const env = tx.create(Environment, { name: input.name.trim(), project });
      applySettings(env, input, ENVIRONMENT_SETTING_KEYS, NULLABLE_ENVIRONMENT_SETTINGS);
      // Every feature of the project gets its default state here.
      const features = await tx.find(Feature, { project });
      const options = await tx.find(MultivariateOption, { feature: { project } });
      for (const feature of features) {
        const value = project.preventFlagDefaults
          ? typeInitialValue(null)
          : typeInitialValue(feature.initialValue);
        const state = tx.create(FeatureState, {
          feature,
          environment: env,
          enabled: project.preventFlagDefaults ? false : feature.defaultEnabled,
          ...value,
        });
        for (const option of options.filter((o) => o.feature.id === feature.id)) {
          tx.create(MultivariateStateValue, {
            featureState: state,
            option,
            percentageAllocation: option.defaultPercentageAllocation,
          });
        }
      }
      const userId = p.userId;
      if (userId !== undefined) {
        tx.create(PermissionGrant, {
          scope: GrantScope.ENVIRONMENT,
          organisation: project.organisation,
          project,
          environment: env,
          user: userId,
          admin: true,
        });
      }
      await tx.flush();
      await this.record(
        tx,
        p,
        project,
        env,
        ChangeType.CREATE,
        `New environment created: ${env.name}`,
        null,
        pick(env, AUDITED),
      );
      return env;
    });
    // The caller became the environment's admin in this request.
    p.forget();
    return created;
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    env: Environment,
    input: UpdateEnvironmentInput,
  ): Promise<Environment> {
    return em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, env.project.id);
      const before = pick(env, AUDITED);
      if (input.name !== undefined) env.name = input.name.trim();
      applySettings(env, input, ENVIRONMENT_SETTING_KEYS, NULLABLE_ENVIRONMENT_SETTINGS);
      await this.record(
        tx,
        p,
        project,
        env,
        ChangeType.UPDATE,
        `Environment updated: ${env.name}`,
        before,
        pick(env, AUDITED),
      );
      await tx.flush();
      await environmentsChanged(tx, { environmentId: env.id });
      return env;
    });
  }

  async delete(em: EntityManager, p: PermissionService, env: Environment): Promise<void> {
    await em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, env.project.id);
      await this.audit.record(tx, p, {
        ...auditScope(project),
        type: AuditObjectType.ENVIRONMENT,
        objectId: env.id,
        objectUuid: env.uuid,
        change: ChangeType.DELETE,
        log: `Environment deleted: ${env.name}`,
        before: pick(env, AUDITED),
      });
      await environmentsChanged(tx, { environmentId: env.id });
      tx.remove(env);
      await tx.flush();
    });
  }

  /** A page of a project's environments the caller may view. */
  async list(
    em: EntityManager,
    p: PermissionService,
    projectId: number,
    args: NamedListArgs,
  ): Promise<Page<Environment>> {
    const visible = await p.filter('VIEW_ENVIRONMENT', Environment);
    return namedPage(em, Environment, [{ project: projectId }, visible], args);
  }

  listServerSideKeys(em: EntityManager, env: Environment): Promise<ServerSideKey[]> {
    return em.find(ServerSideKey, { environment: env }, { orderBy: { id: 'asc' } });
  }

  /** Creates a key; returns it in full, the only time it is ever visible. */
  async createServerSideKey(
    em: EntityManager,
    p: PermissionService,
    env: Environment,
    input: CreateServerSideKeyInput,
  ): Promise<{ key: string; serverSideKey: ServerSideKey }> {
    const key = SERVER_KEY_PREFIX + shortUuid();
    return em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, env.project.id);
      const row = tx.create(ServerSideKey, {
        environment: env,
        name: input.name.trim(),
        keyHash: sha256Hex(key),
        keyPrefix: key.slice(0, SERVER_KEY_PREFIX.length + 4),
        expiresAt: input.expiresAt ?? null,
      });
      await tx.flush();
      await this.recordKey(
        tx,
        p,
        project,
        env,
        row,
        ChangeType.CREATE,
        `Server-side key created: ${row.name}`,
        null,
      );
      return { key, serverSideKey: row };
    });
  }

  async updateServerSideKey(
    em: EntityManager,
    p: PermissionService,
    row: ServerSideKey,
    input: UpdateServerSideKeyInput,
  ): Promise<ServerSideKey> {
    return em.transactional(async (tx) => {
      const env = await tx.findOneOrFail(Environment, row.environment.id);
      const project = await tx.findOneOrFail(Project, env.project.id);
      const before = pick(row, KEY_AUDITED);
      if (input.name !== undefined) row.name = input.name.trim();
      applySettings(row, input, ['active', 'expiresAt'], ['expiresAt']);
      await this.recordKey(
        tx,
        p,
        project,
        env,
        row,
        ChangeType.UPDATE,
        `Server-side key updated: ${row.name}`,
        before,
      );
      await tx.flush();
      await environmentsChanged(tx, { environmentId: env.id });
      return row;
    });
  }

  async deleteServerSideKey(
    em: EntityManager,
    p: PermissionService,
    row: ServerSideKey,
  ): Promise<void> {
    await em.transactional(async (tx) => {
      const env = await tx.findOneOrFail(Environment, row.environment.id);
      const project = await tx.findOneOrFail(Project, env.project.id);
      await this.audit.record(tx, p, {
        ...auditScope(project, env),
        type: AuditObjectType.API_KEY,
        objectId: row.id,
        change: ChangeType.DELETE,
        log: `Server-side key deleted: ${row.name}`,
        before: pick(row, KEY_AUDITED),
      });
      tx.remove(row);
      await tx.flush();
      await environmentsChanged(tx, { environmentId: env.id });
    });
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    project: Project,
    env: Environment,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      ...auditScope(project, env),
      type: AuditObjectType.ENVIRONMENT,
      objectId: env.id,
      objectUuid: env.uuid,
      change,
      log,
      before,
      after,
    });
  }

  private async recordKey(
    tx: EntityManager,
    p: PermissionService,
    project: Project,
    env: Environment,
    row: ServerSideKey,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      ...auditScope(project, env),
      type: AuditObjectType.API_KEY,
      objectId: row.id,
      change,
      log,
      before,
      after: pick(row, KEY_AUDITED),
    });
  }
}
