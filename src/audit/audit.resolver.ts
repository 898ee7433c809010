import { wrap } from '@mikro-orm/core';
import { Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { connectionType, toConnection } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { AuditLog } from './audit-log.entity';
import { AuditLogsArgs, InstanceAuditLogsArgs } from './audit.inputs';

export const AuditLogConnection = connectionType(AuditLog, 'AuditLog', {
  edge: 'An audit record with its cursor.',
  connection: 'A page of the audit log, newest first.',
  totalCount: 'Records matching the filter that the caller may read.',
});
type AuditLogConnection = InstanceType<typeof AuditLogConnection>;

@DenyByDefault()
@Resolver(() => AuditLog)
export class AuditLogResolver {
  @Query(() => AuditLogConnection, {
    description:
      "An organisation's audit log, newest first. Organisation admins read every record; " +
      'other members read the records of projects where they hold VIEW_AUDIT_LOG.',
  })
  @Requires(permissionOn('ORGANISATION_MEMBER', { arg: 'organisationId', type: 'organisation' }))
  async auditLogs(
    @Args() args: AuditLogsArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<AuditLogConnection> {
    const organisationId = parseId(args.organisationId, 'organisationId');
    return toConnection(await services.audit.list(em, permissions, organisationId, args));
  }

  @Query(() => AuditLogConnection, {
    description:
      "Every audit record of this Flagward instance (user accounts' too), newest first. Needs the view_auditlog model permission.",
  })
  @Requires({ kind: 'model', codename: 'view_auditlog' })
  async instanceAuditLogs(
    @Args() args: InstanceAuditLogsArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<AuditLogConnection> {
    return toConnection(await services.audit.listAll(em, args));
  }

  // An AuditLog is reached only through `auditLogs` and `instanceAuditLogs`, whose filters
  // decided visibility.
  @FieldResolver(() => ID, { nullable: true, description: 'Null for organisation-level records.' })
  @Requires(Authenticated)
  projectId(@Root() log: AuditLog): number | null {
    return log.project?.id ?? null;
  }

  @FieldResolver(() => ID, { nullable: true })
  @Requires(Authenticated)
  environmentId(@Root() log: AuditLog): number | null {
    return log.environment?.id ?? null;
  }

  @FieldResolver(() => User, {
    nullable: true,
    description: 'Who made the change (null for API keys, the system, or deleted users).',
  })
  @Requires(Authenticated)
  async author(@Root() log: AuditLog, @Ctx() { em }: GraphQLContext): Promise<User | null> {
    if (!log.author) return null;
    // `auditLogs` populates authors (one query per page); this covers any other path.
    return wrap(log.author).isInitialized() ? log.author : em.findOne(User, log.author.id);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'The name of the organisation API key that made the change, if one did.',
  })
  @Requires(Authenticated)
  async apiKeyName(@Root() log: AuditLog, @Ctx() { em }: GraphQLContext): Promise<string | null> {
    if (!log.apiKey) return null;
    if (wrap(log.apiKey).isInitialized()) return log.apiKey.name;
    return (await em.populate(log, ['apiKey'])).apiKey?.name ?? null;
  }
}
