import {
  Arg,
  Args,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { encodeIdCursor, PageInfo } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { WebhookAttempt, WebhookDelivery } from './delivery.entity';
import { Webhook, WebhookScope } from './webhook.entity';
import {
  CreateEnvironmentWebhookInput,
  CreateOrganisationWebhookInput,
  UpdateWebhookInput,
  WebhookDeliveriesArgs,
} from './webhook.inputs';

@ObjectType({ description: 'A webhook delivery with its cursor.' })
@TypeRequires(Authenticated)
export class WebhookDeliveryEdge {
  @Field()
  cursor!: string;

  @Field(() => WebhookDelivery)
  node!: WebhookDelivery;
}

@ObjectType({ description: "A page of a webhook's deliveries, newest first." })
@TypeRequires(Authenticated)
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge])
  edges!: WebhookDeliveryEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

const envArg = (arg: string) => ({ arg, type: 'environment' as const });
const orgArg = (arg: string) => ({ arg, type: 'organisation' as const });

/**
 * Webhooks. Environment webhooks belong to environment admins, organisation webhooks to
 * organisation admins; a webhook (or delivery) named by id is looked up through
 * `loadManaged`, which answers "not found" to anyone else.
 */
@DenyByDefault()
@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => [Webhook], { description: "An environment's webhooks (environment admins)." })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('environmentId')))
  environmentWebhooks(
    @Arg('environmentId', () => ID) environmentId: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<Webhook[]> {
    return services.webhooks.list(em, { environment: parseId(environmentId, 'environmentId') });
  }

  @Query(() => [Webhook], { description: "An organisation's webhooks (organisation admins)." })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('organisationId')))
  organisationWebhooks(
    @Arg('organisationId', () => ID) organisationId: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<Webhook[]> {
    return services.webhooks.list(em, {
      scope: WebhookScope.ORGANISATION,
      organisation: parseId(organisationId, 'organisationId'),
    });
  }

  @Query(() => Webhook)
  @Requires(Authenticated)
  webhook(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Webhook> {
    return services.webhooks.loadManaged(em, permissions, id, 'id', 'query');
  }

  @Query(() => WebhookDeliveryConnection, {
    description: "A webhook's deliveries, newest first, with their attempts.",
  })
  @Requires(Authenticated)
  async webhookDeliveries(
    @Args() args: WebhookDeliveriesArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<WebhookDeliveryConnection> {
    const webhook = await services.webhooks.loadManaged(
      em,
      permissions,
      args.webhookId,
      'webhookId',
      'query',
    );
    const page = await services.webhooks.deliveries(em, webhook, args);
    const edges = page.nodes.map((node) => ({ cursor: encodeIdCursor(node.id), node }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount: page.totalCount,
    };
  }

  @Mutation(() => Webhook, {
    description: 'Adds a webhook that receives flag changes in an environment.',
  })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('input.environmentId')))
  async createEnvironmentWebhook(
    @Arg('input') input: CreateEnvironmentWebhookInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Webhook> {
    const environment = await em.findOneOrFail(
      Environment,
      parseId(input.environmentId, 'input.environmentId'),
    );
    return services.webhooks.createForEnvironment(em, permissions, environment, input);
  }

  @Mutation(() => Webhook, {
    description:
      "Adds a webhook that receives an organisation's audit log (and flag changes in all its environments).",
  })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('input.organisationId')))
  createOrganisationWebhook(
    @Arg('input') input: CreateOrganisationWebhookInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Webhook> {
    return services.webhooks.createForOrganisation(
      em,
      permissions,
      parseId(input.organisationId, 'input.organisationId'),
      input,
    );
  }

  @Mutation(() => Webhook)
  @Requires(Authenticated)
  async updateWebhook(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateWebhookInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Webhook> {
    const webhook = await services.webhooks.loadManaged(em, permissions, id, 'id', 'mutation');
    return services.webhooks.update(em, permissions, webhook, input);
  }

  @Mutation(() => ID, { description: 'Deletes a webhook and its deliveries; returns its id.' })
  @Requires(Authenticated)
  async deleteWebhook(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const webhook = await services.webhooks.loadManaged(em, permissions, id, 'id', 'mutation');
    return services.webhooks.delete(em, permissions, webhook);
  }

  @Mutation(() => WebhookDelivery, {
    description: 'Sends a delivery again, with the same delivery id (e.g. a dead letter).',
  })
  @Requires(Authenticated)
  async replayWebhookDelivery(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<WebhookDelivery> {
    const delivery = await services.webhooks.loadManagedDelivery(
      em,
      permissions,
      id,
      'id',
      'mutation',
    );
    return services.webhooks.replay(em, permissions, delivery);
  }

  @Mutation(() => Int, {
    description: "Sends all of a webhook's dead letters again; returns how many.",
  })
  @Requires(Authenticated)
  async replayDeadWebhookDeliveries(
    @Arg('webhookId', () => ID) webhookId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<number> {
    const webhook = await services.webhooks.loadManaged(
      em,
      permissions,
      webhookId,
      'webhookId',
      'mutation',
    );
    return services.webhooks.replayDead(em, permissions, webhook);
  }

  @Mutation(() => WebhookDelivery, {
    description: 'Queues a sample event (X-Flagward-Event: TEST) for the webhook.',
  })
  @Requires(Authenticated)
  async sendTestWebhookEvent(
    @Arg('webhookId', () => ID) webhookId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<WebhookDelivery> {
    const webhook = await services.webhooks.loadManaged(
      em,
      permissions,
      webhookId,
      'webhookId',
      'mutation',
    );
    return services.webhooks.sendTest(em, permissions, webhook);
  }
}

/** Deliveries are reached only through `webhookDeliveries` and the webhook mutations. */
@DenyByDefault()
@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @FieldResolver(() => [WebhookAttempt], { description: 'Every attempt so far, oldest first.' })
  @Requires(Authenticated)
  async attempts(
    @Root() delivery: WebhookDelivery,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookAttempt[]> {
    const byDelivery = await ctx.services.webhooks.attemptsOf(ctx.em, [delivery.id]);
    return byDelivery.get(delivery.id) ?? [];
  }

  @FieldResolver(() => ID)
  @Requires(Authenticated)
  webhookId(@Root() delivery: WebhookDelivery): number {
    return delivery.webhook.id;
  }
}
