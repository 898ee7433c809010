import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { Project } from '../../src/projects/project.entity';
import { Segment, SegmentCondition, SegmentRule } from '../../src/segments/segment.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

interface Cond {
  operator: string;
  property?: string | null;
  value?: string | null;
  description?: string | null;
}
interface Rule {
  type: string;
  conditions: Cond[];
  rules: Rule[];
}
interface SegmentRow {
  id: string;
  name: string;
  description: string | null;
  feature: { name: string } | null;
  rules: Rule[];
}

const CONDITION = 'operator property value description';
/** A rule selection reaching `depth` levels of sub-rules. */
const ruleFields = (depth: number): string =>
  `type conditions { ${CONDITION} } rules { ${depth > 1 ? ruleFields(depth - 1) : `type conditions { ${CONDITION} }`} }`;
const SEGMENT_FIELDS = `id name description feature { name } rules { ${ruleFields(5)} }`;

const CREATE = `mutation($i: CreateSegmentInput!) { createSegment(input: $i) { ${SEGMENT_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateSegmentInput!) { updateSegment(id: $id, input: $i) { ${SEGMENT_FIELDS} } }`;
const GET = `query($id: ID!) { segment(id: $id) { ${SEGMENT_FIELDS} } }`;

const rule = (type: string, conditions: Cond[] = [], rules: Rule[] = []): Rule => ({
  type,
  conditions,
  rules,
});
/** The dashboard's shape: a top-level ALL holding groups. */
const ALL = (...rules: Rule[]) => [rule('ALL', [], rules)];
const full = (c: Cond): Required<Cond> => ({
  property: null,
  value: null,
  description: null,
  ...c,
});

