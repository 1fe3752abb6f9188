// `npm start`: builds what is stale and runs the store in the local workerd
// runtime on http://127.0.0.1:$PORT (default 8787; HTTP/1.1 and, for Deno's
// KV Connect client, HTTP/2 through scripts/h2c_bridge.js), data kept under
// .wrangler/state, the web console at /console/. On first start it creates
// a demo store.

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { buildConsole, buildWasm } from './build.js';
import { ROOT, startEmulator } from './emulator.js';
import { ensureSetup } from './setup.js';

const DEV_VARS = `${ROOT}.dev.vars`;
const DEMO_FILE = `${ROOT}.kv-demo.json`;
const port = Number(process.env.PORT ?? 8787);

// KV_ADMIN_TOKEN from the environment, else from .dev.vars, else a new one
// written there. Returns it; wrangler reads it from .dev.vars.
function adminToken() {
  const vars = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, 'utf8') : '';
  const fromFile = /^KV_ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m.exec(vars)?.[1];
  const token = process.env.KV_ADMIN_TOKEN ?? fromFile ?? randomUUID();
  if (token !== fromFile) {
    const others = vars.replace(/^KV_ADMIN_TOKEN\s*=.*\n?/m, '');
    writeFileSync(DEV_VARS, `${others}KV_ADMIN_TOKEN="${token}"\n`, { mode: 0o600 });
    console.log(`Admin token written to .dev.vars`);
  }
  return token;
}

async function createDemoStore(url, token) {
  const response = await fetch(`${url}/v1/admin/stores`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ region: 'eu-central-1' }),
  });
  const store = await response.json();
  if (response.status !== 201) throw new Error(`creating the demo store failed: ${JSON.stringify(store)}`);
  // Kept beside .dev.vars (git-ignored), not in the emulator's state.
  writeFileSync(DEMO_FILE, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  return store;
}

function printWelcome(url, store, created) {
  console.log(`
The key-value store is running at ${url}
(wrangler's "Ready on" port above is internal, HTTP/1.1 only: use ${url})
${created ? 'Created a demo store' : 'Demo store (from .kv-demo.json)'}: id ${store.id}, region ${store.region}
  access token: ${store.accessToken}

The web console: ${url}/console/
  sign in as the demo store with its access token and region ${store.region},
  or as the operator with KV_ADMIN_TOKEN from .dev.vars (docs/console.md)

Try it from another terminal in this folder:

  KV_ENDPOINT=${url} node --input-type=module -e '
    import { connect } from "@own3d/kv";
    const kv = connect({ accessToken: "${store.accessToken}", region: "${store.region}" });
    console.log(await kv.set(["users", "1"], { name: "GhostZero" }));
    console.log(await kv.get(["users", "1"]));'

KV Connect (Deno KV's remote protocol) at ${url}/v1/kv-connect, for example:

  echo 'const kv = await Deno.openKv("${url}/v1/kv-connect"); console.log(await kv.get(["users", "1"]));' | DENO_KV_ACCESS_TOKEN=${store.accessToken} deno run --unstable-kv --allow-net --allow-env=DENO_KV_ACCESS_TOKEN -

Stop with Ctrl+C. Data stays in .wrangler/state.`);
}

ensureSetup();
buildWasm();
buildConsole();
const token = adminToken();
const emulator = await startEmulator({ port, persistTo: `${ROOT}.wrangler/state`, stdio: 'inherit' });
let store = existsSync(DEMO_FILE) ? JSON.parse(readFileSync(DEMO_FILE, 'utf8')) : null;
const created = store === null;
store ??= await createDemoStore(emulator.url, token);
printWelcome(emulator.url, store, created);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await emulator.stop();
    process.exit(0);
  });
}
