/**
 * The environment document as Flagsmith's SDKs consume it for local evaluation
 * (`GET /api/v1/environment-document/`; shared/spec/environment-document.md). Key names and
 * their order are part of the wire format.
 */
export type DocumentValue = string | number | boolean | null;

export interface DocumentMultivariateValue {
  multivariate_feature_option: { value: DocumentValue; id: number | null; key: string | null };
  percentage_allocation: number;
  id: number | null;
  mv_fs_value_uuid: string;
}

export interface DocumentFeatureState {
  feature: { id: number; name: string; type: 'STANDARD' | 'MULTIVARIATE' };
  enabled: boolean;
  /** The multivariate hashing seed (Flagsmith: mv_hashing_salt, else the state's id). */
  django_id: number | string | null;
  feature_segment: { priority: number | null } | null;
  featurestate_uuid: string;
  feature_state_value: DocumentValue;
  multivariate_feature_state_values: DocumentMultivariateValue[];
}

export interface DocumentCondition {
  operator: string;
  value: string | null;
  property_: string | null;
}

export interface DocumentRule {
  type: 'ALL' | 'ANY' | 'NONE';
  rules: DocumentRule[];
  conditions: DocumentCondition[];
}

export interface DocumentSegment {
  id: number;
  name: string;
  rules: DocumentRule[];
  feature_states: DocumentFeatureState[];
}

export interface DocumentIdentityOverride {
  identifier: string;
  environment_api_key: string;
  created_date: string;
  identity_features: DocumentFeatureState[];
  identity_traits: unknown[];
  identity_uuid: string;
  django_id: number | null;
  dashboard_alias: string | null;
  composite_key: string;
}

export interface EnvironmentDocument {
  id: number;
  api_key: string;
  project: {
    id: number;
    name: string;
    organisation: {
      id: number;
      name: string;
      feature_analytics: boolean;
      stop_serving_flags: boolean;
      persist_trait_data: boolean;
    };
    hide_disabled_flags: boolean;
    segments: DocumentSegment[];
    enable_realtime_updates: boolean;
    server_key_only_feature_ids: number[];
  };
  feature_states: DocumentFeatureState[];
  identity_overrides: DocumentIdentityOverride[];
  name: string;
  allow_client_traits: boolean;
  updated_at: string;
  hide_sensitive_data: boolean;
  hide_disabled_flags: boolean | null;
  use_identity_composite_key_for_hashing: boolean;
  use_identity_overrides_in_local_eval: boolean;
}
