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
import { Environment } from '../environments/environment.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
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

  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

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

  @Property({ type: 'text' })
  log!: string;

  @Enum({ items: () => AuditObjectType, nativeEnumName: 'audit_object_type' })
  relatedObjectType!: AuditObjectType;

  @Property({ type: 'string', length: 64 })
  relatedObjectId!: string;

  @Property({ type: 'uuid', nullable: true })
  relatedObjectUuid?: string | null;

  @Enum({ items: () => ChangeType, nativeEnumName: 'change_type' })
  changeType!: ChangeType;

  @Property({ type: 'boolean', default: false })
  isSystemEvent: boolean = false;

  @Property({ type: 'json', nullable: true })
  before?: Record<string, unknown> | null;

  @Property({ type: 'json', nullable: true })
  after?: Record<string, unknown> | null;
}
