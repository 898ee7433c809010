import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { OrganisationListArgs } from './organisation.inputs';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';

import type { GraphQLContext } from '../graphql/context';
import { permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { ForbiddenError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { CreatedOrganisationApiKey, CreateOrganisationApiKeyInput } from './api-key.inputs';
import { OrganisationApiKey } from './organisation-api-key.entity';

const orgArg = (arg: string) => ({ arg, type: 'organisation' as const });

export const OrganisationApiKeyConnection = connectionType(
  OrganisationApiKey,
  'OrganisationApiKey',
);

/** Organisation API keys, managed by organisation admins. */
@DenyByDefault()
@Resolver(() => OrganisationApiKey)
export class OrganisationApiKeyResolver {
  @Query(() => OrganisationApiKeyConnection, {
    description: "An organisation's API keys (prefixes only; a key is shown once, when made).",
  })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('organisationId')))
  async organisationApiKeys(
    @Args() args: OrganisationListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<OrganisationApiKey>> {
    const organisationId = parseId(args.organisationId, 'organisationId');
    return toConnection(await services.apiKeys.list(em, organisationId, args));
  }

  @Mutation(() => CreatedOrganisationApiKey, {
    description:
      'Makes an API key for `Authorization: Api-Key <key>`, acting within this organisation only. Only users may make keys.',
  })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('input.organisationId')))
  async createOrganisationApiKey(
    @Arg('input') input: CreateOrganisationApiKeyInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<CreatedOrganisationApiKey> {
    if (permissions.principal.kind !== 'user')
      throw new ForbiddenError('API keys cannot make API keys; sign in as a user');
    return services.apiKeys.create(
      em,
      permissions,
      parseId(input.organisationId, 'input.organisationId'),
      input,
    );
  }

  @Mutation(() => OrganisationApiKey, { description: 'Revokes a key for good.' })
  @Requires(permissionOn('ORGANISATION_ADMIN', { arg: 'id', type: 'organisationApiKey' }))
  async revokeOrganisationApiKey(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<OrganisationApiKey> {
    const row = await em.findOneOrFail(OrganisationApiKey, parseId(id, 'id'));
    return services.apiKeys.revoke(em, permissions, row);
  }
}
