// The package's API in Node, beyond the fixtures: form text, bad input, the catalogue
// and the generated schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import Ajv2020 from 'ajv/dist/2020.js';

import { loadFirmo } from './load.mjs';

const firmo = await loadFirmo();
const codes = (findings) => findings.map((f) => f.code);

test('validateFieldText reads form text as the field\'s type', () => {
  assert.deepEqual(firmo.validateFieldText('headcount', ' 120 '), []);
  assert.deepEqual(codes(firmo.validateFieldText('headcount', '0')), ['FQ004']);
  const [typo] = firmo.validateFieldText('headcount', '12o');
  assert.equal(typo.severity, 'reject');
  assert.match(typo.message, /expected a whole number, got string "12o"/);
  assert.deepEqual(firmo.validateFieldText('headcount', ''), [], 'blank means no value');
  assert.deepEqual(firmo.validateFieldText('tech_stack', 'AWS; React;'), []);
  assert.deepEqual(codes(firmo.validateFieldText('last_funding_date', '2024-02-30')), ['FQ001']);
  assert.deepEqual(codes(firmo.validateFieldText('head_count', '5')), ['FQ011']);
});

test('bad input throws an Error with a message, and the module keeps working', () => {
  const throwsWith = (fn, pattern) => assert.throws(fn, (err) => err instanceof Error && pattern.test(err.message));
  throwsWith(() => firmo.validateField('headcount', NaN), /^headcount: NaN is not a finite number$/);
  throwsWith(() => firmo.validateField('headcount', () => 1), /a function is not a value/);
  throwsWith(() => firmo.validateField('last_funding_date', new Date()), /pass dates as "YYYY-MM-DD"/);
  const cyclic = {};
  cyclic.self = cyclic;
  throwsWith(() => firmo.validateRecord(cyclic), /nested more than 64 levels deep/);
  throwsWith(() => firmo.validateRecord('{"headcount": 1'), /^record is not valid JSON: EOF/);
  throwsWith(() => new firmo.Validator({ today: '2026-13-01' }), /^options\.today: "2026-13-01" is not a YYYY-MM-DD date$/);
  throwsWith(() => new firmo.Validator({ tomorrow: 1 }), /^options\.tomorrow: unknown option/);
  throwsWith(() => new firmo.Validator({ config: { signals: { post_funding_days: -1 } } }), /^options\.config: /);
  throwsWith(() => firmo.normalizeDomain('   '), /domain/);
  const v = new firmo.Validator({ today: '2026-11-26' });
  throwsWith(() => v.validateJson('not json'), /record is not valid JSON/);
  // Still alive after all that:
  assert.equal(v.validateJson('{"headcount": 120}'), 0);
  assert.deepEqual(firmo.validateField('headcount', 120), []);
  assert.deepEqual(codes(firmo.validateField('headcount', 10n ** 30n)), ['FQ004']);
  assert.deepEqual(codes(firmo.validateRecord(['not', 'an', 'object'])), ['FQ001']);
});

test('validateJson and validateObject: the fast path and its edges', () => {
  const v = new firmo.Validator({ today: '2026-11-26' });
  assert.equal(v.validateJson('{"headcount":120,"industry":"Café ☕","tech_stack":["AWS"]}'), 0);
  assert.deepEqual(v.findings(), []);
  assert.equal(v.validateJson('{"headcount":0,"industry":"x"}'), 1);
  assert.deepEqual(codes(v.findings()), ['FQ004']);
  // Not the fast path's to decode (escape, float integer, repeated key): core's answer.
  assert.equal(v.validateJson('{"industry":"caf\\u00e9","headcount":120.0}'), 0);
  assert.equal(v.validateJson('{"headcount":1,"headcount":0}'), 1);
  const long = JSON.stringify({ industry: 'x'.repeat(5000) });
  assert.equal(v.validateJson(long), 1, 'a record larger than the input buffer');
  assert.match(v.findings()[0].message, /5000 characters long/);
  assert.throws(() => v.validateJson({ headcount: 1 }), /expected JSON text \(a string\); pass objects to validateObject/);
  assert.equal(v.validateObject({ headcount: 0, industry: undefined }), 1);
  assert.equal(v.validateObject('{"headcount": 5}'), 0);
  const message = (pattern) => (err) => err instanceof Error && pattern.test(err.message);
  assert.equal(v.validateObject({ headcount: 0 }), 1);
  assert.throws(() => v.validateObject({ headcount: NaN }), message(/^record\.headcount: NaN is not a finite number$/));
  assert.deepEqual(v.findings(), [], 'a throw leaves no stale findings behind');
  assert.throws(() => v.validateObject({ last_funding_date: new Date(0) }), message(/^record\.last_funding_date: a Date object/));
});

