// The demo company card. Everything that decides whether a value is acceptable comes from
// the WASM module (firmo-core's rules); this file only draws the form and talks to the
// sandbox's HubSpot API.
//
// URL: /ui/companies/{id}?token=TOKEN  (TOKEN defaults to the sandbox's demo token;
// this is a local demo, the token sits in the page on purpose).
import init, { fieldCatalog, rulesVersion, validateFieldText } from '/ui/pkg/firmo_wasm.js';

const DEMO_TOKEN = 'sandbox-token'; // the sandbox's default (--token)
const params = new URLSearchParams(location.search);
const token = params.get('token') || DEMO_TOKEN;
const companyId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop());

const $ = (id) => document.getElementById(id);
const form = $('fields');
const saveButton = $('save');
const resetButton = $('reset');
const statusLine = $('status');

/** name → { spec, input, list, saved (CRM text), findings } */
const rows = new Map();

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

async function crm(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).message ?? text; } catch { /* not JSON */ }
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${message}`);
  }
  return text ? JSON.parse(text) : null;
}

function inputFor(spec) {
  const kind = spec.kind;
  if (kind.type === 'enum') {
    const select = document.createElement('select');
    select.append(new Option('—', ''));
    for (const option of kind.options) select.append(new Option(option.label, option.value));
    return select;
  }
  const input = document.createElement('input');
  input.type = 'text'; // typed text goes through the module, so every keystroke is checked
  input.autocomplete = 'off';
  if (kind.type === 'integer' || kind.type === 'decimal') input.inputMode = 'decimal';
  if (kind.type === 'date') input.placeholder = 'YYYY-MM-DD';
  if (kind.type === 'text_list') input.placeholder = 'AWS; React; Stripe';
  return input;
}

function hintFor(spec) {
  const k = spec.kind;
  switch (k.type) {
    case 'integer':
    case 'decimal': return `${k.min.toLocaleString('en-US')} to ${k.max.toLocaleString('en-US')}`;
    case 'text': return `up to ${k.max_len} characters`;
    case 'text_list': return `names separated by ";", up to ${k.max_items}`;
    case 'date': return `YYYY-MM-DD, from ${k.min_year} to today`;
    default: return '';
  }
}

function buildForm(catalog) {
  for (const spec of catalog.fields) {
    const row = document.createElement('div');
    row.className = 'field';
    row.dataset.field = spec.name;
    const id = `field-${spec.name}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = spec.label;
    const input = inputFor(spec);
    input.id = id;
    input.name = spec.property;
    const hint = document.createElement('div');
    hint.className = 'hint';
    hint.textContent = hintFor(spec);
    const list = document.createElement('ul');
    list.className = 'findings';
    list.id = `${id}-findings`;
    input.setAttribute('aria-describedby', list.id);
    row.append(label, input, hint, list);
    form.append(row);
    rows.set(spec.name, { spec, row, input, list, saved: '', findings: [] });
    input.addEventListener('input', () => check(spec.name));
  }
}

/** Validates one field's current text in the WASM module and shows the findings. */
function check(name) {
  const r = rows.get(name);
  const text = r.input.value;
  r.findings = validateFieldText(name, text);
  r.list.replaceChildren(
    ...r.findings.map((f) => {
      const item = document.createElement('li');
      item.className = f.severity;
      item.dataset.rule = f.code;
      item.textContent = f.message;
      return item;
    }),
  );
  r.row.classList.toggle('reject', r.findings.some((f) => f.severity === 'reject'));
  r.row.classList.toggle('changed', text.trim() !== r.saved);
  refreshButtons();
}

function changedRows() {
  return [...rows.values()].filter((r) => r.input.value.trim() !== r.saved);
}

function refreshButtons() {
  const rejected = [...rows.values()].some((r) => r.findings.some((f) => f.severity === 'reject'));
  const changed = changedRows().length > 0;
  saveButton.disabled = rejected || !changed;
  resetButton.disabled = !changed;
  saveButton.title = rejected ? 'Fix the errors above to save' : '';
}

function show(company) {
  const p = company.properties ?? {};
  $('company-name').textContent = p.name || `Company ${company.id}`;
  $('company-domain').textContent = p.domain ?? '';
  document.title = `${p.name || company.id} · firmo demo card`;
  for (const r of rows.values()) {
    r.saved = (p[r.spec.property] ?? '').trim();
    if (r.input instanceof HTMLSelectElement && r.saved && ![...r.input.options].some((o) => o.value === r.saved)) {
      // A value the catalogue doesn't know: show it as it is, so the rules can flag it.
      r.input.append(new Option(r.saved, r.saved));
    }
    r.input.value = r.saved;
    check(r.spec.name);
  }
}

async function load() {
  const properties = ['name', 'domain', ...[...rows.values()].map((r) => r.spec.property)];
  const path = `/crm/v3/objects/companies/${encodeURIComponent(companyId)}` +
    `?properties=${properties.map(encodeURIComponent).join(',')}`;
  show(await crm('GET', path));
}

async function save() {
  const changed = changedRows();
  if (changed.length === 0 || saveButton.disabled) return;
  saveButton.disabled = true;
  setStatus('Saving…');
  // HubSpot takes every property value as a string; "" clears the property.
  const properties = Object.fromEntries(changed.map((r) => [r.spec.property, r.input.value.trim()]));
  try {
    const updated = await crm('PATCH', `/crm/v3/objects/companies/${encodeURIComponent(companyId)}`,
      { properties });
    // The API answers with the stored properties; show those (the CRM's view is the truth).
    await load();
    setStatus(`Saved ${changed.length} field${changed.length === 1 ? '' : 's'} at ${updated?.updatedAt ?? 'now'}`);
  } catch (err) {
    setStatus(err.message, true);
    refreshButtons();
  }
}

async function main() {
  await init();
  $('rules-version').textContent = rulesVersion();
  buildForm(fieldCatalog());
  saveButton.addEventListener('click', save);
  resetButton.addEventListener('click', () => {
    for (const r of rows.values()) { r.input.value = r.saved; check(r.spec.name); }
    setStatus('');
  });
  try {
    await load();
  } catch (err) {
    setStatus(err.message, true);
  }
  document.querySelector('main').setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

main().catch((err) => setStatus(`The card failed to start: ${err.message}`, true));
