import { registerEnumType } from 'type-graphql';
import type { AuditLog } from '../audit/audit-log.entity';
import type { Environment } from '../environments/environment.entity';
import type { FlagValue } from '../features/feature-value';
import type { Project } from '../projects/project.entity';
import type { User } from '../users/user.entity';

/**
 * What happened, as a webhook subscribes to it. Flagsmith's wire envelope carries a coarser
 * `event_type` (FLAG_UPDATED, FLAG_DELETED, AUDIT_LOG_CREATED); `WIRE_TYPE` maps each event
 * to it, and the finer name travels in the `X-Flagward-Event` header.
 */
export enum WebhookEvent {
  FLAG_FEATURE_CREATED = 'FLAG_FEATURE_CREATED',
  FLAG_FEATURE_UPDATED = 'FLAG_FEATURE_UPDATED',
  FLAG_FEATURE_DELETED = 'FLAG_FEATURE_DELETED',
  FLAG_SEGMENT_CREATED = 'FLAG_SEGMENT_CREATED',
  FLAG_SEGMENT_UPDATED = 'FLAG_SEGMENT_UPDATED',
  FLAG_SEGMENT_DELETED = 'FLAG_SEGMENT_DELETED',
  FLAG_IDENTITY_UPDATED = 'FLAG_IDENTITY_UPDATED',
  AUDIT_LOG_CREATED = 'AUDIT_LOG_CREATED',
  /** Sent only by `sendTestWebhookEvent`; always delivered whatever the subscription. */
  TEST = 'TEST',
}

registerEnumType(WebhookEvent, {
  name: 'WebhookEvent',
  description:
    "A kind of change a webhook can receive. The body's event_type is Flagsmith's (FLAG_UPDATED, FLAG_DELETED or AUDIT_LOG_CREATED); this finer name is sent as X-Flagward-Event.",
});

export type WireEventType = 'FLAG_UPDATED' | 'FLAG_DELETED' | 'AUDIT_LOG_CREATED';

export const WIRE_TYPE: Readonly<Record<Exclude<WebhookEvent, WebhookEvent.TEST>, WireEventType>> =
  {
    FLAG_FEATURE_CREATED: 'FLAG_UPDATED',
    FLAG_FEATURE_UPDATED: 'FLAG_UPDATED',
    FLAG_FEATURE_DELETED: 'FLAG_DELETED',
    FLAG_SEGMENT_CREATED: 'FLAG_UPDATED',
    FLAG_SEGMENT_UPDATED: 'FLAG_UPDATED',
    FLAG_SEGMENT_DELETED: 'FLAG_UPDATED',
    FLAG_IDENTITY_UPDATED: 'FLAG_UPDATED',
    AUDIT_LOG_CREATED: 'AUDIT_LOG_CREATED',
  };

/** Plain JSON, as stored in the outbox and serialised for the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Flagsmith's webhook timestamp format: `%Y-%m-%dT%H:%M:%S.%fZ` (UTC, microseconds). */
export function webhookTimestamp(at: Date): string {
  return at.toISOString().replace(/Z$/, '000Z');
}

/** The parts of a feature state that a change can alter, captured before and after it. */
export interface StateValues {
  readonly enabled: boolean;
  readonly value: FlagValue;
  readonly allocations: readonly {
    readonly id: number;
    readonly optionId: number;
    readonly optionValue: FlagValue;
    readonly percentageAllocation: number;
  }[];
}

/** What stays the same about a feature state across a change. */
export interface StateContext {
  readonly feature: {
    readonly id: number;
    readonly createdAt: Date;
    readonly defaultEnabled: boolean;
    readonly description?: string | null;
    readonly initialValue?: string | null;
    readonly name: string;
    readonly type: string;
  };
  readonly project: { readonly id: number; readonly name: string };
  readonly environment: { readonly id: number; readonly name: string };
  readonly identity: { readonly id: number; readonly identifier: string } | null;
  readonly segmentOverride: {
    readonly segment: {
      readonly id: number;
      readonly name: string;
      readonly description?: string | null;
    };
    readonly priority: number;
  } | null;
}

