import { Migration } from '@mikro-orm/migrations';

export class Migration20261123134324_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "feature_type" as enum ('STANDARD', 'MULTIVARIATE');`);
    this.addSql(`create type "value_type" as enum ('int', 'unicode', 'bool');`);
    this.addSql(`create type "rule_type" as enum ('ALL', 'ANY', 'NONE');`);
    this.addSql(
      `create type "condition_operator" as enum ('EQUAL', 'GREATER_THAN', 'LESS_THAN', 'LESS_THAN_INCLUSIVE', 'CONTAINS', 'GREATER_THAN_INCLUSIVE', 'NOT_CONTAINS', 'NOT_EQUAL', 'REGEX', 'PERCENTAGE_SPLIT', 'MODULO', 'IS_SET', 'IS_NOT_SET', 'IN');`,
    );
    this.addSql(
      `create type "tag_type" as enum ('NONE', 'STALE', 'GITHUB', 'UNHEALTHY', 'GITLAB');`,
    );
    this.addSql(`create type "trait_value_type" as enum ('int', 'unicode', 'bool', 'float');`);
    this.addSql(`create type "organisation_role" as enum ('ADMIN', 'USER');`);
    this.addSql(
      `create type "audit_object_type" as enum ('ORGANISATION', 'PROJECT', 'ENVIRONMENT', 'FEATURE', 'FEATURE_STATE', 'SEGMENT', 'IDENTITY', 'USER', 'API_KEY', 'WEBHOOK', 'PERMISSION');`,
    );
    this.addSql(`create type "change_type" as enum ('CREATE', 'UPDATE', 'DELETE');`);
    this.addSql(`create type "grant_scope" as enum ('ORGANISATION', 'PROJECT', 'ENVIRONMENT');`);
    this.addSql(`create type "session_kind" as enum ('COOKIE', 'TOKEN');`);
    this.addSql(`create type "webhook_scope" as enum ('ORGANISATION', 'ENVIRONMENT');`);
    this.addSql(
      `create table "organisations" ("id" serial primary key, "uuid" uuid not null, "name" varchar(2000) not null, "created_at" timestamptz not null default now(), "webhook_notification_email" varchar(254) null, "stop_serving_flags" boolean not null default false, "restrict_project_create_to_admin" boolean not null default false, "persist_trait_data" boolean not null default true, "block_access_to_admin" boolean not null default false, "feature_analytics" boolean not null default true, "force2fa" boolean not null default false);`,
    );
    this.addSql(
      `alter table "organisations" add constraint "organisations_uuid_unique" unique ("uuid");`,
    );

    this.addSql(
      `create table "projects" ("id" serial primary key, "uuid" uuid not null, "name" varchar(2000) not null, "organisation_id" int not null, "created_at" timestamptz not null default now(), "hide_disabled_flags" boolean not null default false, "prevent_flag_defaults" boolean not null default false, "enforce_feature_owners" boolean not null default false, "enable_realtime_updates" boolean not null default false, "only_allow_lower_case_feature_names" boolean not null default true, "feature_name_regex" varchar(255) null, "max_segments_allowed" int not null default 500, "max_features_allowed" int not null default 1000, "max_segment_overrides_allowed" int not null default 2000, "stale_flags_limit_days" int not null default 30);`,
    );
    this.addSql(`alter table "projects" add constraint "projects_uuid_unique" unique ("uuid");`);
    this.addSql(`create index "projects_organisation_id_index" on "projects" ("organisation_id");`);

    this.addSql(
      `create table "features" ("id" serial primary key, "uuid" uuid not null, "project_id" int not null, "name" varchar(2000) not null, "type" "feature_type" not null default 'STANDARD', "initial_value" varchar(20000) null, "default_enabled" boolean not null default false, "description" text null, "is_archived" boolean not null default false, "is_server_key_only" boolean not null default false, "created_at" timestamptz not null default now());`,
    );
    this.addSql(`alter table "features" add constraint "features_uuid_unique" unique ("uuid");`);
    this.addSql(`create index "features_project_id_index" on "features" ("project_id");`);
    this.addSql(
      `create unique index "features_project_name_ci_unique" on "features" ("project_id", lower("name"));`,
    );

    this.addSql(
      `create table "multivariate_options" ("id" serial primary key, "feature_id" int not null, "key" varchar(100) not null, "type" "value_type" not null, "string_value" text null, "integer_value" bigint null, "boolean_value" boolean null, "default_percentage_allocation" numeric(5,2) not null default 100, constraint multivariate_options_allocation_range check (default_percentage_allocation >= 0 and default_percentage_allocation <= 100));`,
    );
    this.addSql(
      `create index "multivariate_options_feature_id_index" on "multivariate_options" ("feature_id");`,
    );
    this.addSql(
      `alter table "multivariate_options" add constraint "multivariate_options_feature_id_key_unique" unique ("feature_id", "key");`,
    );

    this.addSql(
      `create table "environments" ("id" serial primary key, "uuid" uuid not null, "name" varchar(2000) not null, "description" text null, "project_id" int not null, "api_key" varchar(100) not null, "allow_client_traits" boolean not null default true, "hide_disabled_flags" boolean null, "hide_sensitive_data" boolean not null default false, "use_identity_composite_key_for_hashing" boolean not null default true, "use_identity_overrides_in_local_eval" boolean not null default true, "banner_text" varchar(255) null, "banner_colour" varchar(7) null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now());`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_uuid_unique" unique ("uuid");`,
    );
    this.addSql(`create index "environments_project_id_index" on "environments" ("project_id");`);
    this.addSql(
      `alter table "environments" add constraint "environments_api_key_unique" unique ("api_key");`,
    );

    this.addSql(
      `create table "identities" ("id" serial primary key, "uuid" uuid not null, "environment_id" int not null, "identifier" varchar(2000) not null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `alter table "identities" add constraint "identities_uuid_unique" unique ("uuid");`,
    );
    this.addSql(
      `alter table "identities" add constraint "identities_environment_id_identifier_unique" unique ("environment_id", "identifier");`,
    );

    this.addSql(
      `create table "roles" ("id" serial primary key, "organisation_id" int not null, "name" varchar(200) not null, "description" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(`create index "roles_organisation_id_index" on "roles" ("organisation_id");`);
    this.addSql(
      `alter table "roles" add constraint "roles_organisation_id_name_unique" unique ("organisation_id", "name");`,
    );

    this.addSql(
      `create table "segments" ("id" serial primary key, "uuid" uuid not null, "project_id" int not null, "feature_id" int null, "name" varchar(2000) not null, "description" text null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now());`,
    );
    this.addSql(`alter table "segments" add constraint "segments_uuid_unique" unique ("uuid");`);
    this.addSql(`create index "segments_project_id_index" on "segments" ("project_id");`);
    this.addSql(`create index "segments_feature_id_index" on "segments" ("feature_id");`);

    this.addSql(
      `create table "feature_segments" ("id" serial primary key, "feature_id" int not null, "segment_id" int not null, "environment_id" int not null, "priority" int not null);`,
    );
    this.addSql(
      `create index "feature_segments_feature_id_index" on "feature_segments" ("feature_id");`,
    );
    this.addSql(
      `create index "feature_segments_segment_id_index" on "feature_segments" ("segment_id");`,
    );
    this.addSql(
      `create index "feature_segments_environment_id_index" on "feature_segments" ("environment_id");`,
    );
    this.addSql(
      `alter table "feature_segments" add constraint "feature_segments_feature_id_segment_id_environment_id_unique" unique ("feature_id", "segment_id", "environment_id");`,
    );

    this.addSql(
      `create table "feature_states" ("id" serial primary key, "uuid" uuid not null, "feature_id" int not null, "environment_id" int not null, "identity_id" int null, "feature_segment_id" int null, "enabled" boolean not null default false, "value_type" "value_type" not null default 'unicode', "string_value" text null, "integer_value" bigint null, "boolean_value" boolean null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint feature_states_one_kind check (identity_id is null or feature_segment_id is null));`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_uuid_unique" unique ("uuid");`,
    );
    this.addSql(
      `create index "feature_states_feature_id_index" on "feature_states" ("feature_id");`,
    );
    this.addSql(
      `create index "feature_states_environment_id_index" on "feature_states" ("environment_id");`,
    );
    this.addSql(
      `create index "feature_states_identity_id_index" on "feature_states" ("identity_id");`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_feature_segment_id_unique" unique ("feature_segment_id");`,
    );
    this.addSql(
      `create unique index "feature_states_default_unique" on "feature_states" ("feature_id", "environment_id") where "identity_id" is null and "feature_segment_id" is null;`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_feature_id_environment_id_identity_id_unique" unique ("feature_id", "environment_id", "identity_id");`,
    );

    this.addSql(
      `create table "multivariate_state_values" ("id" serial primary key, "feature_state_id" int not null, "option_id" int not null, "percentage_allocation" numeric(5,2) not null, constraint multivariate_state_values_allocation_range check (percentage_allocation >= 0 and percentage_allocation <= 100));`,
    );
    this.addSql(
      `create index "multivariate_state_values_feature_state_id_index" on "multivariate_state_values" ("feature_state_id");`,
    );
    this.addSql(
      `create index "multivariate_state_values_option_id_index" on "multivariate_state_values" ("option_id");`,
    );
    this.addSql(
      `alter table "multivariate_state_values" add constraint "multivariate_state_values_feature_state_id_option_id_unique" unique ("feature_state_id", "option_id");`,
    );

    this.addSql(
      `create table "segment_rules" ("id" serial primary key, "segment_id" int null, "parent_rule_id" int null, "type" "rule_type" not null, "position" int not null default 0, constraint segment_rules_one_parent check (num_nonnulls(segment_id, parent_rule_id) = 1));`,
    );
    this.addSql(`create index "segment_rules_segment_id_index" on "segment_rules" ("segment_id");`);
    this.addSql(
      `create index "segment_rules_parent_rule_id_index" on "segment_rules" ("parent_rule_id");`,
    );

    this.addSql(
      `create table "segment_conditions" ("id" serial primary key, "rule_id" int not null, "operator" "condition_operator" not null, "property" varchar(1000) null, "value" varchar(1000) null, "description" text null, "position" int not null default 0);`,
    );
    this.addSql(
      `create index "segment_conditions_rule_id_index" on "segment_conditions" ("rule_id");`,
    );

    this.addSql(
      `create table "environment_server_keys" ("id" serial primary key, "environment_id" int not null, "name" varchar(100) not null, "key_hash" varchar(64) not null, "key_prefix" varchar(16) not null, "active" boolean not null default true, "expires_at" timestamptz null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "environment_server_keys_environment_id_index" on "environment_server_keys" ("environment_id");`,
    );
    this.addSql(
      `alter table "environment_server_keys" add constraint "environment_server_keys_key_hash_unique" unique ("key_hash");`,
    );

    this.addSql(
      `create table "tags" ("id" serial primary key, "project_id" int not null, "label" varchar(100) not null, "color" varchar(10) not null default '#6837FC', "description" varchar(512) null, "is_system_tag" boolean not null default false, "is_permanent" boolean not null default false, "type" "tag_type" not null default 'NONE');`,
    );
    this.addSql(`create index "tags_project_id_index" on "tags" ("project_id");`);
    this.addSql(
      `alter table "tags" add constraint "tags_project_id_label_unique" unique ("project_id", "label");`,
    );

    this.addSql(
      `create table "feature_tags" ("feature_id" int not null, "tag_id" int not null, constraint "feature_tags_pkey" primary key ("feature_id", "tag_id"));`,
    );

    this.addSql(
      `create table "traits" ("id" serial primary key, "identity_id" int not null, "key" varchar(200) not null, "value_type" "trait_value_type" not null, "string_value" varchar(2000) null, "integer_value" bigint null, "boolean_value" boolean null, "float_value" double precision null, "created_at" timestamptz not null default now(), constraint traits_value_present check (num_nonnulls(string_value, integer_value, boolean_value, float_value) = 1));`,
    );
    this.addSql(
      `alter table "traits" add constraint "traits_identity_id_key_unique" unique ("identity_id", "key");`,
    );

    this.addSql(
      `create table "users" ("id" serial primary key, "uuid" uuid not null, "email" varchar(254) not null, "first_name" varchar(150) not null default '', "last_name" varchar(150) not null default '', "password_hash" text null, "is_staff" boolean not null default false, "is_superuser" boolean not null default false, "is_active" boolean not null default true, "last_login" timestamptz null, "date_joined" timestamptz not null default now());`,
    );
    this.addSql(`alter table "users" add constraint "users_uuid_unique" unique ("uuid");`);
    this.addSql(`create index "users_date_joined_index" on "users" ("date_joined");`);
    this.addSql(`create unique index "users_email_ci_unique" on "users" (lower("email"));`);

    this.addSql(
      `create table "organisation_memberships" ("id" serial primary key, "user_id" int not null, "organisation_id" int not null, "role" "organisation_role" not null, "date_joined" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "organisation_memberships_user_id_index" on "organisation_memberships" ("user_id");`,
    );
    this.addSql(
      `create index "organisation_memberships_organisation_id_index" on "organisation_memberships" ("organisation_id");`,
    );
    this.addSql(
      `alter table "organisation_memberships" add constraint "organisation_memberships_user_id_organisation_id_unique" unique ("user_id", "organisation_id");`,
    );

    this.addSql(
      `create table "organisation_api_keys" ("id" serial primary key, "organisation_id" int not null, "name" varchar(200) not null, "prefix" varchar(16) not null, "key_hash" varchar(64) not null, "is_admin" boolean not null default true, "created_at" timestamptz not null default now(), "expires_at" timestamptz null, "revoked_at" timestamptz null, "created_by_id" int null);`,
    );
    this.addSql(
      `create index "organisation_api_keys_organisation_id_index" on "organisation_api_keys" ("organisation_id");`,
    );
    this.addSql(
      `alter table "organisation_api_keys" add constraint "organisation_api_keys_prefix_unique" unique ("prefix");`,
    );
    this.addSql(
      `alter table "organisation_api_keys" add constraint "organisation_api_keys_key_hash_unique" unique ("key_hash");`,
    );

    this.addSql(
      `create table "feature_owners" ("feature_id" int not null, "user_id" int not null, constraint "feature_owners_pkey" primary key ("feature_id", "user_id"));`,
    );

    this.addSql(
      `create table "audit_logs" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "organisation_id" int null, "project_id" int null, "environment_id" int null, "author_id" int null, "api_key_id" int null, "log" text not null, "related_object_type" "audit_object_type" not null, "related_object_id" varchar(64) not null, "related_object_uuid" uuid null, "change_type" "change_type" not null, "is_system_event" boolean not null default false, "before" jsonb null, "after" jsonb null);`,
    );
    this.addSql(`create index "audit_logs_project_id_index" on "audit_logs" ("project_id");`);
    this.addSql(
      `create index "audit_logs_environment_id_index" on "audit_logs" ("environment_id");`,
    );
    this.addSql(
      `create index "audit_logs_organisation_id_created_at_index" on "audit_logs" ("organisation_id", "created_at");`,
    );

    this.addSql(
      `create table "user_groups" ("id" serial primary key, "organisation_id" int null, "name" varchar(200) not null, "is_default" boolean not null default false, "external_id" varchar(255) null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "user_groups_organisation_id_index" on "user_groups" ("organisation_id");`,
    );
    this.addSql(
      `alter table "user_groups" add constraint "user_groups_organisation_id_name_unique" unique ("organisation_id", "name");`,
    );

    this.addSql(
      `create table "role_assignments" ("id" serial primary key, "role_id" int not null, "user_id" int null, "group_id" int null, "api_key_id" int null, constraint role_assignments_one_holder check (num_nonnulls(user_id, group_id, api_key_id) = 1));`,
    );
    this.addSql(`create index "role_assignments_role_id_index" on "role_assignments" ("role_id");`);
    this.addSql(`create index "role_assignments_user_id_index" on "role_assignments" ("user_id");`);
    this.addSql(
      `create index "role_assignments_group_id_index" on "role_assignments" ("group_id");`,
    );
    this.addSql(
      `create index "role_assignments_api_key_id_index" on "role_assignments" ("api_key_id");`,
    );

    this.addSql(
      `create table "permission_grants" ("id" serial primary key, "scope" "grant_scope" not null, "organisation_id" int not null, "project_id" int null, "environment_id" int null, "user_id" int null, "group_id" int null, "role_id" int null, "admin" boolean not null default false, "keys" text[] not null default '{}', constraint permission_grants_scope_target check ((scope = 'ORGANISATION' and project_id is null and environment_id is null) or (scope = 'PROJECT' and project_id is not null and environment_id is null) or (scope = 'ENVIRONMENT' and project_id is not null and environment_id is not null)), constraint permission_grants_one_holder check (num_nonnulls(user_id, group_id, role_id) = 1));`,
    );
    this.addSql(
      `create index "permission_grants_organisation_id_index" on "permission_grants" ("organisation_id");`,
    );
    this.addSql(
      `create index "permission_grants_project_id_index" on "permission_grants" ("project_id");`,
    );
    this.addSql(
      `create index "permission_grants_environment_id_index" on "permission_grants" ("environment_id");`,
    );
    this.addSql(
      `create index "permission_grants_user_id_index" on "permission_grants" ("user_id");`,
    );
    this.addSql(
      `create index "permission_grants_group_id_index" on "permission_grants" ("group_id");`,
    );
    this.addSql(
      `create index "permission_grants_role_id_index" on "permission_grants" ("role_id");`,
    );

    this.addSql(
      `create table "model_permission_grants" ("id" serial primary key, "user_id" int null, "group_id" int null, "codename" varchar(100) not null, constraint model_permission_grants_one_holder check (num_nonnulls(user_id, group_id) = 1));`,
    );
    this.addSql(
      `create index "model_permission_grants_user_id_index" on "model_permission_grants" ("user_id");`,
    );
    this.addSql(
      `create index "model_permission_grants_group_id_index" on "model_permission_grants" ("group_id");`,
    );

    this.addSql(
      `create table "feature_group_owners" ("feature_id" int not null, "user_group_id" int not null, constraint "feature_group_owners_pkey" primary key ("feature_id", "user_group_id"));`,
    );

    this.addSql(
      `create table "user_group_memberships" ("id" serial primary key, "group_id" int not null, "user_id" int not null, "group_admin" boolean not null default false);`,
    );
    this.addSql(
      `create index "user_group_memberships_user_id_index" on "user_group_memberships" ("user_id");`,
    );
    this.addSql(
      `alter table "user_group_memberships" add constraint "user_group_memberships_group_id_user_id_unique" unique ("group_id", "user_id");`,
    );

    this.addSql(
      `create table "user_sessions" ("id_hash" varchar(64) not null, "kind" "session_kind" not null, "user_id" int null, "data" jsonb null, "expires_at" timestamptz not null, "created_at" timestamptz not null default now(), "last_seen_at" timestamptz not null default now(), "user_agent" varchar(512) null, "ip" varchar(64) null, constraint "user_sessions_pkey" primary key ("id_hash"));`,
    );
    this.addSql(`create index "user_sessions_user_id_index" on "user_sessions" ("user_id");`);
    this.addSql(`create index "user_sessions_expires_at_index" on "user_sessions" ("expires_at");`);

    this.addSql(
      `create table "webhooks" ("id" serial primary key, "scope" "webhook_scope" not null, "organisation_id" int null, "environment_id" int null, "name" varchar(200) not null default '', "url" varchar(2000) not null, "secret_ciphertext" text null, "enabled" boolean not null default true, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint webhooks_scope_target check ((scope = 'ORGANISATION' and organisation_id is not null and environment_id is null) or (scope = 'ENVIRONMENT' and environment_id is not null and organisation_id is null)));`,
    );
    this.addSql(`create index "webhooks_organisation_id_index" on "webhooks" ("organisation_id");`);
    this.addSql(`create index "webhooks_environment_id_index" on "webhooks" ("environment_id");`);

    this.addSql(
      `alter table "projects" add constraint "projects_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "features" add constraint "features_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "multivariate_options" add constraint "multivariate_options_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "environments" add constraint "environments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "identities" add constraint "identities_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "roles" add constraint "roles_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "segments" add constraint "segments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "segments" add constraint "segments_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "feature_segments" add constraint "feature_segments_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_segments" add constraint "feature_segments_segment_id_foreign" foreign key ("segment_id") references "segments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_segments" add constraint "feature_segments_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "feature_states" add constraint "feature_states_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_states" add constraint "feature_states_feature_segment_id_foreign" foreign key ("feature_segment_id") references "feature_segments" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "multivariate_state_values" add constraint "multivariate_state_values_feature_state_id_foreign" foreign key ("feature_state_id") references "feature_states" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "multivariate_state_values" add constraint "multivariate_state_values_option_id_foreign" foreign key ("option_id") references "multivariate_options" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "segment_rules" add constraint "segment_rules_segment_id_foreign" foreign key ("segment_id") references "segments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "segment_rules" add constraint "segment_rules_parent_rule_id_foreign" foreign key ("parent_rule_id") references "segment_rules" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "segment_conditions" add constraint "segment_conditions_rule_id_foreign" foreign key ("rule_id") references "segment_rules" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "environment_server_keys" add constraint "environment_server_keys_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "tags" add constraint "tags_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "feature_tags" add constraint "feature_tags_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_tags" add constraint "feature_tags_tag_id_foreign" foreign key ("tag_id") references "tags" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "traits" add constraint "traits_identity_id_foreign" foreign key ("identity_id") references "identities" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "organisation_memberships" add constraint "organisation_memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "organisation_memberships" add constraint "organisation_memberships_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "organisation_api_keys" add constraint "organisation_api_keys_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "organisation_api_keys" add constraint "organisation_api_keys_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "feature_owners" add constraint "feature_owners_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_owners" add constraint "feature_owners_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_author_id_foreign" foreign key ("author_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_api_key_id_foreign" foreign key ("api_key_id") references "organisation_api_keys" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "user_groups" add constraint "user_groups_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "role_assignments" add constraint "role_assignments_role_id_foreign" foreign key ("role_id") references "roles" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "role_assignments" add constraint "role_assignments_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "role_assignments" add constraint "role_assignments_group_id_foreign" foreign key ("group_id") references "user_groups" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "role_assignments" add constraint "role_assignments_api_key_id_foreign" foreign key ("api_key_id") references "organisation_api_keys" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_group_id_foreign" foreign key ("group_id") references "user_groups" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "permission_grants" add constraint "permission_grants_role_id_foreign" foreign key ("role_id") references "roles" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "model_permission_grants" add constraint "model_permission_grants_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "model_permission_grants" add constraint "model_permission_grants_group_id_foreign" foreign key ("group_id") references "user_groups" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "feature_group_owners" add constraint "feature_group_owners_feature_id_foreign" foreign key ("feature_id") references "features" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "feature_group_owners" add constraint "feature_group_owners_user_group_id_foreign" foreign key ("user_group_id") references "user_groups" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "user_group_memberships" add constraint "user_group_memberships_group_id_foreign" foreign key ("group_id") references "user_groups" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "user_group_memberships" add constraint "user_group_memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "user_sessions" add constraint "user_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhooks" add constraint "webhooks_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhooks" add constraint "webhooks_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "projects" drop constraint "projects_organisation_id_foreign";`);

    this.addSql(`alter table "roles" drop constraint "roles_organisation_id_foreign";`);

    this.addSql(
      `alter table "organisation_memberships" drop constraint "organisation_memberships_organisation_id_foreign";`,
    );

    this.addSql(
      `alter table "organisation_api_keys" drop constraint "organisation_api_keys_organisation_id_foreign";`,
    );

    this.addSql(`alter table "audit_logs" drop constraint "audit_logs_organisation_id_foreign";`);

    this.addSql(`alter table "user_groups" drop constraint "user_groups_organisation_id_foreign";`);

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_organisation_id_foreign";`,
    );

    this.addSql(`alter table "webhooks" drop constraint "webhooks_organisation_id_foreign";`);

    this.addSql(`alter table "features" drop constraint "features_project_id_foreign";`);

    this.addSql(`alter table "environments" drop constraint "environments_project_id_foreign";`);

    this.addSql(`alter table "segments" drop constraint "segments_project_id_foreign";`);

    this.addSql(`alter table "tags" drop constraint "tags_project_id_foreign";`);

    this.addSql(`alter table "audit_logs" drop constraint "audit_logs_project_id_foreign";`);

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_project_id_foreign";`,
    );

    this.addSql(
      `alter table "multivariate_options" drop constraint "multivariate_options_feature_id_foreign";`,
    );

    this.addSql(`alter table "segments" drop constraint "segments_feature_id_foreign";`);

    this.addSql(
      `alter table "feature_segments" drop constraint "feature_segments_feature_id_foreign";`,
    );

    this.addSql(
      `alter table "feature_states" drop constraint "feature_states_feature_id_foreign";`,
    );

    this.addSql(`alter table "feature_tags" drop constraint "feature_tags_feature_id_foreign";`);

    this.addSql(
      `alter table "feature_owners" drop constraint "feature_owners_feature_id_foreign";`,
    );

    this.addSql(
      `alter table "feature_group_owners" drop constraint "feature_group_owners_feature_id_foreign";`,
    );

    this.addSql(
      `alter table "multivariate_state_values" drop constraint "multivariate_state_values_option_id_foreign";`,
    );

    this.addSql(`alter table "identities" drop constraint "identities_environment_id_foreign";`);

    this.addSql(
      `alter table "feature_segments" drop constraint "feature_segments_environment_id_foreign";`,
    );

    this.addSql(
      `alter table "feature_states" drop constraint "feature_states_environment_id_foreign";`,
    );

    this.addSql(
      `alter table "environment_server_keys" drop constraint "environment_server_keys_environment_id_foreign";`,
    );

    this.addSql(`alter table "audit_logs" drop constraint "audit_logs_environment_id_foreign";`);

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_environment_id_foreign";`,
    );

    this.addSql(`alter table "webhooks" drop constraint "webhooks_environment_id_foreign";`);

    this.addSql(
      `alter table "feature_states" drop constraint "feature_states_identity_id_foreign";`,
    );

    this.addSql(`alter table "traits" drop constraint "traits_identity_id_foreign";`);

    this.addSql(
      `alter table "role_assignments" drop constraint "role_assignments_role_id_foreign";`,
    );

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_role_id_foreign";`,
    );

    this.addSql(
      `alter table "feature_segments" drop constraint "feature_segments_segment_id_foreign";`,
    );

    this.addSql(`alter table "segment_rules" drop constraint "segment_rules_segment_id_foreign";`);

    this.addSql(
      `alter table "feature_states" drop constraint "feature_states_feature_segment_id_foreign";`,
    );

    this.addSql(
      `alter table "multivariate_state_values" drop constraint "multivariate_state_values_feature_state_id_foreign";`,
    );

    this.addSql(
      `alter table "segment_rules" drop constraint "segment_rules_parent_rule_id_foreign";`,
    );

    this.addSql(
      `alter table "segment_conditions" drop constraint "segment_conditions_rule_id_foreign";`,
    );

    this.addSql(`alter table "feature_tags" drop constraint "feature_tags_tag_id_foreign";`);

    this.addSql(
      `alter table "organisation_memberships" drop constraint "organisation_memberships_user_id_foreign";`,
    );

    this.addSql(
      `alter table "organisation_api_keys" drop constraint "organisation_api_keys_created_by_id_foreign";`,
    );

    this.addSql(`alter table "feature_owners" drop constraint "feature_owners_user_id_foreign";`);

    this.addSql(`alter table "audit_logs" drop constraint "audit_logs_author_id_foreign";`);

    this.addSql(
      `alter table "role_assignments" drop constraint "role_assignments_user_id_foreign";`,
    );

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_user_id_foreign";`,
    );

    this.addSql(
      `alter table "model_permission_grants" drop constraint "model_permission_grants_user_id_foreign";`,
    );

    this.addSql(
      `alter table "user_group_memberships" drop constraint "user_group_memberships_user_id_foreign";`,
    );

    this.addSql(`alter table "user_sessions" drop constraint "user_sessions_user_id_foreign";`);

    this.addSql(`alter table "audit_logs" drop constraint "audit_logs_api_key_id_foreign";`);

    this.addSql(
      `alter table "role_assignments" drop constraint "role_assignments_api_key_id_foreign";`,
    );

    this.addSql(
      `alter table "role_assignments" drop constraint "role_assignments_group_id_foreign";`,
    );

    this.addSql(
      `alter table "permission_grants" drop constraint "permission_grants_group_id_foreign";`,
    );

    this.addSql(
      `alter table "model_permission_grants" drop constraint "model_permission_grants_group_id_foreign";`,
    );

    this.addSql(
      `alter table "feature_group_owners" drop constraint "feature_group_owners_user_group_id_foreign";`,
    );

    this.addSql(
      `alter table "user_group_memberships" drop constraint "user_group_memberships_group_id_foreign";`,
    );

    this.addSql(`drop table if exists "organisations" cascade;`);

    this.addSql(`drop table if exists "projects" cascade;`);

    this.addSql(`drop table if exists "features" cascade;`);

    this.addSql(`drop table if exists "multivariate_options" cascade;`);

    this.addSql(`drop table if exists "environments" cascade;`);

    this.addSql(`drop table if exists "identities" cascade;`);

    this.addSql(`drop table if exists "roles" cascade;`);

    this.addSql(`drop table if exists "segments" cascade;`);

    this.addSql(`drop table if exists "feature_segments" cascade;`);

    this.addSql(`drop table if exists "feature_states" cascade;`);

    this.addSql(`drop table if exists "multivariate_state_values" cascade;`);

    this.addSql(`drop table if exists "segment_rules" cascade;`);

    this.addSql(`drop table if exists "segment_conditions" cascade;`);

    this.addSql(`drop table if exists "environment_server_keys" cascade;`);

    this.addSql(`drop table if exists "tags" cascade;`);

    this.addSql(`drop table if exists "feature_tags" cascade;`);

    this.addSql(`drop table if exists "traits" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "organisation_memberships" cascade;`);

    this.addSql(`drop table if exists "organisation_api_keys" cascade;`);

    this.addSql(`drop table if exists "feature_owners" cascade;`);

    this.addSql(`drop table if exists "audit_logs" cascade;`);

    this.addSql(`drop table if exists "user_groups" cascade;`);

    this.addSql(`drop table if exists "role_assignments" cascade;`);

    this.addSql(`drop table if exists "permission_grants" cascade;`);

    this.addSql(`drop table if exists "model_permission_grants" cascade;`);

    this.addSql(`drop table if exists "feature_group_owners" cascade;`);

    this.addSql(`drop table if exists "user_group_memberships" cascade;`);

    this.addSql(`drop table if exists "user_sessions" cascade;`);

    this.addSql(`drop table if exists "webhooks" cascade;`);

    this.addSql(`drop type "feature_type";`);
    this.addSql(`drop type "value_type";`);
    this.addSql(`drop type "rule_type";`);
    this.addSql(`drop type "condition_operator";`);
    this.addSql(`drop type "tag_type";`);
    this.addSql(`drop type "trait_value_type";`);
    this.addSql(`drop type "organisation_role";`);
    this.addSql(`drop type "audit_object_type";`);
    this.addSql(`drop type "change_type";`);
    this.addSql(`drop type "grant_scope";`);
    this.addSql(`drop type "session_kind";`);
    this.addSql(`drop type "webhook_scope";`);
  }
}
