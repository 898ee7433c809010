import { type Holder, holderOf } from './holders';
import { ArrayMaxSize, IsOptional } from 'class-validator';
import { ArgsType, Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { BY_ID_DESCRIPTION, ById, listArgs, OrderDirection } from '../shared/cursor';
import { GrantScope, type PermissionGrant } from './permission-grant.entity';
import { Authenticated } from './requirement';
import { TypeRequires } from './requires.decorator';

registerEnumType(GrantScope, {
  name: 'GrantScope',
  description: 'What a grant is on: an organisation, a project or an environment.',
});

@InputType({ description: 'Who holds a grant: exactly one of these.' })
export class GrantHolderInput {
  @Field(() => ID, { nullable: true, description: 'A member of the organisation.' })
  @IsOptional()
  userId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A group of the organisation.' })
  @IsOptional()
  groupId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A role of the organisation.' })
  @IsOptional()
  roleId?: string | null;
}

@InputType({ description: 'Where a grant is: exactly one of these.' })
export class GrantScopeInput {
  @Field(() => ID, { nullable: true })
  @IsOptional()
  organisationId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  projectId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  environmentId?: string | null;
}

@InputType({
  description:
    "Sets a holder's keys (and admin flag) on one organisation, project or environment, replacing what it held there.",
})
export class GrantPermissionsInput extends GrantScopeInput {
  @Field(() => GrantHolderInput)
  holder!: GrantHolderInput;

  @Field(() => [String], {
    description: 'Keys of the scope: organisation keys on an organisation, and so on.',
  })
  @ArrayMaxSize(50)
  keys!: string[];

  @Field({
    defaultValue: false,
    description:
      'Project or environment admin (not on an organisation: organisation ADMIN is a membership role).',
  })
  admin!: boolean;
}

export type GrantHolder = Holder<'user' | 'group' | 'role'>;

export function grantHolderOf(input: GrantHolderInput, field: string): GrantHolder {
  return holderOf(input, ['user', 'group', 'role'], field);
}

export enum GrantHolderKind {
  USER = 'USER',
  GROUP = 'GROUP',
  ROLE = 'ROLE',
}
registerEnumType(GrantHolderKind, { name: 'GrantHolderKind', description: 'Who holds a grant.' });

@InputType({ description: 'Narrows a list of grants; every field given must hold.' })
export class GrantFilter {
  @Field(() => GrantHolderKind, { nullable: true, description: 'Only grants held by these.' })
  holderKind?: GrantHolderKind | null;
}

@ArgsType()
export class GrantListArgs extends listArgs(
  'PermissionGrant',
  ById,
  { field: 'ID', direction: OrderDirection.ASC },
  BY_ID_DESCRIPTION,
  { type: GrantFilter },
) {
  @Field(() => ID, { nullable: true })
  organisationId?: string | null;

  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => ID, { nullable: true })
  environmentId?: string | null;
}

/**
 * A grant as the API shows it. Reached only through `permissionGrants`, `grantPermissions`
 * and `Role.grants`, which check that the caller administers its scope.
 */
@ObjectType('PermissionGrant', {
  description: 'Keys (and the admin flag) held by a user, group or role on one scope.',
})
@TypeRequires(Authenticated)
export class PermissionGrantView {
  @Field(() => ID)
  id!: number;

  @Field(() => GrantScope)
  scope!: GrantScope;

  @Field(() => ID)
  organisationId!: number;

  @Field(() => ID, { nullable: true })
  projectId!: number | null;

  @Field(() => ID, { nullable: true })
  environmentId!: number | null;

  @Field(() => [String])
  keys!: string[];

  @Field({ description: 'Project or environment admin.' })
  admin!: boolean;

  userId!: number | null;
  groupId!: number | null;
  roleId!: number | null;

  static of(g: PermissionGrant): PermissionGrantView {
    return Object.assign(new PermissionGrantView(), {
      id: g.id,
      scope: g.scope,
      organisationId: g.organisation.id,
      projectId: g.project?.id ?? null,
      environmentId: g.environment?.id ?? null,
      keys: [...g.keys],
      admin: g.admin,
      userId: g.user?.id ?? null,
      groupId: g.group?.id ?? null,
      roleId: g.role?.id ?? null,
    });
  }
}