/** Flagsmith's `FeatureStateData` for a webhook (admin-domain §5). */
export function featureStateData(context: StateContext, values: StateValues): Json {
  const { feature, project, environment, identity, segmentOverride } = context;
  return {
    feature: {
      id: feature.id,
      created_date: webhookTimestamp(feature.createdAt),
      default_enabled: feature.defaultEnabled,
      description: feature.description ?? null,
      initial_value: feature.initialValue ?? null,
      name: feature.name,
      project: { id: project.id, name: project.name },
      type: feature.type,
    },
    environment: { id: environment.id, name: environment.name },
    identity: identity?.id ?? null,
    identity_identifier: identity?.identifier ?? null,
    feature_segment: segmentOverride && {
      segment: {
        id: segmentOverride.segment.id,
        name: segmentOverride.segment.name,
        description: segmentOverride.segment.description ?? null,
      },
      priority: segmentOverride.priority,
    },
    enabled: values.enabled,
    feature_state_value: values.value,
    multivariate_feature_state_values: values.allocations.map((a) => ({
      id: a.id,
      multivariate_feature_option: { id: a.optionId, value: a.optionValue },
      percentage_allocation: a.percentageAllocation,
    })),
  };
}

/** The `data` of a FLAG_UPDATED / FLAG_DELETED event. */
export function flagEventData(input: {
  readonly changedBy: string;
  readonly at: Date;
  readonly context: StateContext;
  readonly before: StateValues | null;
  readonly after: StateValues | null;
}): { [key: string]: Json } {
  return {
    changed_by: input.changedBy,
    timestamp: webhookTimestamp(input.at),
    new_state: input.after && featureStateData(input.context, input.after),
    // Flagsmith leaves previous_state out when there was no earlier record.
    ...(input.before && { previous_state: featureStateData(input.context, input.before) }),
  };
}

/**
 * The `data` of AUDIT_LOG_CREATED (Flagsmith's AuditLogListSerializer). The record's id is
 * known only once it is inserted: the outbox row keeps it and the sender fills it in.
 */
export function auditLogData(
  log: AuditLog,
  author: User | null,
  project: Project | null,
  environment: Environment | null,
): { [key: string]: Json } {
  return {
    id: null,
    created_date: webhookTimestamp(log.createdAt),
    log: log.log,
    author: author && {
      id: author.id,
      email: author.email,
      first_name: author.firstName,
      last_name: author.lastName,
      last_login: author.lastLogin ? webhookTimestamp(author.lastLogin) : null,
      uuid: author.uuid,
    },
    environment: environment && {
      id: environment.id,
      uuid: environment.uuid,
      name: environment.name,
      api_key: environment.apiKey,
      description: environment.description ?? null,
      project: environment.project.id,
      minimum_change_request_approvals: null,
      allow_client_traits: environment.allowClientTraits,
      banner_text: environment.bannerText ?? null,
      banner_colour: environment.bannerColour ?? null,
      hide_disabled_flags: environment.hideDisabledFlags ?? null,
      use_mv_v2_evaluation: true,
      use_identity_composite_key_for_hashing: environment.useIdentityCompositeKeyForHashing,
      hide_sensitive_data: environment.hideSensitiveData,
      use_v2_feature_versioning: false,
      use_identity_overrides_in_local_eval: environment.useIdentityOverridesInLocalEval,
      is_creating: false,
    },
    project: project && {
      id: project.id,
      uuid: project.uuid,
      name: project.name,
      organisation: project.organisation.id,
      hide_disabled_flags: project.hideDisabledFlags,
      prevent_flag_defaults: project.preventFlagDefaults,
      enable_realtime_updates: project.enableRealtimeUpdates,
      only_allow_lower_case_feature_names: project.onlyAllowLowerCaseFeatureNames,
      feature_name_regex: project.featureNameRegex ?? null,
      stale_flags_limit_days: project.staleFlagsLimitDays,
    },
    related_object_id: Number.isSafeInteger(Number(log.relatedObjectId))
      ? Number(log.relatedObjectId)
      : log.relatedObjectId,
    related_object_uuid: log.relatedObjectUuid ?? null,
    related_object_type: log.relatedObjectType,
    is_system_event: log.isSystemEvent,
  };
}
