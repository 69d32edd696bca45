// `firmo report --html` in real headless Chromium (Debian's, driven by playwright-core):
// two real syncs against the in-process sandbox (127.0.0.1, ephemeral port), then the
// page they produce, checked for what a person sees: charts drawn from the data, the
// search and the outcome filter changing the visible rows, the quality section.
//
//     tests/report-html/test.sh              (builds firmo, installs what is missing)
//     tests/report-html/test.sh --screenshot (also writes docs/report.png)
// Needs $FIRMO_BIN (the firmo binary) and /usr/bin/chromium (or $CHROMIUM).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);
const firmoBin = process.env.FIRMO_BIN;
assert.ok(firmoBin, 'FIRMO_BIN names the firmo binary (tests/report-html/test.sh sets it)');

// The shape the quality measurements give the report (a hand-made document).
const QUALITY = {
  fields: [
    {
      field: 'industry', coverage: 0.96,
      accuracy: { rate: 0.91, low: 0.85, high: 0.95, n: 50, sampled_on: '2026-12-01' },
      usable: 0.87,
      sources: [
        { source: 'clay', accuracy: { rate: 0.93, low: 0.84, high: 0.97, n: 40, sampled_on: '2026-12-01' }, corrections: { written: 120, corrected: 3, rate: 0.025 } },
        { source: 'clearbit', accuracy: null, corrections: { written: 10, corrected: 0, rate: 0 } },
      ],
    },
    { field: 'headcount', coverage: 0.9, accuracy: null, usable: null, sources: [] },
  ],
  agreement: [{ field: 'industry', a: 'clay', b: 'clearbit', compared: 120, agreed: 110, rate: 0.917 }],
};

let dir;
let browser;
let pagePath;
let report;

