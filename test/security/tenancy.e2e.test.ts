/**
 * Tenancy (issue 9.2): for every query and mutation that takes an id — an ID argument, or an
 * ID anywhere inside its input objects — a caller from another organisation gets exactly the
 * same answer (HTTP status, data, and each error's message, extensions and path) for a record
 * of ours as for an id that does not exist. The caller is an ADMIN of their own organisation
 * (the most a tenant can be), and every other id of the request names the caller's own
 * records, so the only thing foreign is the id compared.
 *
 * The operations and their id slots come from the schema: an operation with an id and no way
 * to build its request here fails the first test, by name. Fields of record types that take
 * ids (`Feature.states(environmentIds)`) are compared too, reached through the caller's own
 * record. Mutations are set up by
 * test/support/mutation-cases.ts, once in each organisation.
 */
import {
  BREAK,
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromASTUntyped,
  visit,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/shared/ids';
import { publicSessionId } from '../../src/users/session.service';
import { User } from '../../src/users/user.entity';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import { HOOK_URL, mutationCases } from '../support/mutation-cases';
import { rawAgent, rawRequest } from '../support/security';
import { createTestApp, OrganisationRole, type TestApp } from '../support/test-app';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Vars = Record<string, Json>;
type Path = readonly (string | number)[];

// --- The schema's id slots -------------------------------------------------------------------

interface IdSlot {
  readonly path: Path;
  /** Whether the request must carry it (every step of the path non-null). */
  readonly required: boolean;
  /**
   * Its optional single-id siblings: alternatives to it (a scope, a holder), left out when
   * the request is given this slot instead.
   */
  readonly alternatives: readonly string[];
}

/** Every ID leaf of the arguments (list elements as index 0), down to input depth 5. */
function idSlots(args: readonly GraphQLArgument[]): IdSlot[] {
  const out: IdSlot[] = [];
  const walk = (
    type: GraphQLInputType,
    path: Path,
    required: boolean,
    depth: number,
    siblings: readonly string[] = [],
  ) => {
    const nonNull = isNonNullType(type);
    const inner = nonNull ? type.ofType : type;
    const req = required && nonNull;
    if (isListType(inner)) {
      walk(inner.ofType, [...path, 0], req, depth + 1);
    } else if (isInputObjectType(inner)) {
      if (depth < 5) {
        const fields = Object.values(inner.getFields());
        const optionalIds = fields
          .filter(
            (f) =>
              !isNonNullType(f.type) && getNamedType(f.type).name === 'ID' && !isListType(f.type),
          )
          .map((f) => f.name);
        for (const field of fields) {
          const alternatives = optionalIds.includes(field.name)
            ? optionalIds.filter((n) => n !== field.name)
            : [];
          walk(field.type, [...path, field.name], req, depth + 1, alternatives);
        }
      }
    } else if (getNamedType(inner).name === 'ID') {
      out.push({ path, required: req, alternatives: siblings });
    }
  };
  for (const arg of args) walk(arg.type, [arg.name], true, 0);
  return out;
}

const get = (value: Json | undefined, path: Path): Json | undefined =>
  path.reduce<Json | undefined>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, Json>)[k] : undefined),
    value,
  );

/** `vars` with `path` set (containers made on the way); the original untouched. */
function set(vars: Json, path: Path, value: Json): Json {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  const base: Record<string | number, Json> | Json[] =
    vars !== null && typeof vars === 'object'
      ? Array.isArray(vars)
        ? [...vars]
        : { ...vars }
      : typeof key === 'number'
        ? []
        : {};
  const current = (base as Record<string | number, Json>)[key] ?? null;
  (base as Record<string | number, Json>)[key] = set(current, rest, value);
  return base as Json;
}

/** `vars` without `path` (when it exists). */
function unset(vars: Json, path: Path): Json {
  const parent = get(vars, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return vars;
  const last = path[path.length - 1] as string;
  if (!(last in parent)) return vars;
  const { [last]: removed, ...rest } = parent;
  void removed;
  return path.length === 1 ? rest : set(vars, path.slice(0, -1), rest);
}

/** What a selection of an operation's result reads: enough to tell records apart. */
function selectionOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  if (isLeafType(named) || !isObjectType(named)) return '';
  const fields = named.getFields();
  const parts = ['__typename'];
  if (fields.id) parts.push('id');
  if (fields.totalCount) parts.push('totalCount');
  if (fields.nodes) {
    const node = getNamedType(fields.nodes.type);
    const nodeId = isObjectType(node) && node.getFields().id ? ' id' : '';
    parts.push(`nodes { __typename${nodeId} }`);
  }
  void schema;
  return ` { ${parts.join(' ')} }`;
}

