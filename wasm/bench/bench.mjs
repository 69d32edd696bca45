// Benchmark: firmo's WASM validator against ajv (compiled once) on the same records and
// the same schema (firmo's generated one, `recordSchema()`), in Node.
//
//     wasm/build.sh && node wasm/bench/bench.mjs [--seconds 1] [--json]
//
// Two ways a record reaches a validator:
// - as JSON text (a form post, an API body): firmo's `Validator.validateJson(text)`
//   parses in WASM; ajv needs `JSON.parse(text)` first;
// - as a JS object: `Validator.validateObject(obj)` vs `ajv(obj)`.
// Each answers "may this record be written?" (firmo: no reject; ajv: schema-valid); the
// findings/errors are there when asked for. Before timing, the two are checked to agree
// on every record. Rates are per CPU second of the process (process.cpuUsage), so a busy
// machine's waiting doesn't count.
import { readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const pkg = new URL('../pkg/', import.meta.url);
const firmo = await import(new URL('firmo_wasm.js', pkg));
const wasmBytes = readFileSync(new URL('firmo_wasm_bg.wasm', pkg));
firmo.initSync({ module: wasmBytes });

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 1;
const asJson = args.includes('--json');

// ---- The records: deterministic, realistic, one in five with a reject. ----
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const catalog = firmo.fieldCatalog();
const options = (name) => catalog.fields.find((f) => f.name === name).kind.options.map((o) => o.value);
const industries = ['Software', 'Financial Services', 'Health Care', 'Retail', 'Logistics and Supply Chain'];
const tech = ['AWS', 'React', 'Stripe', 'Google Analytics', 'Kubernetes', 'Segment', 'HubSpot', 'Azure', 'Snowflake'];

function record(i) {
  const r = {
    industry: pick(industries),
    headcount: 5 + Math.floor(rand() * 5000),
    revenue_range: pick(options('revenue_range').slice(1, 6)),
    tech_stack: tech.filter(() => rand() < 0.4),
    funding_stage: pick(options('funding_stage').slice(2, 8)),
    last_funding_date: `20${10 + Math.floor(rand() * 15)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`,
    last_funding_amount: Math.floor(rand() * 5e7),
    employee_growth_6mo: Math.round(rand() * 600 - 100) / 10,
    recent_job_postings: Math.floor(rand() * 80),
  };
  switch (i % 10) {
    case 3: r.headcount = 0; break; // out of range
    case 7: r.funding_stage = 'Series B'; break; // a label, not a value
    case 9: if (i % 100 === 9) r.last_funding_date = '2023-02-29'; break; // no such day
    default: break;
  }
  return r;
}
const records = Array.from({ length: 1000 }, (_, i) => record(i));
const texts = records.map((r) => JSON.stringify(r));

// ---- The validators. ----
const validator = new firmo.Validator({ today: '2026-11-26' });
// ajv as firmo's schema asks to be used: with format assertion (`format: date`, via
// ajv-formats), so that it says no to 2023-02-29 as firmo does. The variant without
// formats is timed too, for reference (it accepts impossible dates).
const schema = firmo.recordSchema();
const ajvCheck = addFormats(new Ajv2020({ strict: false })).compile(schema);
const ajvNoFormats = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);

// They must agree before their speed means anything.
records.forEach((r, i) => {
  const firmoOk = validator.validateJson(texts[i]) === 0;
  const objectOk = validator.validateObject(r) === 0;
  const ajvOk = ajvCheck(r);
  if (firmoOk !== ajvOk || objectOk !== firmoOk) {
    throw new Error(`disagree on ${texts[i]}: firmo ${firmoOk}, object ${objectOk}, ajv ${ajvOk}`);
  }
});
const rejected = records.filter((r, i) => validator.validateJson(texts[i]) > 0).length;

/** CPU seconds this process has used: on a shared machine, wall time counts waiting. */
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function rate(fn) {
  // Warm up (JIT, wasm tiers), then time whole passes over the records.
  for (let i = 0; i < 20_000; i++) fn(i % records.length);
  const runs = [];
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = cpuSeconds();
    const until = start + seconds / 5;
    let now = start;
    while (now < until) {
      for (let i = 0; i < records.length; i++) fn(i);
      n += records.length;
      now = cpuSeconds();
    }
    runs.push(n / (now - start));
  }
  runs.sort((a, b) => a - b);
  return runs[2]; // median of 5
}

let sink = 0;
const results = {
  'firmo wasm, JSON text  (validator.validateJson(text))': rate((i) => { sink += validator.validateJson(texts[i]); }),
  'ajv,        JSON text  (check(JSON.parse(text)))': rate((i) => { sink += ajvCheck(JSON.parse(texts[i])) ? 0 : 1; }),
  'firmo wasm, JS object  (validator.validateObject(obj))': rate((i) => { sink += validator.validateObject(records[i]); }),
  'ajv,        JS object  (check(obj))': rate((i) => { sink += ajvCheck(records[i]) ? 0 : 1; }),
  'ajv without format checks, JSON text (reference)': rate((i) => { sink += ajvNoFormats(JSON.parse(texts[i])) ? 0 : 1; }),
  'firmo wasm, findings   (validator.validateRecord(text))': rate((i) => { sink += validator.validateRecord(texts[i]).length; }),
};

const size = {
  raw: wasmBytes.length,
  gzip: gzipSync(wasmBytes, { level: 9 }).length,
  brotli: brotliCompressSync(wasmBytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
};

if (asJson) {
  console.log(JSON.stringify({ node: process.version, records: records.length, rejected, results, size, sink }));
} else {
  const avgBytes = Math.round(texts.reduce((n, t) => n + t.length, 0) / texts.length);
  console.log(`node ${process.version}; ${records.length} records (${rejected} with a reject), ~${avgBytes} bytes of JSON each`);
  for (const [name, perSecond] of Object.entries(results)) {
    console.log(`${name.padEnd(58)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} /s`);
  }
  const textRatio = Object.values(results)[0] / Object.values(results)[1];
  console.log(`firmo vs ajv on JSON text: ${textRatio.toFixed(2)}x`);
  console.log(`module firmo_wasm_bg.wasm: ${size.raw} bytes raw, ${size.gzip} gzip -9, ${size.brotli} brotli -q 11`);
}