async function firmo(...args) {
  const { stdout } = await run(firmoBin, ['--state', join(dir, 'state.db'), ...args], { cwd: dir, maxBuffer: 64 << 20 });
  return stdout;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firmo-report-html-'));
  // Three runs over a growing part of the demo portal, so the trends move: each run
  // pays only for the accounts the cache has not seen.
  for (const limit of ['15', '30', '40']) {
    await firmo('sync', '--crm', 'hubspot', '--sandbox', '--sandbox-companies', '40', '--full', '--limit', limit);
  }
  pagePath = join(dir, 'report.html');
  await firmo('report', '--html', pagePath);
  report = JSON.parse(await firmo('--json', 'report'));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Opens `path` and fails the test on any script error or any request leaving the file. */
async function open(path) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('request', (req) => { if (!req.url().startsWith('file:')) problems.push(`request to ${req.url()}`); });
  await page.goto(pathToFileURL(path).href);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

const visibleRows = (page) => page.locator('#account-table tbody tr:visible');

test('the page is small and self-contained', async () => {
  const { size } = await stat(pagePath);
  assert.ok(size < 200 * 1024, `${size} bytes`);
  const { page, problems } = await open(pagePath);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the charts are drawn from the runs', async () => {
  const { page, problems } = await open(pagePath);
  const trend = report.trend;
  assert.equal(trend.length, 3, 'three real runs');
  // Credits: one bar per (run, provider) that spent, carrying the ledger's figure.
  const spent = trend.flatMap((p) => Object.entries(p.credits).filter(([, c]) => c > 0).map(([provider, c]) => ({ run: p.run_id, provider, c })));
  assert.ok(spent.length > 0, 'the first sync paid for lookups');
  const bars = page.locator('svg[data-chart="credits"] rect[data-series]');
  assert.equal(await bars.count(), spent.length);
  for (const { run: runId, provider, c } of spent) {
    const bar = page.locator(`svg[data-chart="credits"] rect[data-run="${runId}"][data-series="${provider}"]`);
    assert.equal(Number(await bar.getAttribute('data-value')), c);
    assert.ok(Number(await bar.getAttribute('height')) > 0);
  }
  // A run's stack is as tall as its spend, relative to the others.
  const stack = async (runId) => (await page.locator(`svg[data-chart="credits"] rect[data-run="${runId}"]`).evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))))).reduce((a, b) => a + b, 0);
  const spend = (p) => Object.values(p.credits).reduce((a, b) => a + b, 0);
  const [first, ...rest] = trend;
  assert.ok(spend(first) > 0);
  for (const p of rest) {
    const ratio = (await stack(p.run_id)) / (await stack(first.run_id));
    assert.ok(Math.abs(ratio - spend(p) / spend(first)) < 0.01, `run ${p.run_id}: ${ratio}`);
  }
  // Winning values: a bar per source at its share.
  const sources = Object.entries(report.latest.sources);
  assert.ok(sources.length > 1);
  for (const [source, share] of sources) {
    const bar = page.locator(`svg[data-chart="sources"] rect[data-series="${source}"]`);
    assert.equal(Number(await bar.getAttribute('data-value')), share, source);
  }
  // Outcomes: the bars of a run add up to its accounts.
  for (const p of trend) {
    const values = await page.locator(`svg[data-chart="outcomes"] rect[data-run="${p.run_id}"]`).evaluateAll((rs) => rs.map((r) => Number(r.dataset.value)));
    assert.equal(values.reduce((a, b) => a + b, 0), Object.values(p.outcomes).reduce((a, b) => a + b, 0));
  }
  // Coverage: a point per run and field, at the stored share; the headline is the newest.
  for (const [field, share] of report.latest.coverage) {
    const points = page.locator(`svg[data-chart="coverage-${field}"] circle`);
    assert.equal(await points.count(), 3, field);
    assert.equal(Number(await points.last().getAttribute('data-value')), share, field);
  }
  // Findings: bars when the runs had any, else a sentence instead of an empty chart.
  const findings = trend.reduce((n, p) => n + Object.values(p.findings).reduce((a, b) => a + b, 0), 0);
  if (findings > 0) assert.ok(await page.locator('svg[data-chart="findings"] rect[data-series]').count() > 0);
  else assert.equal(await page.locator('[data-empty="findings"]').textContent(), 'None in the last 3 runs.');
  const tile = page.locator('.tile[data-outcome="written"] strong');
  assert.equal(Number(await tile.textContent()), trend[2].outcomes.written);
  // The README's picture: the real page, top of it (the run, coverage and trends).
  if (process.env.REPORT_SCREENSHOT) {
    await page.screenshot({ path: process.env.REPORT_SCREENSHOT });
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('the search and the outcome filter change the visible rows', async () => {
  const { page, problems } = await open(pagePath);
  const accounts = report.accounts;
  assert.ok(accounts.length >= 10, `${accounts.length} accounts`);
  assert.equal(await visibleRows(page).count(), accounts.length);
  assert.equal(await page.locator('#shown').textContent(), `Showing ${accounts.length} of ${accounts.length} accounts`);

  // Typed as a person would: the rows left are the accounts whose domain matches.
  const target = accounts.find((a) => a.domain);
  await page.locator('#search').pressSequentially(target.domain);
  const expected = accounts.filter((a) => [a.id, a.name, a.domain, a.reason].join(' ').toLowerCase().includes(target.domain.toLowerCase()));
  assert.equal(await visibleRows(page).count(), expected.length);
  assert.ok(expected.length < accounts.length);
  assert.match(await visibleRows(page).first().textContent(), new RegExp(target.domain.replace(/\./g, '\\.')));
  await page.locator('#search').fill('');
  assert.equal(await visibleRows(page).count(), accounts.length);

  // The outcome filter, driven by keyboard: focus it, pick an outcome with the arrows.
  const counts = {};
  for (const a of accounts) (counts[a.outcome] ||= []).push(a);
  const options = await page.locator('#outcome-filter option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(options.slice(1).sort(), Object.keys(counts).sort());
  await page.locator('#outcome-filter').focus();
  await page.keyboard.press('ArrowDown');
  const picked = await page.locator('#outcome-filter').inputValue();
  assert.equal(picked, options[1]);
  const outcomes = await visibleRows(page).evaluateAll((rs) => rs.map((r) => r.dataset.outcome));
  assert.equal(outcomes.length, counts[picked].length);
  assert.ok(outcomes.every((o) => o === picked), outcomes.join());

  // A run-outcome tile is a button that sets the same filter.
  const other = Object.keys(counts).find((o) => o !== picked);
  if (other) {
    await page.locator(`.tile[data-outcome="${other}"]`).click();
    assert.equal(await page.locator('#outcome-filter').inputValue(), other);
    assert.equal(await visibleRows(page).count(), counts[other].length);
    assert.equal(await page.locator(`.tile[data-outcome="${other}"]`).getAttribute('aria-pressed'), 'true');
  }
  // The winning sources are shown per field.
  const withSources = accounts.find((a) => Object.keys(a.won).length > 0);
  await page.locator('#outcome-filter').selectOption('');
  await page.locator('#search').fill(withSources.id);
  const lines = await visibleRows(page).first().locator('.won li').allTextContents();
  for (const [field, providers] of Object.entries(withSources.won)) {
    for (const provider of providers) {
      const line = lines.find((l) => l.startsWith(`${provider}: `));
      assert.ok(line && line.slice(provider.length + 2).split(', ').includes(field), `${field} from ${provider} in ${lines}`);
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('the quality section renders a quality document, and says when there is none', async () => {
  const html = await readFile(pagePath, 'utf8');
  const block = /(<script type="application\/json" id="firmo-data">)([\s\S]*?)(<\/script>)/;
  const data = JSON.parse(block.exec(html)[2]);
  // Until the measurements are wired in, a real sync's page has none.
  if (data.quality == null) {
    const { page } = await open(pagePath);
    assert.match(await page.locator('#quality-body').textContent(), /No accuracy measured yet/);
    await page.close();
  }
  data.quality = QUALITY;
  const withQuality = join(dir, 'report-quality.html');
  await writeFile(withQuality, html.replace(block, (_, open_, _body, close) => open_ + JSON.stringify(data).replace(/</g, '\\u003c') + close));
  const { page, problems } = await open(withQuality);
  const industry = page.locator('#quality-fields tr[data-field="industry"]:not(.sub)');
  const cells = await industry.locator('th, td').allTextContents();
  assert.deepEqual(cells.slice(0, 4), ['industry', '96.0 %', '91.0 % (95 % interval 85.0 % to 95.0 %, n = 50, 2026-12-01)', '87.0 %']);
  const clay = await page.locator('#quality-fields tr[data-source="clay"] td').allTextContents();
  assert.equal(clay.at(-1), '3 of 120 written (2.5 %)');
  const clearbit = await page.locator('#quality-fields tr[data-source="clearbit"] td').allTextContents();
  assert.equal(clearbit[1], 'not sampled');
  const headcount = await page.locator('#quality-fields tr[data-field="headcount"] td').allTextContents();
  assert.deepEqual(headcount.slice(1, 3), ['not sampled', '–']);
  const agreement = await page.locator('#quality-agreement tbody tr').first().locator('th, td').allTextContents();
  assert.deepEqual(agreement, ['industry', 'clay and clearbit', '120', '110', '91.7 %']);
  assert.deepEqual(problems, []);
  await page.close();
});
