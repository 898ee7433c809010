import {
  BigIntType,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { User } from '../users/user.entity';

/** Flagsmith's related object types (enum names). */
export enum AuditObjectType {
  ORGANISATION = 'ORGANISATION',
  PROJECT = 'PROJECT',
  ENVIRONMENT = 'ENVIRONMENT',
  FEATURE = 'FEATURE',
  FEATURE_STATE = 'FEATURE_STATE',
  SEGMENT = 'SEGMENT',
  IDENTITY = 'IDENTITY',
  USER = 'USER',
  API_KEY = 'API_KEY',
  WEBHOOK = 'WEBHOOK',
  PERMISSION = 'PERMISSION',
}

export enum ChangeType {
  CREATE = 'CREATE',
  UPDATE = 'UPDATE',
  DELETE = 'DELETE',
}

registerEnumType(AuditObjectType, {
  name: 'AuditObjectType',
  description: 'The kind of record an audit entry is about.',
});
registerEnumType(ChangeType, {
  name: 'AuditChangeType',
  description: 'What happened to the record an audit entry is about.',
});

/**
 * One audit record. Reached only through `auditLogs`, whose list filter decides which
 * records a caller sees (VIEW_AUDIT_LOG on the record's project, or organisation admin).
 */
@ObjectType({ description: 'A change recorded in the audit log.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'audit_logs' })
@Index({ properties: ['organisation', 'createdAt'] })
export class AuditLog {
  [OptionalProps]?:
    | 'createdAt'
    | 'organisation'
    | 'project'
    | 'environment'
    | 'author'
    | 'apiKey'
    | 'relatedObjectUuid'
    | 'isSystemEvent'
    | 'before'
    | 'after';

  @Field(() => ID)
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @ManyToOne(() => Organisation, { nullable: true, deleteRule: 'cascade' })
  organisation?: Rel<Organisation> | null;

  @ManyToOne(() => Project, { nullable: true, deleteRule: 'cascade', index: true })
  project?: Rel<Project> | null;

  @ManyToOne(() => Environment, { nullable: true, deleteRule: 'cascade', index: true })
  environment?: Rel<Environment> | null;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'set null' })
  author?: Rel<User> | null;

  @ManyToOne(() => OrganisationApiKey, { nullable: true, deleteRule: 'set null' })
  apiKey?: Rel<OrganisationApiKey> | null;

  @Field({ description: 'What happened, in words.' })
  @Property({ type: 'text' })
  log!: string;

  @Field(() => AuditObjectType)
  @Enum({ items: () => AuditObjectType, nativeEnumName: 'audit_object_type' })
  relatedObjectType!: AuditObjectType;

  @Field(() => ID, { description: 'The id of the record the entry is about.' })
  @Property({ type: 'string', length: 64 })
  relatedObjectId!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  relatedObjectUuid?: string | null;

  @Field(() => ChangeType)
  @Enum({ items: () => ChangeType, nativeEnumName: 'change_type' })
  changeType!: ChangeType;

  @Field()
  @Property({ type: 'boolean', default: false })
  isSystemEvent: boolean = false;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'The fields the change touched, before it (null for a creation).',
  })
  @Property({ type: 'json', nullable: true })
  before?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'The fields the change touched, after it (null for a deletion).',
  })
  @Property({ type: 'json', nullable: true })
  after?: Record<string, unknown> | null;
}
