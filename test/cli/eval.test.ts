import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'jsonc-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { conformanceDir } from '../support/conformance';

const CONFORMANCE_DIR = conformanceDir();

/** `flagward eval FILE`, run as a user runs it: no configuration, no database. */
describe('flagward eval', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flagward-eval-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  it('prints the expected result of a conformance case file (its `context`)', async () => {
    // A case whose file starts with a comment line, before the opening brace.
    const file = path.join(
      CONFORMANCE_DIR,
      'cases',
      'test_multivariate__keyed_variant__returns_variant_key.jsonc',
    );
    const expected = (parse(readFileSync(file, 'utf8')) as { result: unknown }).result;
    const run = await runCli(['eval', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expected);
    expect(run.stdout).toContain('\n  "flags": {'); // pretty-printed, two spaces
  });

  it('reads a bare context from JSONC with comments', async () => {
    const file = write(
      'context.jsonc',
      `// an evaluation context
{
  "environment": { "key": "env", "name": "Production" }, /* block comment */
  "identity": { "identifier": "ada", "traits": { "plan": "pro" } },
  "segments": {
    "1": {
      "key": "1",
      "name": "pro users",
      "rules": [{ "type": "ALL", "conditions": [
        { "property": "plan", "operator": "EQUAL", "value": "pro" }, // trailing comma next
      ] }],
      "overrides": [{ "key": "9", "name": "banner", "enabled": true, "value": "gold", "priority": 0 }]
    }
  },
  "features": {
    "banner": { "key": "7", "name": "banner", "enabled": false, "value": "plain" }
  }
}
`,
    );
    const run = await runCli(['eval', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      flags: {
        banner: {
          name: 'banner',
          enabled: true,
          value: 'gold',
          reason: 'TARGETING_MATCH; segment=pro users',
          variant: null,
        },
      },
      segments: [{ name: 'pro users' }],
    });
  });

  it('rejects invalid JSON with the line and column of the error (exit 2)', async () => {
    const file = write('broken.json', '{\n  "environment": {\n    "key": "env"\n    "name": "x"\n');
    const run = await runCli(['eval', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${file}:4:5: invalid JSON`);
  });

  it('rejects a context that breaks the schema, naming the paths (exit 2)', async () => {
    const file = write(
      'bad-context.json',
      JSON.stringify({
        environment: { key: 'env' },
        segments: {
          s1: {
            key: '1',
            name: 's',
            rules: [{ type: 'ALL', conditions: [{ property: 'a', operator: 'LIKE', value: 'x' }] }],
          },
        },
      }),
    );
    const run = await runCli(['eval', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('not a valid evaluation context');
    expect(run.stderr).toContain('environment.name: required');
    expect(run.stderr).toContain('segments.s1.rules[0].conditions[0].operator: invalid option');
  });

  it('reports a missing file (exit 2)', async () => {
    const file = path.join(dir, 'nope.json');
    const run = await runCli(['eval', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Cannot read ${file}: no such file`);
  });

  it('needs a file argument (exit 2)', async () => {
    const run = await runCli(['eval']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: flagward eval FILE');
  });
});
