import { Migration } from '@mikro-orm/migrations';

export class Migration20261123225412_login_methods_2fa extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "login_method" as enum ('PASSWORD', 'GOOGLE', 'GITHUB');`);
    this.addSql(
      `create table "user_social_accounts" ("id" serial primary key, "user_id" int not null, "provider" "login_method" not null, "subject" varchar(255) not null, "email" varchar(254) not null, "created_at" timestamptz not null default now(), "last_login_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "user_social_accounts_user_id_index" on "user_social_accounts" ("user_id");`,
    );
    this.addSql(
      `alter table "user_social_accounts" add constraint "user_social_accounts_provider_subject_unique" unique ("provider", "subject");`,
    );

    this.addSql(
      `create table "user_backup_codes" ("id" serial primary key, "user_id" int not null, "code_hash" varchar(64) not null, "used_at" timestamptz null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "user_backup_codes_user_id_index" on "user_backup_codes" ("user_id");`,
    );
    this.addSql(
      `alter table "user_backup_codes" add constraint "user_backup_codes_code_hash_unique" unique ("code_hash");`,
    );

    this.addSql(
      `alter table "user_social_accounts" add constraint "user_social_accounts_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "user_backup_codes" add constraint "user_backup_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "organisations" add column "allowed_login_methods" "login_method"[] not null default '{}';`,
    );

    this.addSql(
      `alter table "users" add column "totp_sealed" text null, add column "totp_enabled_at" timestamptz null, add column "totp_last_step" int null;`,
    );

    this.addSql(
      `alter table "user_sessions" add column "login_method" "login_method" not null default 'PASSWORD';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "user_social_accounts" cascade;`);

    this.addSql(`drop table if exists "user_backup_codes" cascade;`);

    this.addSql(`alter table "organisations" drop column "allowed_login_methods";`);

    this.addSql(`alter table "user_sessions" drop column "login_method";`);

    this.addSql(
      `alter table "users" drop column "totp_sealed", drop column "totp_enabled_at", drop column "totp_last_step";`,
    );

    this.addSql(`drop type "login_method";`);
  }
}
