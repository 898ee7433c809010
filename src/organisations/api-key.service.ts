import { timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import type { PermissionService } from '../permissions/permission.service';
import { Role, RoleAssignment } from '../roles/role.entity';
import type { Page } from '../shared/cursor';
import type { LoginThrottleConfig } from '../config/config';
import { attempts } from '../shared/attempt-counter';
import { TooManyRequestsError, ValidationError } from '../shared/errors';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import { parseId } from '../shared/id-arg';
import { sha256Hex, shortUuid } from '../shared/ids';
import type { Principal } from '../users/principal';
import { OrganisationApiKey } from './organisation-api-key.entity';
import type { CreateOrganisationApiKeyInput } from './api-key.inputs';

/** `<8-character prefix>.<32-character secret>`, as Flagsmith's master API keys look. */
const KEY_FORMAT = /^([2-9A-HJ-NP-Za-km-z]{8})\.([2-9A-HJ-NP-Za-km-z]{32})$/;

/** Organisation API keys: created by organisation admins, shown once, stored hashed. */
export class ApiKeyService {
  constructor(
    private readonly audit: AuditService,
    private readonly limits: LoginThrottleConfig,
  ) {}

  /** A page of an organisation's API keys. */
  list(
    em: EntityManager,
    organisationId: number,
    args: NamedListArgs,
  ): Promise<Page<OrganisationApiKey>> {
    return namedPage(em, OrganisationApiKey, [{ organisation: organisationId }], args);
  }

  /** Creates a key; returns it in full, the only time it is ever visible. */
  async create(
    em: EntityManager,
    p: PermissionService,
    organisationId: number,
    input: CreateOrganisationApiKeyInput,
  ): Promise<{ key: string; apiKey: OrganisationApiKey }> {
    const name = input.name.trim();
    if (!name) throw new ValidationError('input.name', 'must not be blank');
    if (input.expiresAt && input.expiresAt <= new Date())
      throw new ValidationError('input.expiresAt', 'must be in the future');
    const roleIds = (input.roleIds ?? []).map((id, i) => parseId(id, `input.roleIds.${i}`));
    if (input.isAdmin && roleIds.length > 0)
      throw new ValidationError(
        'input.roleIds',
        'an admin key holds every permission; give roles only to non-admin keys',
      );
    const key = `${shortUuid(8)}.${shortUuid(32)}`;
    return em.transactional(async (tx) => {
      const roles = await tx.find(Role, { id: { $in: roleIds }, organisation: organisationId });
      const found = new Set(roles.map((r) => r.id));
      const stray = roleIds.findIndex((id) => !found.has(id));
      if (stray >= 0)
        throw new ValidationError(
          `input.roleIds.${stray}`,
          `no role of this organisation with id ${roleIds[stray]}`,
        );
      const apiKey = tx.create(OrganisationApiKey, {
        organisation: organisationId,
        name,
        prefix: key.slice(0, 8),
        keyHash: sha256Hex(key),
        isAdmin: input.isAdmin,
        expiresAt: input.expiresAt ?? null,
        createdBy: p.userId ?? null,
      });
      for (const role of roles) tx.create(RoleAssignment, { role, apiKey });
      await tx.flush();
      await this.record(
        tx,
        p,
        apiKey,
        ChangeType.CREATE,
        `Organisation API key created: ${name}`,
        null,
        {
          name,
          prefix: apiKey.prefix,
          isAdmin: apiKey.isAdmin,
          expiresAt: apiKey.expiresAt?.toISOString() ?? null,
          roleIds,
        },
      );
      return { key, apiKey };
    });
  }

  async revoke(
    em: EntityManager,
    p: PermissionService,
    apiKey: OrganisationApiKey,
  ): Promise<OrganisationApiKey> {
    if (apiKey.revokedAt) return apiKey;
    return em.transactional(async (tx) => {
      apiKey.revokedAt = new Date();
      await tx.flush();
      await this.record(
        tx,
        p,
        apiKey,
        ChangeType.UPDATE,
        `Organisation API key revoked: ${apiKey.name}`,
        { revoked: false },
        { revoked: true },
      );
      return apiKey;
    });
  }

  /**
   * The principal an `Api-Key` credential stands for, or null when it is not a usable key.
   *
   * Wrong keys are counted per client address; an address past the limit is refused with
   * TOO_MANY_REQUESTS (even for a right key, so a block tells nothing) until the block ends.
   * They are not counted per key: with a 32-character random secret no key can be guessed,
   * and blocking a key for the wrong tries of others would only let anyone who saw its
   * public prefix switch off an organisation's automation.
   */
  async authenticate(
    em: EntityManager,
    presented: string,
    address: string | undefined,
  ): Promise<Principal | null> {
    const subject = `api-key-address:${address || 'unknown'}`;
    const retryAfter = await attempts.blockedFor(em, [subject]);
    if (retryAfter > 0) {
      throw new TooManyRequestsError(
        `Too many requests with a wrong API key; try again in ${retryAfter} seconds`,
        retryAfter,
      );
    }
    const found = await this.find(em, presented);
    if (!found) {
      const { apiKeyFailuresPerAddress: limit, windowMs, blockMs } = this.limits;
      await attempts.count(em, subject, { limit, windowMs, blockMs });
    }
    return found;
  }

  private async find(em: EntityManager, presented: string): Promise<Principal | null> {
    const parts = KEY_FORMAT.exec(presented);
    if (!parts) return null;
    const row = await em.findOne(OrganisationApiKey, { prefix: parts[1]! });
    if (!row || !row.isUsableAt(new Date())) return null;
    const expected = Buffer.from(row.keyHash, 'hex');
    const actual = Buffer.from(sha256Hex(presented), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    return {
      kind: 'apiKey',
      key: {
        id: row.id,
        name: row.name,
        organisationId: row.organisation.id,
        isAdmin: row.isAdmin,
      },
    };
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    apiKey: OrganisationApiKey,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      organisationId: apiKey.organisation.id,
      type: AuditObjectType.API_KEY,
      objectId: apiKey.id,
      change,
      log,
      before,
      after,
    });
  }
}