test('"today" is an option; without it, the current UTC date', () => {
  const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  assert.deepEqual(codes(firmo.validateField('last_funding_date', tomorrow)), ['FQ010']);
  const v = new firmo.Validator({ today: '2030-01-01' });
  assert.equal(v.today, '2030-01-01');
  assert.deepEqual(v.validateField('last_funding_date', tomorrow), []);
  v.today = '2000-01-01';
  assert.deepEqual(codes(v.validateField('last_funding_date', '2001-01-01')), ['FQ010']);
  assert.equal(new firmo.Validator().today, new Date().toISOString().slice(0, 10));
});

test('fieldCatalog describes every field a form needs', () => {
  const catalog = firmo.fieldCatalog();
  assert.equal(catalog.rules_version, firmo.rulesVersion());
  assert.deepEqual(catalog.fields.map((f) => f.name), [
    'industry', 'headcount', 'revenue_range', 'tech_stack', 'funding_stage',
    'last_funding_date', 'last_funding_amount', 'employee_growth_6mo', 'recent_job_postings',
  ]);
  const headcount = catalog.fields.find((f) => f.name === 'headcount');
  assert.deepEqual(headcount.kind, { type: 'integer', min: 1, max: 5_000_000 });
  assert.equal(headcount.property, 'firmo_headcount');
  const stage = catalog.fields.find((f) => f.name === 'funding_stage');
  assert.ok(stage.kind.options.some((o) => o.value === 'series_a' && o.label === 'Series A'));
  assert.ok(catalog.rules.every((r) => /^FQ\d{3}$/.test(r.code) && r.explanation.includes('## Fix')));
});

test('normalizeDomain is core\'s', () => {
  assert.equal(firmo.normalizeDomain('https://WWW.Example.com/about'), 'example.com');
});

test('mergePreview returns sources and disagreements', () => {
  const preview = firmo.mergePreview([
    { source: 'clay', fetched_at: 1_700_000_000_000, fields: { headcount: 100, industry: 'Software' } },
    { source: 'clearbit', fetched_at: 1_700_000_000_000, fields: { headcount: 200 } },
  ]);
  assert.equal(preview.merged.fields.headcount.value, 100);
  assert.equal(preview.merged.fields.headcount.source, 'clay');
  assert.deepEqual(preview.merged.fields.headcount.disagreements, [{ source: 'clearbit', value: 200 }]);
  assert.deepEqual(codes(preview.findings), ['FQ020']);
  assert.deepEqual(preview.input_errors, []);
});

test('recordSchema compiles in ajv and agrees with the rules on simple records', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const check = ajv.compile(firmo.recordSchema());
  const v = new firmo.Validator({ today: '2026-11-26' });
  for (const record of [
    { headcount: 120, industry: 'Software' },
    { headcount: 0 },
    { funding_stage: 'series_x' },
    { tech_stack: ['AWS', ''] },
    { industry: '   ' },
  ]) {
    const rejects = v.validateJson(JSON.stringify(record));
    assert.equal(check(record), rejects === 0, JSON.stringify(record));
  }
});

test('the package declares types generated from the catalogue', () => {
  const dts = readFileSync(new URL('../pkg/firmo_wasm.d.ts', import.meta.url), 'utf8');
  assert.match(dts, /export type FieldName = "industry" \| "headcount"/);
  assert.match(dts, /validateField\(field: string, value: FieldValue \| null \| undefined\): Finding\[\]/);
  assert.match(dts, /export function mergePreview\(records: ProviderRecord\[\] \| string\): MergePreview/);
  assert.match(dts, /export function fieldCatalog\(\): FieldCatalog/);
  const pkg = JSON.parse(readFileSync(new URL('../pkg/package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.types, './firmo_wasm.d.ts');
});

/** The member names an interface (or a `type X = {...}`) declares in the .d.ts. */
function declared(dts, name) {
  const start = dts.search(new RegExp(`export (interface ${name} |type ${name} = )`));
  assert.ok(start >= 0, `${name} is declared`);
  const body = dts.slice(start, dts.indexOf('\n}', start));
  return new Set([...body.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]));
}

test('every key the module returns is declared in its TypeScript type', () => {
  const dts = readFileSync(new URL('../pkg/firmo_wasm.d.ts', import.meta.url), 'utf8');
  const check = (name, objects) => {
    const keys = declared(dts, name);
    for (const o of objects) for (const k of Object.keys(o)) assert.ok(keys.has(k), `${name} lacks ${k}`);
  };
  const catalog = firmo.fieldCatalog();
  check('FieldCatalog', [catalog]);
  check('FieldSpec', catalog.fields);
  check('SignalSpec', catalog.signals);
  check('RuleInfo', catalog.rules);
  const preview = firmo.mergePreview([
    { source: 'clay', fetched_at: 1, fields: { headcount: 100 } },
    { source: 'clearbit', fetched_at: 2, fields: { headcount: 300 } },
  ]);
  check('MergePreview', [preview]);
  check('MergedField', Object.values(preview.merged.fields));
  check('Alternative', preview.merged.fields.headcount.disagreements);
  check('Signals', [preview.signals]);
  check('Finding', preview.findings);
  assert.ok(preview.findings.length > 0);
});
