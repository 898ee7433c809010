import { Migration } from '@mikro-orm/migrations';

export class Migration20261123154730_usage extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create type "api_usage_kind" as enum ('FLAGS', 'IDENTITIES', 'TRAITS', 'ENVIRONMENT_DOCUMENT');`,
    );
    this.addSql(
      `create table "feature_evaluations" ("id" serial primary key, "environment_id" int not null, "day" date not null, "feature_name" varchar(2000) not null, "count" bigint not null);`,
    );
    this.addSql(
      `alter table "feature_evaluations" add constraint "feature_evaluations_environment_id_day_feature_name_unique" unique ("environment_id", "day", "feature_name");`,
    );

    this.addSql(
      `create table "api_usage" ("id" serial primary key, "environment_id" int not null, "day" date not null, "kind" "api_usage_kind" not null, "count" bigint not null);`,
    );
    this.addSql(
      `alter table "api_usage" add constraint "api_usage_environment_id_day_kind_unique" unique ("environment_id", "day", "kind");`,
    );

    this.addSql(
      `alter table "feature_evaluations" add constraint "feature_evaluations_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "api_usage" add constraint "api_usage_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "feature_evaluations" cascade;`);

    this.addSql(`drop table if exists "api_usage" cascade;`);

    this.addSql(`drop type "api_usage_kind";`);
  }
}
