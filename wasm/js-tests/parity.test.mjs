// Parity in Node: every shared fixture case (tests/fixtures/rules/*.json), run through
// the built package, gives the answer recorded from the native build.
//
//     wasm/build.sh && node --test wasm/js-tests/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import { fixturesDir, loadFirmo } from './load.mjs';

const firmo = await loadFirmo();

const files = readdirSync(fixturesDir).filter((f) => f.endsWith('.json')).sort();

/** [{ file, name, case }] for every case (a file holds one case or an array). */
function allCases() {
  return files.flatMap((file) => {
    const parsed = JSON.parse(readFileSync(fixturesDir + file, 'utf8'));
    return (Array.isArray(parsed) ? parsed : [parsed]).map((c, i) => ({ file, name: c.name ?? String(i), case: c }));
  });
}

test('the fixture set is there', () => {
  assert.ok(files.length >= 10, `only ${files.length} fixture files in ${fixturesDir}`);
});

test('runFixture: every case, fed as its file\'s exact text, gives the native answer', () => {
  for (const file of files) {
    const text = readFileSync(fixturesDir + file, 'utf8');
    const parsed = JSON.parse(text);
    const outcome = JSON.parse(firmo.runFixture(text));
    const cases = Array.isArray(parsed) ? parsed : [parsed];
    const outcomes = Array.isArray(parsed) ? outcome : [outcome];
    cases.forEach((c, i) => assert.deepEqual(outcomes[i], c.expect, `${file}#${c.name}`));
  }
});

/** Whether every number in `v` is one a JS double holds exactly as JSON wrote it. */
function jsSafe(v) {
  if (typeof v === 'number') return !Number.isInteger(v) || Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.every(jsSafe);
  if (v && typeof v === 'object') return Object.values(v).every(jsSafe);
  return true;
}

/** mergePreview's answer in the fixtures' compact form (see firmo_core::fixture). */
function compact(preview) {
  const merged = {};
  for (const [name, f] of Object.entries(preview.merged.fields)) {
    merged[name] = { value: f.value, source: f.source };
    if (f.contributors.length > 1) merged[name].contributors = f.contributors;
    if (f.disagreements) merged[name].disagreements = f.disagreements;
  }
  const out = { merged, findings: preview.findings, signals: preview.signals };
  if (preview.input_errors.length > 0) out.input_errors = preview.input_errors;
  return out;
}

/** validateContact's answer in the fixtures' form (absent role and change left out). */
function contactOutcome(evaluation) {
  const out = { findings: evaluation.findings };
  if (evaluation.exec_role !== null) out.exec_role = evaluation.exec_role;
  if (evaluation.exec_change !== null) out.exec_change = evaluation.exec_change;
  return out;
}

test('the public API (objects and JSON text) gives every case\'s native answer', () => {
  let checked = 0;
  let skipped = 0;
  for (const { file, name, case: c } of allCases()) {
    const where = `${file}#${name}`;
    const input = c.record ?? c.contact ?? c.value ?? c.records;
    if (!jsSafe(input)) { skipped += 1; continue; } // JS can't even write this input
    let validator;
    try {
      validator = new firmo.Validator({ today: c.today, config: c.config });
    } catch (err) {
      assert.ok(err instanceof Error, where);
      assert.equal(err.message, `options.config: ${c.expect.config_error}`, where);
      checked += 1;
      continue;
    }
    if ('record' in c) {
      assert.deepEqual({ findings: validator.validateRecord(c.record) }, c.expect, `${where} object`);
      const text = JSON.stringify(c.record);
      assert.deepEqual({ findings: validator.validateRecord(text) }, c.expect, `${where} text`);
      const rejects = validator.validateJson(text);
      assert.deepEqual({ findings: validator.findings() }, c.expect, `${where} validateJson`);
      assert.equal(rejects, c.expect.findings.filter((f) => f.severity === 'reject').length, where);
    } else if ('contact' in c) {
      assert.deepEqual(contactOutcome(validator.validateContact(c.contact)), c.expect, `${where} object`);
      const fromText = validator.validateContact(JSON.stringify(c.contact));
      assert.deepEqual(contactOutcome(fromText), c.expect, `${where} text`);
    } else if ('contact_field' in c) {
      assert.deepEqual({ findings: validator.validateContactField(c.contact_field, c.value) }, c.expect, where);
    } else if ('field' in c) {
      assert.deepEqual({ findings: validator.validateField(c.field, c.value) }, c.expect, where);
    } else {
      assert.deepEqual(compact(validator.mergePreview(c.records)), c.expect, `${where} object`);
      const fromText = validator.mergePreview(JSON.stringify(c.records));
      assert.deepEqual(compact(fromText), c.expect, `${where} text`);
    }
    checked += 1;
  }
  assert.ok(checked > 3 * skipped, `checked ${checked}, skipped ${skipped}`);
});
