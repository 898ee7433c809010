import { Migration } from '@mikro-orm/migrations';

/**
 * Every committed write announces its table on the `flagward_tables` channel (one
 * notification per table and transaction: PostgreSQL folds repeats), so that each node drops
 * cached GraphQL answers that read it (db/change-feed.ts, graphql/response-cache.ts).
 *
 * A table added by a later migration needs the same trigger; test/db/table-notifications
 * fails for a table without it.
 */
export class Migration20261124090000_table_notifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function flagward_table_changed() returns trigger
      language plpgsql as $$
      begin
        perform pg_notify('flagward_tables', tg_table_name);
        return null;
      end
      $$;`);
    this.addSql(`do $$
      declare t text;
      begin
        for t in select tablename from pg_tables
                  where schemaname = current_schema() and tablename <> 'mikro_orm_migrations'
        loop
          execute format(
            'create trigger flagward_table_changed after insert or update or delete or truncate '
            'on %I for each statement execute function flagward_table_changed()', t);
        end loop;
      end
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`do $$
      declare t text;
      begin
        for t in select event_object_table from information_schema.triggers
                  where trigger_name = 'flagward_table_changed' and trigger_schema = current_schema()
        loop
          execute format('drop trigger if exists flagward_table_changed on %I', t);
        end loop;
      end
      $$;`);
    this.addSql(`drop function if exists flagward_table_changed();`);
  }
}
