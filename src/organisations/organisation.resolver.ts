import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import type { Project } from '../projects/project.entity';
import { ProjectConnection } from '../projects/project.resolver';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { NamedListArgs } from '../shared/named-list';
import { UserListArgs } from '../users/user-list';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { OrganisationMembership, OrganisationRole } from './membership.entity';
import {
  AddMemberInput,
  CreateOrganisationInput,
  UpdateMemberInput,
  UpdateOrganisationInput,
} from './organisation.inputs';
import { Organisation } from './organisation.entity';

const byId = (arg: string) => ({ arg, type: 'organisation' as const });

export const OrganisationConnection = connectionType(Organisation, 'Organisation');
export const MembershipConnection = connectionType(
  OrganisationMembership,
  'OrganisationMembership',
);

@DenyByDefault()
@Resolver(() => Organisation)
export class OrganisationResolver {
  @Query(() => OrganisationConnection, { description: 'Organisations the caller belongs to.' })
  @Requires(Authenticated)
  async organisations(
    @Args() args: NamedListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<Organisation>> {
    return toConnection(await services.organisations.list(em, permissions, args));
  }

  @Query(() => OrganisationConnection, {
    description:
      'Every organisation of this Flagward instance. Needs the view_organisation model permission (which shows the organisations, not their projects).',
  })
  @Requires({ kind: 'model', codename: 'view_organisation' })
  async instanceOrganisations(
    @Args() args: NamedListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Organisation>> {
    return toConnection(await services.organisations.listAll(em, args));
  }

  @Query(() => Organisation)
  @Requires(permissionOn('ORGANISATION_MEMBER', byId('id')))
  organisation(
    @Arg('id', () => ID) id: string,
    @Ctx() { em }: GraphQLContext,
  ): Promise<Organisation> {
    return em.findOneOrFail(Organisation, parseId(id, 'id'));
  }

  @Mutation(() => Organisation, {
    description: 'Creates an organisation; the caller becomes its ADMIN.',
  })
  @Requires(Authenticated)
  createOrganisation(
    @Arg('input') input: CreateOrganisationInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Organisation> {
    return services.organisations.create(em, permissions, input);
  }

  @Mutation(() => Organisation)
  @Requires(permissionOn('ORGANISATION_ADMIN', byId('id')))
  async updateOrganisation(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateOrganisationInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Organisation> {
    const org = await em.findOneOrFail(Organisation, parseId(id, 'id'));
    return services.organisations.update(em, permissions, org, input);
  }

  @Mutation(() => ID, {
    description: 'Deletes an organisation and everything in it; returns its id.',
  })
  @Requires(permissionOn('ORGANISATION_ADMIN', byId('id')))
  async deleteOrganisation(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const org = await em.findOneOrFail(Organisation, parseId(id, 'id'));
    await services.organisations.delete(em, permissions, org);
    return id;
  }

  @Mutation(() => OrganisationMembership)
  @Requires(permissionOn('ORGANISATION_ADMIN', byId('input.organisationId')))
  async addOrganisationMember(
    @Arg('input') input: AddMemberInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<OrganisationMembership> {
    const org = await em.findOneOrFail(
      Organisation,
      parseId(input.organisationId, 'input.organisationId'),
    );
    return services.organisations.addMember(em, permissions, org, input);
  }

  @Mutation(() => OrganisationMembership)
  @Requires(permissionOn('ORGANISATION_ADMIN', byId('input.organisationId')))
  async updateOrganisationMember(
    @Arg('input') input: UpdateMemberInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<OrganisationMembership> {
    const org = await em.findOneOrFail(
      Organisation,
      parseId(input.organisationId, 'input.organisationId'),
    );
    return services.organisations.updateMember(em, permissions, org, input);
  }

  @Mutation(() => ID, { description: 'Removes a member; returns the user id.' })
  @Requires(permissionOn('ORGANISATION_ADMIN', byId('organisationId')))
  async removeOrganisationMember(
    @Arg('organisationId', () => ID) organisationId: string,
    @Arg('userId', () => ID) userId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const org = await em.findOneOrFail(Organisation, parseId(organisationId, 'organisationId'));
    await services.organisations.removeMember(em, permissions, org, userId);
    return userId;
  }

  @FieldResolver(() => MembershipConnection, {
    description: "The organisation's members (the filter and order apply to their user).",
  })
  @Requires(permissionOn('ORGANISATION_MEMBER', 'root'))
  async members(
    @Root() org: Organisation,
    @Args() args: UserListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<OrganisationMembership>> {
    return toConnection(await services.organisations.members(em, org, args));
  }

  @FieldResolver(() => ProjectConnection, {
    description: 'Projects of this organisation the caller may view.',
  })
  @Requires(permissionOn('ORGANISATION_MEMBER', 'root'))
  async projects(
    @Root() org: Organisation,
    @Args() args: NamedListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<Project>> {
    return toConnection(await services.projects.list(em, permissions, args, org.id));
  }

  @FieldResolver(() => OrganisationRole, {
    nullable: true,
    description: "The caller's role here (null for non-members, e.g. superusers).",
  })
  @Requires(permissionOn('ORGANISATION_MEMBER', 'root'))
  async myRole(
    @Root() org: Organisation,
    @Ctx() { em, permissions }: GraphQLContext,
  ): Promise<OrganisationRole | null> {
    const userId = permissions.userId;
    if (userId === undefined) return null;
    const m = await em.findOne(OrganisationMembership, { organisation: org, user: userId });
    return m?.role ?? null;
  }
}

@DenyByDefault()
@Resolver(() => OrganisationMembership)
export class MembershipResolver {
  @FieldResolver(() => User)
  @Requires(permissionOn('ORGANISATION_MEMBER', 'root'))
  user(@Root() membership: OrganisationMembership, @Ctx() { em }: GraphQLContext): Promise<User> {
    return em.findOneOrFail(User, membership.user.id);
  }

  @FieldResolver(() => Organisation)
  @Requires(permissionOn('ORGANISATION_MEMBER', 'root'))
  organisation(
    @Root() membership: OrganisationMembership,
    @Ctx() { em }: GraphQLContext,
  ): Promise<Organisation> {
    return em.findOneOrFail(Organisation, membership.organisation.id);
  }
}
