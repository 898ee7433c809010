import { Migration } from '@mikro-orm/migrations';

export class Migration20261123142735_hashing_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "segments" add column "imported_id" int null;`);

    this.addSql(`alter table "feature_states" add column "mv_hashing_salt" varchar(100) null;`);

    // Existing rows get a fresh uuid; new rows get theirs from the application.
    this.addSql(
      `alter table "multivariate_state_values" add column "uuid" uuid not null default gen_random_uuid();`,
    );
    this.addSql(`alter table "multivariate_state_values" alter column "uuid" drop default;`);
    this.addSql(
      `alter table "multivariate_state_values" add constraint "multivariate_state_values_uuid_unique" unique ("uuid");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "feature_states" drop column "mv_hashing_salt";`);

    this.addSql(
      `alter table "multivariate_state_values" drop constraint "multivariate_state_values_uuid_unique";`,
    );
    this.addSql(`alter table "multivariate_state_values" drop column "uuid";`);

    this.addSql(`alter table "segments" drop column "imported_id";`);
  }
}
