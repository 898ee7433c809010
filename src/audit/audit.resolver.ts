import { wrap } from '@mikro-orm/core';
import {
  Args,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  ObjectType,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { encodeIdCursor, PageInfo } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { AuditLog } from './audit-log.entity';
import { AuditLogsArgs } from './audit.inputs';

@ObjectType({ description: 'An audit record with its cursor.' })
@TypeRequires(Authenticated)
export class AuditLogEdge {
  @Field()
  cursor!: string;

  @Field(() => AuditLog)
  node!: AuditLog;
}

@ObjectType({ description: 'A page of the audit log, newest first.' })
@TypeRequires(Authenticated)
export class AuditLogConnection {
  @Field(() => [AuditLogEdge])
  edges!: AuditLogEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'Records matching the filter that the caller may read.' })
  totalCount!: number;
}

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
    const page = await services.audit.list(em, permissions, organisationId, args);
    const edges = page.nodes.map((node) => ({ cursor: encodeIdCursor(node.id), node }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount: page.totalCount,
    };
  }

  // An AuditLog is reached only through `auditLogs`, whose list filter decided visibility.
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
