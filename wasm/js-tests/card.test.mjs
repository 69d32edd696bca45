// The demo CRM card in real headless Chromium (Debian's, driven by playwright-core),
// against a real sandbox process: load a company's card, type an invalid headcount, see
// the error under the field and Save disabled, type a valid one, save, and read the new
// value back from the sandbox's HubSpot API.
//
//     wasm/build.sh && node --test wasm/js-tests/card.test.mjs
// Needs /usr/bin/chromium (or $CHROMIUM); wasm/test.sh installs it when missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

import { loadFirmo } from './load.mjs';
import { crm, ensureFirmoProperties, startSandbox } from './sandbox.mjs';

const firmo = await loadFirmo();
let sandbox;
let browser;
let api;
let companyId;

before(async () => {
  sandbox = await startSandbox();
  api = crm(sandbox.url);
  await ensureFirmoProperties(api, firmo.fieldCatalog());
  const list = await api('GET', '/crm/v3/objects/companies?limit=1');
  companyId = list.body.results[0].id;
  // What a firmo sync would have written.
  const seeded = await api('PATCH', `/crm/v3/objects/companies/${companyId}`, {
    properties: {
      firmo_industry: 'Software',
      firmo_headcount: '120',
      firmo_funding_stage: 'series_b',
      firmo_last_funding_date: '2024-05-02',
      firmo_tech_stack: 'AWS;React',
    },
  });
  assert.equal(seeded.status, 200, JSON.stringify(seeded.body));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
});

test('the sandbox serves the card page, its script and the package', async () => {
  for (const [path, type] of [
    [`/ui/companies/${companyId}`, 'text/html'],
    ['/ui/card.js', 'text/javascript'],
    ['/ui/pkg/firmo_wasm.js', 'text/javascript'],
    ['/ui/pkg/firmo_wasm_bg.wasm', 'application/wasm'],
  ]) {
    const response = await fetch(sandbox.url + path);
    assert.equal(response.status, 200, path);
    assert.ok(response.headers.get('content-type').startsWith(type), `${path}: ${response.headers.get('content-type')}`);
  }
  assert.equal((await fetch(`${sandbox.url}/ui/..%2F..%2FCargo.toml`)).status, 404);
});

test('the card validates edits in the browser and saves a valid one to the CRM', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });

  await page.goto(`${sandbox.url}/ui/companies/${companyId}?token=sandbox-token`);
  await page.waitForSelector('body[data-ready="true"]');

  const headcount = page.locator('#field-headcount');
  const headcountErrors = page.locator('#field-headcount-findings li.reject');
  const save = page.locator('#save');
  assert.equal(await headcount.inputValue(), '120', 'the card shows what the CRM holds');
  assert.equal(await page.locator('#field-industry').inputValue(), 'Software');
  assert.equal(await page.locator('#field-funding_stage').inputValue(), 'series_b');
  assert.equal(await page.locator('#field-tech_stack').inputValue(), 'AWS;React');
  assert.equal(await headcountErrors.count(), 0);
  assert.equal(await save.isDisabled(), true, 'nothing changed yet');

  // Typed key by key: every keystroke is checked by the WASM module.
  await headcount.fill('');
  await headcount.pressSequentially('-5');
  await headcountErrors.first().waitFor();
  assert.match(await headcountErrors.first().textContent(), /headcount -5 is out of range: it must be between 1 and 5000000/);
  assert.equal(await headcountErrors.first().getAttribute('data-rule'), 'FQ004');
  assert.equal(await save.isDisabled(), true, 'Save is disabled on a reject');

  await headcount.fill('12 people');
  assert.match(await headcountErrors.first().textContent(), /expected a whole number/);
  assert.equal(await save.isDisabled(), true);

  await headcount.fill('');
  await headcount.pressSequentially('250');
  assert.equal(await headcountErrors.count(), 0, 'the error goes away');
  assert.equal(await save.isDisabled(), false, 'a valid edit can be saved');

  await save.click();
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Saved'));

  const stored = await api('GET', `/crm/v3/objects/companies/${companyId}?properties=firmo_headcount,firmo_industry`);
  assert.equal(stored.status, 200);
  assert.equal(Number(stored.body.properties.firmo_headcount), 250, 'the sandbox holds the new value');
  assert.equal(stored.body.properties.firmo_industry, 'Software', 'untouched fields stay');
  assert.equal(await headcount.inputValue(), '250', 'the card reloaded the stored value');
  assert.equal(await save.isDisabled(), true);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a flag is shown but does not block saving; a reject elsewhere does', async () => {
  const page = await browser.newPage();
  await page.goto(`${sandbox.url}/ui/companies/${companyId}`); // default demo token
  await page.waitForSelector('body[data-ready="true"]');
  const tech = page.locator('#field-tech_stack');
  await tech.fill('AWS; aws; React');
  const flags = page.locator('#field-tech_stack-findings li.flag');
  await flags.first().waitFor();
  assert.equal(await page.locator('#save').isDisabled(), false, 'a flag does not block');
  await page.locator('#field-last_funding_date').fill('2099-01-01');
  await page.locator('#field-last_funding_date-findings li.reject').first().waitFor();
  assert.equal(await page.locator('#save').isDisabled(), true, 'a reject in any field blocks');
  await page.locator('#reset').click();
  assert.equal(await tech.inputValue(), 'AWS;React');
  assert.equal(await page.locator('#save').isDisabled(), true);
  await page.close();
});
