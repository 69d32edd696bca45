// Loads the built package (wasm/pkg, from build.sh) in Node: the `--target web` output
// works in Node >= 20 once it is handed the module bytes with `initSync`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('../pkg/', import.meta.url));

export async function loadFirmo() {
  const firmo = await import(new URL('../pkg/firmo_wasm.js', import.meta.url));
  firmo.initSync({ module: readFileSync(`${pkgDir}firmo_wasm_bg.wasm`) });
  return firmo;
}

export const fixturesDir = fileURLToPath(new URL('../../tests/fixtures/rules/', import.meta.url));
