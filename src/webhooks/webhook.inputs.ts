import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { CursorPageArgs } from '../shared/cursor';
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

@ArgsType()
export class WebhookDeliveriesArgs extends CursorPageArgs {
  @Field(() => ID)
  webhookId!: string;

  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;
}
