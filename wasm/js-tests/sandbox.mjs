// Test helpers around a real sandbox process (`firmo-sandbox`): start it on a free port,
// serving the demo card from this wasm/ directory, and set up firmo's CRM properties the
// way `firmo properties ensure` would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const wasmDir = fileURLToPath(new URL('../', import.meta.url));
const root = join(wasmDir, '..');

/**
 * Starts `firmo-sandbox --addr 127.0.0.1:0 --ui-dir wasm/` and resolves once it printed its
 * `listening on URL` line. The binary: $FIRMO_SANDBOX_BIN, else the debug build in
 * $CARGO_TARGET_DIR (or target/), else `cargo run`.
 */
export async function startSandbox(extraArgs = []) {
  const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
  const built = process.env.FIRMO_SANDBOX_BIN || join(targetDir, 'debug', 'firmo-sandbox');
  const args = ['--addr', '127.0.0.1:0', '--companies', '5', '--ui-dir', wasmDir, ...extraArgs];
  const [cmd, argv] = existsSync(built)
    ? [built, args]
    : ['cargo', ['run', '-q', '-p', 'firmo-sandbox', '--', ...args]];
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    exited.then((code) => { throw new Error(`${cmd} exited (${code}) before listening`); }),
  ]);
  const match = /^listening on (http:\/\/\S+)$/.exec(first);
  if (!match) {
    child.kill();
    throw new Error(`unexpected first line from the sandbox: ${first}`);
  }
  return {
    url: match[1],
    async stop() {
      lines.close();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A client of the sandbox's HubSpot API. */
export function crm(baseUrl, token = 'sandbox-token') {
  return async (method, path, body) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

/**
 * Creates firmo's property group and one property per catalogue field, typed as the
 * engine defines them (crates/firmo-engine/src/properties.rs); existing ones are kept.
 */
export async function ensureFirmoProperties(api, catalog) {
  const group = await api('POST', '/crm/v3/properties/companies/groups', { name: 'firmo', label: 'firmo enrichment' });
  if (![200, 201, 409].includes(group.status)) throw new Error(`group: ${JSON.stringify(group)}`);
  for (const f of catalog.fields) {
    const [type, fieldType] = {
      text: ['string', 'text'],
      text_list: ['string', 'textarea'],
      integer: ['number', 'number'],
      decimal: ['number', 'number'],
      date: ['date', 'date'],
      enum: ['enumeration', 'select'],
    }[f.kind.type];
    const def = { name: f.property, label: f.label, description: f.description, type, fieldType, groupName: 'firmo' };
    if (f.kind.type === 'enum') def.options = f.kind.options.map((o, i) => ({ ...o, displayOrder: i, hidden: false }));
    const created = await api('POST', '/crm/v3/properties/companies', def);
    if (![200, 201, 409].includes(created.status)) throw new Error(`${f.property}: ${JSON.stringify(created)}`);
  }
}
