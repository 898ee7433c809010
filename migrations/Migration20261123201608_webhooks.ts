import { Migration } from '@mikro-orm/migrations';

export class Migration20261123201608_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create type "webhook_event" as enum ('FLAG_FEATURE_CREATED', 'FLAG_FEATURE_UPDATED', 'FLAG_FEATURE_DELETED', 'FLAG_SEGMENT_CREATED', 'FLAG_SEGMENT_UPDATED', 'FLAG_SEGMENT_DELETED', 'FLAG_IDENTITY_UPDATED', 'AUDIT_LOG_CREATED', 'TEST');`,
    );
    this.addSql(`create type "webhook_delivery_status" as enum ('PENDING', 'DELIVERED', 'DEAD');`);
    this.addSql(
      `create table "webhook_deliveries" ("id" bigserial primary key, "delivery_id" uuid not null, "webhook_id" int not null, "event" "webhook_event" not null, "payload" jsonb not null, "audit_log_id" bigint null, "status" "webhook_delivery_status" not null default 'PENDING', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "created_at" timestamptz not null default now(), "delivered_at" timestamptz null, "last_error" text null, "last_status_code" int null);`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_delivery_id_unique" unique ("delivery_id");`,
    );
    this.addSql(
      `create index "webhook_deliveries_webhook_id_id_index" on "webhook_deliveries" ("webhook_id", "id");`,
    );
    this.addSql(
      `create index "webhook_deliveries_due_index" on "webhook_deliveries" ("next_attempt_at", "id") where "status" = 'PENDING';`,
    );

    this.addSql(
      `create table "webhook_delivery_attempts" ("id" bigserial primary key, "delivery_id" bigint not null, "attempt" int not null, "started_at" timestamptz not null, "duration_ms" int not null, "status_code" int null, "error" text null);`,
    );
    this.addSql(
      `create index "webhook_delivery_attempts_delivery_id_index" on "webhook_delivery_attempts" ("delivery_id");`,
    );

    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhook_delivery_attempts" add constraint "webhook_delivery_attempts_delivery_id_foreign" foreign key ("delivery_id") references "webhook_deliveries" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhooks" add column "has_secret" boolean not null default false, add column "events" "webhook_event"[] not null default '{}';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "webhook_delivery_attempts" drop constraint "webhook_delivery_attempts_delivery_id_foreign";`,
    );

    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery_attempts" cascade;`);

    this.addSql(`alter table "webhooks" drop column "has_secret", drop column "events";`);

    this.addSql(`drop type "webhook_event";`);
    this.addSql(`drop type "webhook_delivery_status";`);
  }
}
