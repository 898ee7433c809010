import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { BY_ID_DESCRIPTION, ById, listArgs, NEWEST_FIRST, OrderDirection } from '../shared/cursor';
import { DeliveryStatus } from './delivery.entity';
import { WebhookEvent } from './events';

const SECRET_HELP =
  'Signs each delivery (X-Flagsmith-Signature and X-Flagward-Signature). Stored encrypted and never returned.';

/** What both kinds of webhook are made with (fields inherited by the inputs below). */
@InputType('WebhookFields')
abstract class WebhookFields {
  @Field({ description: 'An http(s) URL on a public address (or an allowed network).' })
  @MaxLength(2000)
  url!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(200)
  name?: string | null;

  @Field(() => String, { nullable: true, description: SECRET_HELP })
  @IsOptional()
  @MaxLength(500)
  secret?: string | null;

  @Field({ defaultValue: true })
  enabled!: boolean;

  @Field(() => [WebhookEvent], {
    nullable: true,
    description: 'Events to receive; omitted or empty: all of them.',
  })
  events?: WebhookEvent[] | null;
}

@InputType()
export class CreateEnvironmentWebhookInput extends WebhookFields {
  @Field(() => ID)
  environmentId!: string;
}

@InputType()
export class CreateOrganisationWebhookInput extends WebhookFields {
  @Field(() => ID)
  organisationId!: string;
}

@InputType({ description: 'Fields left out stay as they are.' })
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  url?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(200)
  name?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `${SECRET_HELP} An empty string removes it.`,
  })
  @IsOptional()
  @MaxLength(500)
  secret?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => [WebhookEvent], { nullable: true, description: 'Empty: all events.' })
  events?: WebhookEvent[] | null;
}

@InputType({ description: 'Narrows a list of webhooks; every field given must hold.' })
export class WebhookFilter {
  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the URL or name, matched literally.',
  })
  @IsOptional()
  @MaxLength(200)
  search?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}

export const WebhookOrderField = { ID: 'ID', URL: 'URL' } as const;
export type WebhookOrderField = keyof typeof WebhookOrderField;

const WebhookListArgs = listArgs(
  'Webhook',
  WebhookOrderField,
  { field: 'ID', direction: OrderDirection.ASC },
  { ID: 'Creation order.', URL: 'By URL.' },
  { type: WebhookFilter },
);

@ArgsType()
export class EnvironmentWebhooksArgs extends WebhookListArgs {
  @Field(() => ID)
  environmentId!: string;
}

@ArgsType()
export class OrganisationWebhooksArgs extends WebhookListArgs {
  @Field(() => ID)
  organisationId!: string;
}

@ArgsType()
export class WebhookDeliveriesArgs extends listArgs(
  'WebhookDelivery',
  ById,
  NEWEST_FIRST,
  BY_ID_DESCRIPTION,
) {
  @Field(() => ID)
  webhookId!: string;

  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;
}
