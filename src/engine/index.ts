/**
 * The flag evaluation engine: pure functions from plain JSON to plain JSON, with no
 * database, HTTP, clock, environment or logging. Wire-compatible with Flagsmith's engine
 * (shared/spec/evaluation.md).
 */
export * from './context';
export { evaluate } from './evaluate';
export { hashedPercentage } from './hashing';
export {
  IDENTITY_OVERRIDES_SEGMENT_NAME,
  InvalidDocumentError,
  mapEnvironmentDocumentToContext,
  mapResultToLegacyFlags,
  type IdentityInput,
  type LegacyCondition,
  type LegacyEnvironmentDocument,
  type LegacyFeatureState,
  type LegacyFlag,
  type LegacyFlagOptions,
  type LegacyIdentityOverride,
  type LegacyMultivariateValue,
  type LegacyRule,
  type LegacySegment,
  type MapDocumentOptions,
  type TraitsInput,
} from './mapper';
export { validateEvaluationContext, type ContextValidation } from './schema';