function documentFor(
  kind: 'query' | 'mutation',
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  vars: Vars,
): string {
  const used = field.args.filter((a) => vars[a.name] !== undefined);
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${kind}${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selectionOf(schema, field)} }`;
}

/**
 * A case's variables by argument name: its query may name them otherwise (`input: $i`) or give
 * some as literals (`groupAdmin: true`).
 */
function argumentsOf(query: string, field: string, variables: Vars): Vars {
  const out: Vars = {};
  visit(parse(query), {
    Field(node) {
      if (node.name.value !== field) return undefined;
      for (const arg of node.arguments ?? []) {
        out[arg.name.value] = valueFromASTUntyped(arg.value, variables) as Json;
      }
      return BREAK;
    },
  });
  return out;
}

// --- The run ---------------------------------------------------------------------------------

/** The kind of record an id slot names, by the slot's own name (for slots a case leaves out). */
const KIND_OF: Record<string, string> = {
  organisationId: 'organisation',
  projectId: 'project',
  environmentId: 'environment',
  featureId: 'feature',
  featureIds: 'feature',
  environmentIds: 'environment',
  segmentId: 'segment',
  tagIds: 'tag',
  identityId: 'identity',
  webhookId: 'webhook',
  groupId: 'group',
  groupOwnerIds: 'group',
  roleId: 'role',
  roleIds: 'role',
  userId: 'user',
  userIds: 'user',
  ownerIds: 'user',
  authorId: 'user',
  apiKeyId: 'apiKey',
  optionId: 'option',
};

/** The required fields of a list item a comparison adds (beside the id compared). */
const ITEM_FIELDS: Record<string, Json> = {
  multivariateAllocations: { percentageAllocation: 10 },
};

/** Settings a comparison needs besides its id, by `operation.slot` (else another rule answers first). */
const WITH: Record<string, readonly [Path, Json][]> = {
  // Roles are for non-admin keys only.
  'createOrganisationApiKey.input.roleIds.0': [[['input', 'isAdmin'], false]],
};

/** The kind an `id` argument names, by operation. */
const ID_KIND: Record<string, string> = {
  organisation: 'organisation',
  project: 'project',
  environment: 'environment',
  feature: 'feature',
  segment: 'segment',
  identity: 'identity',
  group: 'group',
  role: 'role',
  webhook: 'webhook',
};

/** The name that tells what an id slot names: its field, or (list element) the list's. */
const slotName = (path: Path): string => {
  const last = path[path.length - 1];
  return String(typeof last === 'number' ? path[path.length - 2] : last);
};

interface Tenant {
  readonly ws: Workspace;
  /** The ADMIN who makes the records (set-ups may give them model permissions). */
  readonly admin: { token: string; id: number };
  /** Another ADMIN of the organisation, who holds nothing else: the one who calls. */
  readonly caller: string;
  /** Records of each kind, made once. */
  readonly records: Record<string, string>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

describe('tenancy: a record of another organisation reads exactly as one that does not exist', () => {
  let t: TestApp;
  let schema: GraphQLSchema;
  let ours: Tenant;
  let theirs: Tenant;
  /** Ids that exist nowhere, one per comparison. */
  let nextMissing = 1_900_000_000;

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      WEBHOOK_WORKER: 'false',
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      USAGE_FLUSH_SECONDS: '3600',
    });
    schema = t.app.schema;
    ours = await tenant('owner@acme.test', 'Acme');
    theirs = await tenant('admin@other.test', 'Other');
  }, 120_000);

  afterAll(async () => {
    rawAgent.destroy();
    await t?.close();
  });

  /** An organisation with one record of every kind, made by its ADMIN through GraphQL. */
  async function tenant(email: string, name: string): Promise<Tenant> {
    const made = await t.createUser(email);
    const admin = { token: made.token, id: made.user.id };
    const ws = await createWorkspace(t, admin.token, {
      organisation: name,
      project: `${name} web`,
    });
    const as = async (query: string, variables: Vars = {}): Promise<string> => {
      const data = ok(
        await t.gql<Record<string, { id: string }>>(query, variables, { token: admin.token }),
      );
      return Object.values(data)[0]!.id;
    };
    const env = ws.environments.Development!;
    const feature = await as(
      'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "tenant_flag" }) { id } }',
      { p: ws.projectId },
    );
    const member = await t.createUser(`member@${name.toLowerCase()}.test`);
    await t.addMember(member.user, ws.organisationId, OrganisationRole.USER);
    const apiKey = ok(
      await t.gql<{ createOrganisationApiKey: { apiKey: { id: string } } }>(
        'mutation($o: ID!) { createOrganisationApiKey(input: { organisationId: $o, name: "ci" }) { apiKey { id } } }',
        { o: ws.organisationId },
        { token: admin.token },
      ),
    ).createOrganisationApiKey.apiKey.id;
    const records: Record<string, string> = {
      organisation: ws.organisationId,
      project: ws.projectId,
      environment: env,
      feature,
      option: await as(
        'mutation($f: ID!) { createMultivariateOption(featureId: $f, input: { value: "v", defaultPercentageAllocation: 10 }) { id } }',
        { f: feature },
      ),
      segment: await as(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "tenant", rules: [{ type: ALL, conditions: [{ operator: IS_SET, property: "plan" }] }] }) { id } }',
        { p: ws.projectId },
      ),
      tag: await as(
        'mutation($p: ID!) { createTag(input: { projectId: $p, label: "tenant" }) { id } }',
        {
          p: ws.projectId,
        },
      ),
      identity: await as(
        'mutation($e: ID!) { createIdentity(input: { environmentId: $e, identifier: "tenant-user" }) { id } }',
        { e: env },
      ),
      webhook: await as(
        'mutation($e: ID!, $u: String!) { createEnvironmentWebhook(input: { environmentId: $e, url: $u, name: "tenant" }) { id } }',
        { e: env, u: HOOK_URL },
      ),
      group: await as(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "tenant" }) { id } }',
        {
          o: ws.organisationId,
        },
      ),
      role: await as(
        'mutation($o: ID!) { createRole(input: { organisationId: $o, name: "tenant" }) { id } }',
        {
          o: ws.organisationId,
        },
      ),
      user: String(member.user.id),
      apiKey,
    };
    const caller = await t.createUser(`caller@${name.toLowerCase()}.test`);
    await t.addMember(caller.user, ws.organisationId, OrganisationRole.ADMIN);
    return { ws, admin, caller: caller.token, records };
  }

  /** Sends a request as `tenant`'s calling ADMIN. */
  async function send(who: Tenant, query: string, variables: Vars): Promise<Answer> {
    const res = await rawRequest(t.url, {
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${who.caller}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: res.body.toString('utf8') };
  }

  /** The answer with the id compared written as <id> in its text (messages may name it). */
  function normalised(answer: Answer, id: string): unknown {
    const parsed = JSON.parse(answer.body) as { data?: Json; errors?: Json };
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`(?<![0-9a-zA-Z])${escaped}(?![0-9a-zA-Z])`, 'g');
    const walk = (v: Json): Json => {
      if (typeof v === 'string') return v.replace(pattern, '<id>');
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return {
      status: answer.status,
      data: walk(parsed.data ?? null),
      errors: walk(parsed.errors ?? []),
    };
  }

  /** An id of the same form as `like` that names nothing. */
  function missingLike(like: string): string {
    if (/^\d+$/.test(like)) return String(nextMissing++);
    return sha256Hex(`missing-${nextMissing++}`).slice(0, like.length);
  }

  interface Comparison {
    readonly operation: string;
    readonly slot: string;
    readonly foreign: unknown;
    readonly missing: unknown;
  }

  /**
   * Sends `base` with the slot set to their record and to a missing id (the missing one first:
   * a wrong success with their record would change what follows), both as the outsider.
   */
  async function compare(
    operation: string,
    document: (vars: Vars) => string,
    base: Vars,
    slot: IdSlot,
    foreignId: string,
  ): Promise<Comparison> {
    // A slot the request leaves out replaces its alternatives (one of a scope or holder), and
    // an item it adds to a list gets the item's other required fields.
    let vars: Json = base;
    if (get(base, slot.path) === undefined) {
      for (const k of slot.alternatives) vars = unset(vars, [...slot.path.slice(0, -1), k]);
      const item = slot.path.slice(0, -1);
      const list = String(item[item.length - 2]);
      if (
        typeof item[item.length - 1] === 'number' &&
        get(vars, item) === undefined &&
        ITEM_FIELDS[list]
      ) {
        vars = set(vars, item, ITEM_FIELDS[list]);
      }
    }
    for (const [path, value] of WITH[`${operation.split(' ')[1]}.${slot.path.join('.')}`] ?? [])
      vars = set(vars, path, value);
    const missingId = missingLike(foreignId);
    const withMissing = set(vars, slot.path, missingId) as Vars;
    const withForeign = set(vars, slot.path, foreignId) as Vars;
    const missing = normalised(await send(theirs, document(withMissing), withMissing), missingId);
    const foreign = normalised(await send(theirs, document(withForeign), withForeign), foreignId);
    return { operation, slot: slot.path.join('.'), foreign, missing };
  }

  it('tells their own records from missing ones (the comparison can fail)', async () => {
    const query = 'query($id: ID!) { organisation(id: $id) { __typename id } }';
    const own = normalised(
      await send(theirs, query, { id: theirs.ws.organisationId }),
      theirs.ws.organisationId,
    );
    const id = missingLike(theirs.ws.organisationId);
    const missing = normalised(await send(theirs, query, { id }), id);
    expect(own).not.toEqual(missing);
  });

  it('compares every id in the arguments of nested fields', async () => {
    // A field of a record type that takes ids (Feature.states(environmentIds)), reached through
    // the caller's own record of that type (their feature), so that only the id compared is
    // ours; a new such field on a type without a root query by id fails here by name.
    const rootQueries = (schema.getQueryType() as GraphQLObjectType).getFields();
    const comparisons: Comparison[] = [];
    const unreachable: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (
        !isObjectType(type) ||
        type.name.startsWith('__') ||
        type === schema.getQueryType() ||
        type === schema.getMutationType()
      )
        continue;
      for (const field of Object.values(type.getFields())) {
        const slots = idSlots(field.args);
        if (!slots.length) continue;
        const root = type.name.charAt(0).toLowerCase() + type.name.slice(1);
        const kind = ID_KIND[root];
        if (!rootQueries[root] || !kind) {
          unreachable.push(`${type.name}.${field.name}`);
          continue;
        }
        const required = field.args.filter(
          (a) => isNonNullType(a.type) && a.defaultValue === undefined,
        );
        const base: Vars = { root: theirs.records[kind]! };
        for (const a of required) {
          const argKind = KIND_OF[a.name];
          if (!argKind) {
            unreachable.push(`${type.name}.${field.name}(${a.name})`);
            continue;
          }
          // Their own records, so that the request is valid; the compared slot replaces one.
          const inner = isNonNullType(a.type) ? a.type.ofType : a.type;
          base[a.name] = isListType(inner) ? [theirs.records[argKind]!] : theirs.records[argKind]!;
        }
        const document = (vars: Vars): string => {
          const used = field.args.filter((a) => vars[a.name] !== undefined);
          const defs = used.map((a) => `, $${a.name}: ${String(a.type)}`).join('');
          const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
          return (
            `query($root: ID!${defs}) { ${root}(id: $root) { __typename id ` +
            `${field.name}${args ? `(${args})` : ''}${selectionOf(schema, field)} } }`
          );
        };
        for (const slot of slots) {
          const slotKind = KIND_OF[slotName(slot.path)];
          if (!slotKind) {
            unreachable.push(`${type.name}.${field.name}(${slot.path.join('.')})`);
            continue;
          }
          comparisons.push(
            await compare(
              `query ${root}.${field.name}`,
              document,
              base,
              slot,
              ours.records[slotKind]!,
            ),
          );
        }
      }
    }
    console.log(
      `tenancy: ${comparisons.length} ids of nested field arguments compared (${comparisons
        .map((c) => `${c.operation}(${c.slot})`)
        .join(', ')})`,
    );
    expect(unreachable, 'nested fields with ids this test cannot reach').toEqual([]);
    expect(comparisons.length).toBeGreaterThan(0);
    for (const c of comparisons) {
      // Refused for the id itself, not before running (400) nor for something else.
      expect((c.missing as { status: number }).status, c.operation).toBe(200);
      expect((c.missing as { errors: unknown[] }).errors, c.operation).not.toEqual([]);
      expect(c.foreign, `${c.operation}(${c.slot})`).toEqual(c.missing);
    }
  });

  it('compares every id of every query and mutation', { timeout: 300_000 }, async () => {
    const comparisons: Comparison[] = [];
    const noCase: string[] = [];
    const uncovered: string[] = [];
    let operations = 0;

    // Queries: their arguments from each tenant's records.
    const queryArgs = (who: Tenant, field: string, arg: string): Json | undefined => {
      if (arg === 'id') return ID_KIND[field] ? who.records[ID_KIND[field]] : undefined;
      if (arg === 'from') return '2024-01-01';
      if (arg === 'to') return '2024-01-31';
      const kind = KIND_OF[arg];
      return kind ? who.records[kind] : undefined;
    };
    for (const field of Object.values((schema.getQueryType() as GraphQLObjectType).getFields())) {
      const slots = idSlots(field.args);
      if (!slots.length) continue;
      operations++;
      const base: Vars = {};
      let buildable = true;
      for (const a of field.args.filter(
        (x) => isNonNullType(x.type) && x.defaultValue === undefined,
      )) {
        const value = queryArgs(theirs, field.name, a.name);
        if (value === undefined) buildable = false;
        else base[a.name] = value;
      }
      if (!buildable) {
        noCase.push(`query ${field.name}`);
        continue;
      }
      for (const slot of slots) {
        const own = get(base, slot.path);
        const kind =
          slot.path.length === 1 && slot.path[0] === 'id'
            ? ID_KIND[field.name]
            : KIND_OF[slotName(slot.path)];
        const foreign =
          own !== undefined
            ? queryArgs(ours, field.name, String(slot.path[0]))
            : kind
              ? ours.records[kind]
              : undefined;
        if (typeof foreign !== 'string') {
          uncovered.push(`query ${field.name}(${slot.path.join('.')})`);
          continue;
        }
        comparisons.push(
          await compare(
            `query ${field.name}`,
            (v) => documentFor('query', schema, field, v),
            base,
            slot,
            foreign,
          ),
        );
      }
    }

    // Mutations: valid variables made in each organisation by the same set-up.
    const casesOf = (who: Tenant) =>
      mutationCases(() => ({ t, ws: who.ws, admin: who.admin.token, adminId: who.admin.id }));
    const ourCases = casesOf(ours);
    const theirCases = casesOf(theirs);
    /** Mutations mutation-cases.ts leaves out (they change no data), set up here. */
    const local: Record<string, (who: Tenant) => Promise<Vars>> = {
      revokeSession: async (who) => {
        const em = t.app.db.orm.em.fork();
        const token = await t.app.services.tokens.issue(
          em,
          await em.findOneOrFail(User, who.admin.id),
          {},
        );
        return { id: publicSessionId(sha256Hex(token)) };
      },
    };
    for (const field of Object.values(
      (schema.getMutationType() as GraphQLObjectType).getFields(),
    )) {
      const slots = idSlots(field.args);
      if (!slots.length) continue;
      operations++;
      const shared = theirCases[field.name];
      const setup =
        local[field.name] ??
        (shared?.setup
          ? async (who: Tenant) => {
              const cases = who === ours ? ourCases : theirCases;
              const prepared = await cases[field.name]!.setup!();
              return argumentsOf(shared.query, field.name, (prepared.vars ?? {}) as Vars);
            }
          : undefined);
      if (!setup) {
        noCase.push(`mutation ${field.name}`);
        continue;
      }
      const ourVars = await setup(ours);
      for (const slot of slots) {
        // Fresh records of theirs for each slot: a comparison may use them up.
        const base = await setup(theirs);
        const own = get(base, slot.path);
        const kind = KIND_OF[slotName(slot.path)];
        const foreign =
          own !== undefined ? get(ourVars, slot.path) : kind ? ours.records[kind] : undefined;
        if (typeof foreign !== 'string') {
          uncovered.push(`mutation ${field.name}(${slot.path.join('.')})`);
          continue;
        }
        comparisons.push(
          await compare(
            `mutation ${field.name}`,
            (v) => documentFor('mutation', schema, field, v),
            base,
            slot,
            foreign,
          ),
        );
      }
    }

    /** Comparisons whose answer is about the id compared (its field named, or the id itself). */
    const aboutTheId = comparisons.filter((c) => {
      const text = JSON.stringify(c.missing);
      return text.includes('<id>') || text.includes(`"field":"${c.slot}"`);
    });
    const different = comparisons.filter(
      (c) => JSON.stringify(c.foreign) !== JSON.stringify(c.missing),
    );
    console.log(
      `tenancy: ${operations} operations with ids, ${comparisons.length} ids compared ` +
        `(${different.length} different; ${aboutTheId.length} answered about the id itself, the rest ` +
        `alike for lack of a permission, or as an empty list); ids left out (no record of their kind): ${uncovered.join(', ') || 'none'}`,
    );
    expect(noCase, 'operations with an id this test cannot build a request for').toEqual([]);
    // A request refused before it ran (400: variables, validation) compares nothing.
    const unrun = comparisons.filter(
      (c) =>
        (c.missing as { status: number }).status === 400 ||
        (c.foreign as { status: number }).status === 400,
    );
    expect(
      unrun.map((c) => `${c.operation}(${c.slot}): ${JSON.stringify(c.missing).slice(0, 300)}`),
    ).toEqual([]);
    expect(
      different.map(
        (c) =>
          `${c.operation}(${c.slot}): foreign ${JSON.stringify(c.foreign)} vs missing ${JSON.stringify(c.missing)}`,
      ),
    ).toEqual([]);
    expect(comparisons.length).toBeGreaterThan(100);
  });
});
