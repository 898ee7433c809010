import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn, type Requirement } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { WebhookAttempt, WebhookDelivery } from './delivery.entity';
import { Webhook, WebhookScope } from './webhook.entity';
import {
  CreateEnvironmentWebhookInput,
  CreateOrganisationWebhookInput,
  EnvironmentWebhooksArgs,
  OrganisationWebhooksArgs,
  UpdateWebhookInput,
  WebhookDeliveriesArgs,
} from './webhook.inputs';

export const WebhookDeliveryConnection = connectionType(WebhookDelivery, 'WebhookDelivery', {
  edge: 'A webhook delivery with its cursor.',
  connection: "A page of a webhook's deliveries, newest first.",
});
type WebhookDeliveryConnection = InstanceType<typeof WebhookDeliveryConnection>;
export const WebhookConnection = connectionType(Webhook, 'Webhook');

const envArg = (arg: string) => ({ arg, type: 'environment' as const });
const orgArg = (arg: string) => ({ arg, type: 'organisation' as const });
/**
 * Managing a webhook (or one of its deliveries) named by an argument: ENVIRONMENT_ADMIN on
 * its environment, which for an organisation webhook only the organisation's admins hold.
 * Anyone else is told it does not exist.
 */
const manages = (arg: string, type: 'webhook' | 'webhookDelivery' = 'webhook'): Requirement =>
  permissionOn('ENVIRONMENT_ADMIN', { arg, type });

/** Webhooks: environment webhooks for environment admins, organisation ones for its admins. */
@DenyByDefault()
@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => WebhookConnection, {
    description: "An environment's webhooks (environment admins).",
  })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('environmentId')))
  async environmentWebhooks(
    @Args() args: EnvironmentWebhooksArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Webhook>> {
    const environment = parseId(args.environmentId, 'environmentId');
    return toConnection(await services.webhooks.list(em, { environment }, args));
  }

  @Query(() => WebhookConnection, {
    description: "An organisation's webhooks (organisation admins).",
  })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('organisationId')))
  async organisationWebhooks(
    @Args() args: OrganisationWebhooksArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Webhook>> {
    const organisation = parseId(args.organisationId, 'organisationId');
    const where = { scope: WebhookScope.ORGANISATION, organisation };
    return toConnection(await services.webhooks.list(em, where, args));
  }

  @Query(() => Webhook)
  @Requires(manages('id'))
  webhook(@Arg('id', () => ID) id: string, @Ctx() { em }: GraphQLContext): Promise<Webhook> {
    return em.findOneOrFail(Webhook, parseId(id, 'id'));
  }

  @Query(() => WebhookDeliveryConnection, {
    description: "A webhook's deliveries, newest first, with their attempts.",
  })
  @Requires(manages('webhookId'))
  async webhookDeliveries(
    @Args() args: WebhookDeliveriesArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<WebhookDeliveryConnection> {
    const webhook = await em.findOneOrFail(Webhook, parseId(args.webhookId, 'webhookId'));
    return toConnection(await services.webhooks.deliveries(em, webhook, args));
  }

  @FieldResolver(() => ID, {
    nullable: true,
    description: 'The environment of an environment webhook.',
  })
  @Requires(Authenticated)
  environmentId(@Root() webhook: Webhook): number | null {
    return webhook.environment?.id ?? null;
  }

  @FieldResolver(() => ID, {
    nullable: true,
    description: 'The organisation of an organisation webhook.',
  })
  @Requires(Authenticated)
  organisationId(@Root() webhook: Webhook): number | null {
    return webhook.organisation?.id ?? null;
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
  @Requires(manages('id'))
  async updateWebhook(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateWebhookInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Webhook> {
    const webhook = await em.findOneOrFail(Webhook, parseId(id, 'id'));
    return services.webhooks.update(em, permissions, webhook, input);
  }

  @Mutation(() => ID, { description: 'Deletes a webhook and its deliveries; returns its id.' })
  @Requires(manages('id'))
  async deleteWebhook(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const webhook = await em.findOneOrFail(Webhook, parseId(id, 'id'));
    return services.webhooks.delete(em, permissions, webhook);
  }

  @Mutation(() => WebhookDelivery, {
    description: 'Sends a delivery again, with the same delivery id (e.g. a dead letter).',
  })
  @Requires(manages('id', 'webhookDelivery'))
  async replayWebhookDelivery(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<WebhookDelivery> {
    const delivery = await em.findOneOrFail(WebhookDelivery, String(parseId(id, 'id')));
    return services.webhooks.replay(em, permissions, delivery);
  }

  @Mutation(() => Int, {
    description: "Sends all of a webhook's dead letters again; returns how many.",
  })
  @Requires(manages('webhookId'))
  async replayDeadWebhookDeliveries(
    @Arg('webhookId', () => ID) webhookId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<number> {
    const webhook = await em.findOneOrFail(Webhook, parseId(webhookId, 'webhookId'));
    return services.webhooks.replayDead(em, permissions, webhook);
  }

  @Mutation(() => WebhookDelivery, {
    description: 'Queues a sample event (X-Flagward-Event: TEST) for the webhook.',
  })
  @Requires(manages('webhookId'))
  async sendTestWebhookEvent(
    @Arg('webhookId', () => ID) webhookId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<WebhookDelivery> {
    const webhook = await em.findOneOrFail(Webhook, parseId(webhookId, 'webhookId'));
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
    return ctx.loaders.children(WebhookAttempt, 'delivery', delivery.id, {
      orderBy: { id: 'asc' },
    });
  }

  @FieldResolver(() => ID)
  @Requires(Authenticated)
  webhookId(@Root() delivery: WebhookDelivery): number {
    return delivery.webhook.id;
  }
}
