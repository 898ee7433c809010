import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { FeatureState } from '../features/feature-state.entity';
import { FeatureStateInput } from '../features/feature.inputs';
import type { GraphQLContext } from '../graphql/context';
import {
  Authenticated,
  permissionOn,
  permissionOnEach,
  type ResourceType,
} from '../permissions/requirement';
import { allOrNothing, loadAll } from '../shared/bulk';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { Identity, Trait } from './identity.entity';
import { CreateIdentityInput, IdentityListArgs, TraitInput } from './identity.inputs';
import {
  TraitType,
  TraitValueScalar,
  traitTypeOf,
  traitValueOf,
  type TypedTraitValue,
} from './trait-value';

const on = (type: ResourceType, arg: string) => ({ arg, type });

/** Who may read an identity's fields: the same as the type (see Identity). */
const SEE_IDENTITY = [
  permissionOn('VIEW_IDENTITIES', 'root'),
  permissionOn('MANAGE_IDENTITIES', 'root'),
];

export const IdentityConnection = connectionType(Identity, 'Identity');

@DenyByDefault()
@Resolver(() => Identity)
export class IdentityResolver {
  @Query(() => IdentityConnection, { description: "An environment's identities." })
  @Requires(permissionOn('VIEW_IDENTITIES', on('environment', 'environmentId')))
  async identities(
    @Args() args: IdentityListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Identity>> {
    const env = await em.findOneOrFail(Environment, parseId(args.environmentId, 'environmentId'));
    return toConnection(await services.identities.list(em, env, args));
  }

  @Query(() => Identity)
  @Requires(permissionOn('VIEW_IDENTITIES', on('identity', 'id')))
  identity(@Arg('id', () => ID) id: string, @Ctx() { em }: GraphQLContext): Promise<Identity> {
    return em.findOneOrFail(Identity, parseId(id, 'id'));
  }

  @Mutation(() => Identity, { description: 'Creates an identity with its traits.' })
  @Requires(permissionOn('MANAGE_IDENTITIES', on('environment', 'input.environmentId')))
  async createIdentity(
    @Arg('input') input: CreateIdentityInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Identity> {
    const env = await em.findOneOrFail(
      Environment,
      parseId(input.environmentId, 'input.environmentId'),
    );
    return services.identities.create(em, permissions, env, input);
  }

  @Mutation(() => Identity, {
    description: 'Sets the traits given (a null value deletes one); other traits are kept.',
  })
  @Requires(permissionOn('MANAGE_IDENTITIES', on('identity', 'id')))
  async updateIdentityTraits(
    @Arg('id', () => ID) id: string,
    @Arg('traits', () => [TraitInput]) traits: TraitInput[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Identity> {
    const identity = await em.findOneOrFail(Identity, parseId(id, 'id'));
    return services.identities.updateTraits(em, permissions, identity, traits);
  }

  @Mutation(() => ID, {
    description: 'Deletes an identity with its traits and overrides; returns its id.',
  })
  @Requires(permissionOn('MANAGE_IDENTITIES', on('identity', 'id')))
  async deleteIdentity(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const identity = await em.findOneOrFail(Identity, parseId(id, 'id'));
    await services.identities.delete(em, permissions, identity);
    return id;
  }

  @Mutation(() => [ID], {
    description:
      'Deletes identities with their traits and overrides: all or none. Needs MANAGE_IDENTITIES on each; returns their ids.',
  })
  @Requires(permissionOnEach('MANAGE_IDENTITIES', { arg: 'ids.*', type: 'identity' }))
  async deleteIdentities(
    @Arg('ids', () => [ID]) ids: string[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string[]> {
    const identities = await loadAll(em, Identity, ids, 'ids');
    await allOrNothing(em, identities, 'ids', (tx, identity) =>
      services.identities.delete(tx, permissions, identity),
    );
    return identities.map((identity) => String(identity.id));
  }

  @Mutation(() => FeatureState, {
    description:
      "Creates or changes an identity's override of a feature. A new override starts from " +
      "the environment default's enabled and value.",
  })
  @Requires(permissionOn('UPDATE_FEATURE_STATE', on('identity', 'identityId')))
  async setIdentityOverride(
    @Arg('identityId', () => ID) identityId: string,
    @Arg('featureId', () => ID) featureId: string,
    @Arg('input') input: FeatureStateInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureState> {
    const identity = await em.findOneOrFail(Identity, parseId(identityId, 'identityId'));
    return services.identities.setOverride(em, permissions, identity, featureId, input);
  }

  @Mutation(() => ID, {
    description: "Deletes an identity's override of a feature; returns the override's id.",
  })
  @Requires(permissionOn('UPDATE_FEATURE_STATE', on('identity', 'identityId')))
  async deleteIdentityOverride(
    @Arg('identityId', () => ID) identityId: string,
    @Arg('featureId', () => ID) featureId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const identity = await em.findOneOrFail(Identity, parseId(identityId, 'identityId'));
    return services.identities.deleteOverride(em, permissions, identity, featureId);
  }

  @FieldResolver(() => Environment, {
    nullable: true,
    description: 'Null when the caller may not view the environment.',
  })
  @Requires(...SEE_IDENTITY)
  async environment(
    @Root() identity: Identity,
    @Ctx() { em, permissions }: GraphQLContext,
  ): Promise<Environment | null> {
    const env = await em.findOneOrFail(Environment, identity.environment.id);
    return (await permissions.can('VIEW_ENVIRONMENT', env)) ? env : null;
  }

  @FieldResolver(() => [Trait], { description: 'By key.' })
  @Requires(...SEE_IDENTITY)
  traits(@Root() identity: Identity, @Ctx() { em, services }: GraphQLContext): Promise<Trait[]> {
    return services.identities.traitsOf(em, identity);
  }

  @FieldResolver(() => [FeatureState], {
    description:
      "The identity's overrides, by feature id; empty when the caller may not view the environment.",
  })
  @Requires(...SEE_IDENTITY)
  async overrides(
    @Root() identity: Identity,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureState[]> {
    if (!(await permissions.can('VIEW_ENVIRONMENT', identity))) return [];
    return services.identities.overridesOf(em, identity);
  }
}

@DenyByDefault()
@Resolver(() => Trait)
export class TraitResolver {
  // A Trait is reached only through its Identity, whose VIEW_IDENTITIES was checked.
  @FieldResolver(() => TraitValueScalar)
  @Requires(Authenticated)
  value(@Root() trait: Trait): TypedTraitValue {
    return traitValueOf(trait);
  }

  @FieldResolver(() => TraitType)
  @Requires(Authenticated)
  valueType(@Root() trait: Trait): TraitType {
    return traitTypeOf(trait.valueType);
  }
}
