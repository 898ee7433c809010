import { Migration } from '@mikro-orm/migrations';

export class Migration20261123210023_auth extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "login_throttles" ("subject" varchar(300) not null, "failures" int not null default 0, "window_started_at" timestamptz not null default now(), "blocked_until" timestamptz null, constraint "login_throttles_pkey" primary key ("subject"));`,
    );

    this.addSql(
      `create table "password_reset_tokens" ("token_hash" varchar(64) not null, "user_id" int not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "password_reset_tokens_pkey" primary key ("token_hash"));`,
    );
    this.addSql(
      `create index "password_reset_tokens_user_id_index" on "password_reset_tokens" ("user_id");`,
    );

    this.addSql(
      `alter table "password_reset_tokens" add constraint "password_reset_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "login_throttles" cascade;`);

    this.addSql(`drop table if exists "password_reset_tokens" cascade;`);
  }
}