describe('segments', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  const em = () => t.app.db.orm.em.fork();

  async function rows() {
    const e = em();
    return {
      segments: await e.count(Segment, {}),
      rules: await e.count(SegmentRule, {}),
      conditions: await e.count(SegmentCondition, {}),
      audit: await e.count(AuditLog, {}),
    };
  }

  /** Every environment's document stamp, read through GraphQL. */
  async function stamps(): Promise<number[]> {
    const out: number[] = [];
    for (const id of Object.values(ws.environments)) {
      const res = ok(
        await t.gql<{ environment: { updatedAt: string } }>(
          'query($id: ID!) { environment(id: $id) { updatedAt } }',
          { id },
          { token: admin },
        ),
      );
      out.push(Date.parse(res.environment.updatedAt));
    }
    // Keep consecutive writes apart on the millisecond clock.
    await new Promise((r) => setTimeout(r, 5));
    return out;
  }

  async function expectTouched(before: number[]): Promise<number[]> {
    const after = await stamps();
    after.forEach((stamp, i) => expect(stamp).toBeGreaterThan(before[i]!));
    return after;
  }

  const member = (email: string, keys: string[]) => memberWithGrants(t, ws, email, [{ keys }]);

  const create = (input: Record<string, unknown>, token = admin) =>
    t.gql<{ createSegment: SegmentRow }>(
      CREATE,
      { i: { projectId: ws.projectId, ...input } },
      { token },
    );

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('admin@acme.test')).token;
    ws = await createWorkspace(t, admin);
  });
  afterAll(() => t?.close());

  it('stores nested rules in order and reads them back the same way', async () => {
    const rules: Rule[] = [
      rule(
        'ALL',
        [{ operator: 'EQUAL', property: 'plan', value: 'pro', description: 'paying' }],
        [
          rule('ANY', [
            { operator: 'IN', property: 'country', value: 'DE,FR,NL' },
            { operator: 'GREATER_THAN_INCLUSIVE', property: 'version', value: '2.1.0:semver' },
          ]),
          rule(
            'NONE',
            [{ operator: 'IS_SET', property: 'banned' }],
            [
              rule(
                'ANY',
                [{ operator: 'REGEX', property: 'email', value: '.*@example\\.com$' }],
                [rule('ALL', [{ operator: 'MODULO', property: 'id', value: '2|0' }])],
              ),
            ],
          ),
        ],
      ),
      rule('ALL', [{ operator: 'PERCENTAGE_SPLIT', value: '25.5' }]),
    ];
    const before = await stamps();
    const created = ok(
      await create({ name: 'Beta testers', description: 'Early access', rules }),
    ).createSegment;
    await expectTouched(before);

    const normalise = (r: Rule): Rule => ({
      type: r.type,
      conditions: r.conditions.map(full),
      rules: r.rules.map(normalise),
    });
    const expected = rules.map(normalise);
    expect(created).toMatchObject({
      name: 'Beta testers',
      description: 'Early access',
      feature: null,
    });
    expect(created.rules).toEqual(expected);

    const read = ok(
      await t.gql<{ segment: SegmentRow }>(GET, { id: created.id }, { token: admin }),
    );
    expect(read.segment.rules).toEqual(expected);

    const list = ok(
      await t.gql<{ segments: { nodes: SegmentRow[] } }>(
        `query($p: ID!) { segments(projectId: $p) { nodes { ${SEGMENT_FIELDS} } } }`,
        { p: ws.projectId },
        { token: admin },
      ),
    );
    expect(list.segments.nodes.find((s) => s.id === created.id)?.rules).toEqual(expected);

    // Stored as Flagsmith stores them: no property for a plain split, no value for IS_SET.
    const e = em();
    const split = await e.findOneOrFail(SegmentCondition, {
      operator: 'PERCENTAGE_SPLIT' as never,
    });
    expect(split.property).toBeNull();
    expect(
      (await e.findOneOrFail(SegmentCondition, { operator: 'IS_SET' as never })).value,
    ).toBeNull();
  });

  it('reads the rule trees of a whole list with one query per table', async () => {
    const tree = ALL(
      rule(
        'ANY',
        [{ operator: 'IS_SET', property: 'a' }],
        [rule('NONE', [{ operator: 'IS_SET', property: 'b' }])],
      ),
    );
    for (const name of ['Tree 1', 'Tree 2', 'Tree 3']) ok(await create({ name, rules: tree }));
    const connection = t.app.db.orm.em.getConnection();
    const execute = vi.spyOn(connection, 'execute');
    try {
      const list = ok(
        await t.gql<{ segments: { nodes: SegmentRow[] } }>(
          `query($p: ID!) { segments(projectId: $p, filter: { search: "Tree" }) { nodes { ${SEGMENT_FIELDS} } } }`,
          { p: ws.projectId },
          { token: admin },
        ),
      ).segments;
      expect(
        list.nodes.map((s) => s.rules[0]!.rules[0]!.rules[0]!.conditions[0]!.property),
      ).toEqual(['b', 'b', 'b']);
      const sql = execute.mock.calls.map((call) => String(call[0]));
      expect(sql.filter((q) => q.includes('segment_rules'))).toHaveLength(1);
      expect(sql.filter((q) => q.includes('segment_conditions'))).toHaveLength(1);
    } finally {
      execute.mockRestore();
    }
    for (const s of await em().find(Segment, { name: { $like: 'Tree %' } }))
      ok(
        await t.gql(
          'mutation($id: ID!) { deleteSegment(id: $id) }',
          { id: String(s.id) },
          { token: admin },
        ),
      );
  });

  it('lists, searches and pages', async () => {
    for (const name of ['Alpha', 'Alphabet', 'Gamma']) ok(await create({ name, rules: [] }));
    const names = async (args: string) =>
      ok(
        await t.gql<{ segments: { nodes: { name: string }[] } }>(
          `query($p: ID!) { segments(projectId: $p ${args}) { nodes { name } } }`,
          { p: ws.projectId },
          { token: admin },
        ),
      ).segments.nodes.map((s) => s.name);
    expect(await names(', filter: { search: "alpha" }')).toEqual(['Alpha', 'Alphabet']);
    expect(await names(', filter: { search: "%" }')).toEqual([]);
    const byName = ', filter: { search: "alph" }, orderBy: { field: NAME, direction: DESC }';
    expect(await names(byName)).toEqual(['Alphabet', 'Alpha']);
    expect(await names(`${byName}, first: 1`)).toEqual(['Alphabet']);
  });

  it('replaces rules on update, renames, and deletes with everything under it', async () => {
    const created = ok(
      await create({
        name: 'Old',
        rules: ALL(
          rule(
            'ANY',
            [{ operator: 'EQUAL', property: 'a', value: '1' }],
            [rule('ALL', [{ operator: 'IS_NOT_SET', property: 'b' }])],
          ),
        ),
      }),
    ).createSegment;
    const before = await rows();
    let stamp = await stamps();

    const renamed = ok(
      await t.gql<{ updateSegment: SegmentRow }>(
        UPDATE,
        { id: created.id, i: { name: ' New ', description: 'changed' } },
        { token: admin },
      ),
    ).updateSegment;
    expect(renamed).toMatchObject({ name: 'New', description: 'changed' });
    expect(renamed.rules).toEqual(created.rules); // rules kept when not given
    stamp = await expectTouched(stamp);

    const replaced = ok(
      await t.gql<{ updateSegment: SegmentRow }>(
        UPDATE,
        {
          id: created.id,
          i: { rules: [rule('ANY', [{ operator: 'CONTAINS', property: 'c', value: 'x' }])] },
        },
        { token: admin },
      ),
    ).updateSegment;
    expect(replaced.rules).toEqual([
      rule('ANY', [full({ operator: 'CONTAINS', property: 'c', value: 'x' })]),
    ]);
    stamp = await expectTouched(stamp);
    const after = await rows();
    expect(after.rules).toBe(before.rules - 3 + 1);
    expect(after.conditions).toBe(before.conditions - 2 + 1);
    expect(after.audit).toBe(before.audit + 2);

    const deleted = await t.gql(
      'mutation($id: ID!) { deleteSegment(id: $id) }',
      { id: created.id },
      { token: admin },
    );
    expect(deleted.data).toEqual({ deleteSegment: created.id });
    await expectTouched(stamp);
    const gone = await rows();
    expect(gone.segments).toBe(before.segments - 1);
    expect(gone.rules).toBe(before.rules - 3);
    expect(gone.conditions).toBe(before.conditions - 2);
    expect(codeOf(await t.gql(GET, { id: created.id }, { token: admin }))).toBe('NOT_FOUND');
  });

  describe('condition values, checked per operator before anything is written', () => {
    /** Puts the condition at input.rules.0.rules.1.conditions.2. */
    const around = (c: Cond): Rule[] => {
      const good: Cond = { operator: 'EQUAL', property: 'p', value: 'v' };
      return ALL(rule('ANY', [good]), rule('ANY', [good, good, c]));
    };
    const AT = 'input.rules.0.rules.1.conditions.2';

    const accepted: Cond[] = [
      { operator: 'EQUAL', property: 'plan', value: 'pro' },
      { operator: 'NOT_EQUAL', property: 'plan', value: 'free' },
      { operator: 'GREATER_THAN', property: 'age', value: '18' },
      { operator: 'GREATER_THAN_INCLUSIVE', property: 'v', value: '1.0.0-beta.1+build.5:semver' },
      { operator: 'LESS_THAN', property: 'v', value: '10.20.30:semver' },
      { operator: 'LESS_THAN_INCLUSIVE', property: 'score', value: '9.5' },
      { operator: 'EQUAL', property: 'tag', value: 'not-a-version:sem' },
      { operator: 'CONTAINS', property: 'email', value: '@acme' },
      { operator: 'NOT_CONTAINS', property: 'email', value: '@evil' },
      { operator: 'REGEX', property: 'email', value: '^[a-z0-9.]+@(acme|example)\\.com$' },
      { operator: 'PERCENTAGE_SPLIT', value: '0' },
      { operator: 'PERCENTAGE_SPLIT', value: '100' },
      { operator: 'PERCENTAGE_SPLIT', property: '$.identity.identifier', value: '33.3' },
      { operator: 'MODULO', property: 'id', value: '2|0' },
      { operator: 'MODULO', property: 'id', value: '2.5|0.5' },
      { operator: 'MODULO', property: 'id', value: '-3|1' },
      { operator: 'IN', property: 'country', value: 'DE,FR' },
      { operator: 'IN', property: 'country', value: 'DE' },
      { operator: 'IN', property: 'id', value: '["1","2"]' },
      { operator: 'IN', property: 'id', value: '["a", 2]' },
      { operator: 'IS_SET', property: 'x' },
      { operator: 'IS_NOT_SET', property: 'x', value: '' },
    ];

    const rejected: [Cond, 'property' | 'value', string][] = [
      [{ operator: 'EQUAL', value: 'x' }, 'property', 'a property is required for EQUAL'],
      [{ operator: 'IS_SET', property: '' }, 'property', 'a property is required'],
      [{ operator: 'EQUAL', property: 'p' }, 'value', 'a value is required for EQUAL'],
      [{ operator: 'PERCENTAGE_SPLIT', value: '100.5' }, 'value', 'between 0 and 100'],
      [{ operator: 'PERCENTAGE_SPLIT', value: '-1' }, 'value', 'between 0 and 100'],
      [{ operator: 'PERCENTAGE_SPLIT', value: 'half' }, 'value', 'between 0 and 100'],
      [{ operator: 'PERCENTAGE_SPLIT' }, 'value', 'a value is required'],
      [{ operator: 'MODULO', property: 'id', value: '2' }, 'value', 'divisor|remainder'],
      [{ operator: 'MODULO', property: 'id', value: 'a|b' }, 'value', 'divisor|remainder'],
      [{ operator: 'MODULO', property: 'id', value: '2|0|1' }, 'value', 'divisor|remainder'],
      [{ operator: 'MODULO', property: 'id', value: '0|1' }, 'value', 'the divisor must not be 0'],
      [{ operator: 'IN', property: 'c', value: '["DE", "FR"' }, 'value', 'not a JSON array'],
      [{ operator: 'IN', property: 'c', value: '[]' }, 'value', 'at least one value'],
      [{ operator: 'IN', property: 'c', value: '[{"a":1}]' }, 'value', 'item 0'],
      [{ operator: 'IN', property: 'c', value: '' }, 'value', 'a value is required'],
      [{ operator: 'IS_SET', property: 'x', value: 'yes' }, 'value', 'IS_SET takes no value'],
      [{ operator: 'IS_NOT_SET', property: 'x', value: '1' }, 'value', 'IS_NOT_SET takes no value'],
      [
        { operator: 'EQUAL', property: 'v', value: '1.2:semver' },
        'value',
        'not a semantic version',
      ],
      [
        { operator: 'GREATER_THAN', property: 'v', value: 'v1.2.3:semver' },
        'value',
        'not a semantic version',
      ],
      [
        { operator: 'LESS_THAN_INCLUSIVE', property: 'v', value: '01.2.3:semver' },
        'value',
        'not a semantic version',
      ],
      [
        { operator: 'REGEX', property: 'e', value: '([a-z]+' },
        'value',
        'not a valid regular expression',
      ],
      // Not supported by a linear-time engine: rejected rather than silently never matching.
      [
        { operator: 'REGEX', property: 'e', value: '(a)\\1' },
        'value',
        'not a valid regular expression',
      ],
      [
        { operator: 'REGEX', property: 'e', value: 'foo(?=bar)' },
        'value',
        'not a valid regular expression',
      ],
      [
        { operator: 'EQUAL', property: 'p'.repeat(1001), value: 'x' },
        'property',
        '1000 characters',
      ],
      [{ operator: 'EQUAL', property: 'p', value: 'v'.repeat(1001) }, 'value', '1000 characters'],
    ];

    it('accepts well-formed values of every operator', async () => {
      const res = await create({ name: 'All operators', rules: [rule('ALL', accepted)] });
      const stored = ok(res).createSegment.rules[0]!.conditions;
      expect(stored.map((c) => [c.operator, c.value])).toEqual(
        accepted.map((c) => [
          c.operator,
          c.operator === 'IS_SET' || c.operator === 'IS_NOT_SET' ? null : c.value,
        ]),
      );
      for (const c of accepted) ok(await create({ name: `One ${c.operator}`, rules: around(c) }));
    });

    it('rejects each bad value with the exact path, writing nothing', async () => {
      const before = await rows();
      const stamp = await stamps();
      for (const [c, part, message] of rejected) {
        const res = await create({ name: 'Bad', rules: around(c) });
        const label = JSON.stringify(c).slice(0, 120);
        expect(codeOf(res), label).toBe('BAD_USER_INPUT');
        expect(res.errors?.[0]?.extensions?.field, label).toBe(`${AT}.${part}`);
        expect(res.errors?.[0]?.message, label).toContain(message);
      }
      // The same checks apply when rules are replaced.
      const target = ok(await create({ name: 'Target', rules: [] })).createSegment;
      const afterTarget = await rows();
      const bad = await t.gql(
        UPDATE,
        { id: target.id, i: { rules: around({ operator: 'REGEX', property: 'e', value: '*' }) } },
        { token: admin },
      );
      expect(bad.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: `${AT}.value`,
      });
      expect(await rows()).toEqual(afterTarget);
      expect(afterTarget.segments).toBe(before.segments + 1);
      expect(afterTarget.rules).toBe(before.rules);
      // Only the one successful write moved the stamps.
      const now = await stamps();
      now.forEach((s, i) => expect(s).toBeGreaterThan(stamp[i]!));
    });

    it('limits nesting to 5 levels and a segment to 100 conditions', async () => {
      const nest = (depth: number): Rule =>
        rule(
          'ALL',
          [{ operator: 'IS_SET', property: `level${depth}` }],
          depth > 1 ? [nest(depth - 1)] : [],
        );
      ok(await create({ name: 'Five deep', rules: [nest(5)] }));

      const before = await rows();
      const tooDeep = await create({ name: 'Six deep', rules: [rule('ANY'), nest(6)] });
      expect(tooDeep.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.rules.1.rules.0.rules.0.rules.0.rules.0.rules.0',
      });
      expect(tooDeep.errors?.[0]?.message).toContain('at most 5 levels');

      const many = (n: number): Cond[] =>
        Array.from({ length: n }, (_, i) => ({ operator: 'EQUAL', property: `p${i}`, value: 'x' }));
      ok(
        await create({ name: 'Hundred', rules: ALL(rule('ANY', many(50)), rule('ANY', many(50))) }),
      );
      const afterHundred = await rows();
      expect(afterHundred.conditions).toBe(before.conditions + 100);
      const tooMany = await create({
        name: 'Too many',
        rules: ALL(rule('ANY', many(50)), rule('ANY', many(51))),
      });
      expect(tooMany.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.rules',
      });
      expect(await rows()).toEqual(afterHundred);
    });
  });

  it("enforces the project's segment limit", async () => {
    const e = em();
    const count = await e.count(Segment, { project: Number(ws.projectId) });
    await e.nativeUpdate(Project, { id: Number(ws.projectId) }, { maxSegmentsAllowed: count });
    try {
      const before = await rows();
      const res = await create({ name: 'One too many', rules: [] });
      expect(codeOf(res)).toBe('LIMIT_EXCEEDED');
      expect(await rows()).toEqual(before);
    } finally {
      await e.nativeUpdate(Project, { id: Number(ws.projectId) }, { maxSegmentsAllowed: 500 });
    }
  });

  it("makes feature-specific segments only from the project's own features", async () => {
    const feature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature.id;
    const specific = ok(
      await create({ name: 'Checkout only', featureId: feature, rules: [] }),
    ).createSegment;
    expect(specific.feature).toEqual({ name: 'checkout' });

    // A feature of someone else's project reads exactly like one that does not exist.
    const mallory = (await t.createUser('mallory@evil.test')).token;
    const evil = await createWorkspace(t, mallory, { organisation: 'Evil' });
    const theirs = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "x" }) { id } }',
        { p: evil.projectId },
        { token: mallory },
      ),
    ).createFeature.id;
    const before = await rows();
    const foreign = await create({ name: 'Nope', featureId: theirs, rules: [] });
    const unknown = await create({ name: 'Nope', featureId: '999999', rules: [] });
    expect(foreign.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.featureId',
    });
    expect(foreign.errors?.[0]?.message).toBe(
      unknown.errors?.[0]?.message.replace('999999', theirs),
    );
    expect(await rows()).toEqual(before);

    // A visible feature of another project is refused too.
    const other = ok(
      await t.gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Other" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createProject.id;
    const otherFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "elsewhere" }) { id } }',
        { p: other },
        { token: admin },
      ),
    ).createFeature.id;
    const wrongProject = await create({ name: 'Nope', featureId: otherFeature, rules: [] });
    expect(wrongProject.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.featureId',
    });
  });

  it('needs MANAGE_SEGMENTS to write; VIEW_PROJECT to read', async () => {
    const viewer = await member('viewer@acme.test', ['VIEW_PROJECT']);
    const manager = await member('manager@acme.test', ['VIEW_PROJECT', 'MANAGE_SEGMENTS']);
    const existing = ok(
      await create({
        name: 'Shared',
        rules: ALL(rule('ANY', [{ operator: 'IS_SET', property: 'x' }])),
      }),
    ).createSegment;

    const read = ok(
      await t.gql<{ segment: SegmentRow }>(GET, { id: existing.id }, { token: viewer }),
    );
    expect(read.segment.rules).toEqual(existing.rules);

    const before = await rows();
    for (const [query, vars] of [
      [CREATE, { i: { projectId: ws.projectId, name: 'x', rules: [] } }],
      [UPDATE, { id: existing.id, i: { name: 'x' } }],
      ['mutation($id: ID!) { deleteSegment(id: $id) }', { id: existing.id }],
    ] as const) {
      const res = await t.gql(query, vars, { token: viewer });
      expect(res.data, query).toBeNull();
      expect(res.errors?.[0]?.extensions, query).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'MANAGE_SEGMENTS',
      });
      expect(res.errors?.[0]?.message).toContain('MANAGE_SEGMENTS');
    }
    expect(await rows()).toEqual(before);

    const made = ok(await create({ name: 'By manager', rules: [] }, manager)).createSegment;
    ok(await t.gql(UPDATE, { id: made.id, i: { name: 'Renamed' } }, { token: manager }));
    ok(
      await t.gql(
        'mutation($id: ID!) { deleteSegment(id: $id) }',
        { id: made.id },
        { token: manager },
      ),
    );
  });

  it('shows an outsider nothing: invisible ids answer like unknown ones', async () => {
    const outsider = (await t.createUser('outsider@else.test')).token;
    await createWorkspace(t, outsider, { organisation: 'Else' });
    const [someone] = ok(
      await t.gql<{ segments: { nodes: { id: string }[] } }>(
        'query($p: ID!) { segments(projectId: $p, first: 1) { nodes { id } } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).segments.nodes;
    const id = someone!.id;

    for (const [query, vars, field] of [
      [GET, { id }, 'id'],
      [
        'query($id: ID!) { segments(projectId: $id) { nodes { id } } }',
        { id: ws.projectId },
        'projectId',
      ],
    ] as const) {
      const res = await t.gql(query, vars, { token: outsider });
      expect(res.data, query).toBeNull();
      expect(res.errors?.[0]?.extensions, query).toEqual({ code: 'NOT_FOUND', field });
    }

    const before = await rows();
    const createVars = (projectId: string) => ({ i: { projectId, name: 'x', rules: [] } });
    const updateVars = (segmentId: string) => ({ id: segmentId, i: { name: 'pwned' } });
    const deleteVars = (segmentId: string) => ({ id: segmentId });
    for (const [query, vars, field] of [
      [CREATE, createVars, 'input.projectId'],
      [UPDATE, updateVars, 'id'],
      ['mutation($id: ID!) { deleteSegment(id: $id) }', deleteVars, 'id'],
    ] as const) {
      const res = await t.gql(query, vars(query === CREATE ? ws.projectId : id), {
        token: outsider,
      });
      const unknown = await t.gql(query, vars('999999'), { token: outsider });
      expect(res.data, query).toBeNull();
      expect(res.errors?.[0]?.extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.errors?.[0]?.message.replace(/\d+$/, 'N')).toBe(
        unknown.errors?.[0]?.message.replace(/\d+$/, 'N'),
      );
    }
    expect(await rows()).toEqual(before);

    const anonymous = await t.gql(GET, { id });
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
  });
});
