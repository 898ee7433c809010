import { IsOptional } from 'class-validator';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Project } from '../../projects/project.entity';
import { Public } from '../../permissions/requirement';
import { TypeRequires } from '../../permissions/requires.decorator';
import { NameField } from '../../shared/validation';
import { Environment } from '../environment.entity';

@InputType()
export class ImportEnvironmentInput {
  @Field(() => ID, { description: 'The organisation to import into (you must administer it).' })
  organisationId!: string;

  @Field(() => String, {
    nullable: true,
    description: "Project to import into, made when missing; default: the document's project name.",
  })
  @IsOptional()
  @NameField(2000)
  projectName?: string | null;

  @Field(() => GraphQLJSONObject, {
    description: 'A Flagsmith environment document, as /api/v1/environment-document/ serves it.',
  })
  document!: Record<string, unknown>;
}

@ObjectType()
@TypeRequires(Public)
export class ImportEnvironmentPayload {
  @Field(() => Project)
  project!: Project;

  @Field(() => Environment)
  environment!: Environment;

  @Field({ description: 'False when Flagward already held exactly this document.' })
  changed!: boolean;

  @Field()
  environmentCreated!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'A new server-side key when the import created the environment; shown once.',
  })
  serverSideKey!: string | null;
}
