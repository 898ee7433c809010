import { GraphQLDate } from 'graphql-scalars';
import { Arg, Ctx, Field, Float, ID, ObjectType, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { ApiUsageKind } from './api-usage.entity';
import { utcDay } from './usage-recorder';
import { NotCached } from '../graphql/response-cache';

/** Longest range, in days (both ends included), one query may span. */
const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

@ObjectType({ description: 'SDK requests of one kind to an environment on one UTC day.' })
@TypeRequires(Authenticated)
export class ApiUsageCount {
  @Field(() => GraphQLDate)
  day!: string;

  @Field(() => ApiUsageKind)
  kind!: ApiUsageKind;

  @Field(() => Float, { description: 'A whole number.' })
  count!: number;
}

@ObjectType({
  description: "Evaluations of one feature an environment's SDKs reported on one UTC day.",
})
@TypeRequires(Authenticated)
export class FeatureEvaluationCount {
  @Field(() => GraphQLDate)
  day!: string;

  @Field()
  featureName!: string;

  @Field(() => Float, { description: 'A whole number.' })
  count!: number;
}

/** Checks `from`…`to` (inclusive) and returns them as `YYYY-MM-DD`. */
function dayRange(from: Date, to: Date): [string, string] {
  if (to.getTime() < from.getTime()) throw new ValidationError('to', 'must not be before from');
  if ((to.getTime() - from.getTime()) / DAY_MS + 1 > MAX_RANGE_DAYS)
    throw new ValidationError('to', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return [utcDay(from), utcDay(to)];
}

interface CountRow {
  day: string;
  name: string;
  count: string | number;
}

@DenyByDefault()
@Resolver()
export class UsageResolver {
  @NotCached()
  @Query(() => [ApiUsageCount], {
    description:
      'SDK requests to an environment per UTC day and kind, from `from` to `to` (both included, ' +
      'at most 366 days); days without requests are left out. Counts are written every ' +
      'USAGE_FLUSH_SECONDS.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', { arg: 'environmentId', type: 'environment' }))
  async environmentUsage(
    @Arg('environmentId', () => ID) environmentId: string,
    @Arg('from', () => GraphQLDate) from: Date,
    @Arg('to', () => GraphQLDate) to: Date,
    @Ctx() { em }: GraphQLContext,
  ): Promise<ApiUsageCount[]> {
    const id = parseId(environmentId, 'environmentId');
    const [first, last] = dayRange(from, to);
    const rows: CountRow[] = await em.getConnection().execute(
      `select to_char(day, 'YYYY-MM-DD') as day, kind::text as name, count from api_usage
       where environment_id = ? and day between ?::date and ?::date order by day, kind`,
      [id, first, last],
    );
    return rows.map((r) => ({
      day: r.day,
      kind: r.name as ApiUsageKind,
      count: Number(r.count),
    }));
  }

  @NotCached()
  @Query(() => [FeatureEvaluationCount], {
    description:
      "Feature evaluations an environment's SDKs reported (flag analytics) per UTC day and " +
      'feature, from `from` to `to` (both included, at most 366 days).',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', { arg: 'environmentId', type: 'environment' }))
  async featureEvaluations(
    @Arg('environmentId', () => ID) environmentId: string,
    @Arg('from', () => GraphQLDate) from: Date,
    @Arg('to', () => GraphQLDate) to: Date,
    @Ctx() { em }: GraphQLContext,
  ): Promise<FeatureEvaluationCount[]> {
    const id = parseId(environmentId, 'environmentId');
    const [first, last] = dayRange(from, to);
    const rows: CountRow[] = await em.getConnection().execute(
      `select to_char(day, 'YYYY-MM-DD') as day, feature_name as name, count
       from feature_evaluations
       where environment_id = ? and day between ?::date and ?::date order by day, feature_name`,
      [id, first, last],
    );
    return rows.map((r) => ({ day: r.day, featureName: r.name, count: Number(r.count) }));
  }
}
