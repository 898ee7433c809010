import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { newUuid } from '../shared/ids';
import { LoginMethod } from '../users/login-method';

@ObjectType()
// Members see their organisations; holders of view_organisation see every one (not its content).
@TypeRequires(permissionOn('ORGANISATION_MEMBER', 'root'), {
  kind: 'model',
  codename: 'view_organisation',
})
@Entity({ tableName: 'organisations' })
export class Organisation {
  [OptionalProps]?:
    | 'uuid'
    | 'createdAt'
    | 'webhookNotificationEmail'
    | 'stopServingFlags'
    | 'restrictProjectCreateToAdmin'
    | 'persistTraitData'
    | 'blockAccessToAdmin'
    | 'featureAnalytics'
    | 'force2fa'
    | 'allowedLoginMethods';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @Field()
  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 254, nullable: true })
  webhookNotificationEmail?: string | null;

  /** When true, SDK calls for this organisation's environments are refused (403). */
  @Field()
  @Property({ type: 'boolean', default: false })
  stopServingFlags: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: false })
  restrictProjectCreateToAdmin: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  persistTraitData: boolean = true;

  @Field()
  @Property({ type: 'boolean', default: false })
  blockAccessToAdmin: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  featureAnalytics: boolean = true;

  /** Members must have two-factor sign-in on before they can reach this organisation. */
  @Field()
  @Property({ type: 'boolean', default: false })
  force2fa: boolean = false;

  @Field(() => [LoginMethod], {
    description:
      'The login methods members may sign in with; empty allows every method. A member whose session was opened another way is signed out.',
  })
  @Enum({ items: () => LoginMethod, array: true, nativeEnumName: 'login_method', default: [] })
  allowedLoginMethods: LoginMethod[] = [];
}
