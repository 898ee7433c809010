import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { BY_ID_DESCRIPTION, ById, listArgs, NEWEST_FIRST } from '../shared/cursor';
import { AuditObjectType } from './audit-log.entity';

/** Narrows an audit log; every field given must hold (AND). */
@InputType({ description: 'Narrows the audit log; every field given must hold.' })
export class AuditLogFilter {
  @Field(() => ID, {
    nullable: true,
    description: 'Records of this project (none if the caller may not read its audit log).',
  })
  projectId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Records of this environment.' })
  environmentId?: string | null;

  @Field(() => AuditObjectType, { nullable: true })
  relatedObjectType?: AuditObjectType | null;

  @Field(() => ID, { nullable: true, description: 'Records of changes made by this user.' })
  authorId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Records created at or after this time.' })
  since?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Records created before this time.' })
  until?: Date | null;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the message, matched literally.',
  })
  @IsOptional()
  @MaxLength(1000)
  search?: string | null;
}

@ArgsType()
export class InstanceAuditLogsArgs extends listArgs(
  'AuditLog',
  ById,
  NEWEST_FIRST,
  BY_ID_DESCRIPTION,
  { type: AuditLogFilter },
) {}

@ArgsType()
export class AuditLogsArgs extends InstanceAuditLogsArgs {
  @Field(() => ID)
  organisationId!: string;
}
