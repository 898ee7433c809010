import { IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
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
export class AuditLogsArgs {
  @Field(() => ID)
  organisationId!: string;

  @Field(() => AuditLogFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: AuditLogFilter | null;

  @Field(() => Int, { defaultValue: 50, description: 'Page size, 1–100.' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(100, { message: '$property must be at most 100' })
  first!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The `endCursor` of the previous page; omitted: the newest records.',
  })
  after?: string | null;
}
