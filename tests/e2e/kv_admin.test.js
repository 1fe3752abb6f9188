// bin/kv-admin.js as operators run it: a child process against the Worker in
// workerd. Checks outputs and exit codes (0 done, 1 API error, 2 usage
// error), and that the admin token never appears in anything it prints.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { call, createStore, sharedEmulator } from '../helpers.js';

const CLI = fileURLToPath(new URL('../../bin/kv-admin.js', import.meta.url));
// A failsafe only: a workerd that stops answering fails the suite instead of hanging it.
const SUITE = { timeout: 5 * 60_000 };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

let emulator;
const outputs = []; // everything every run printed, checked for the admin token at the end

before(async () => {
  emulator = await sharedEmulator();
});
after(() => emulator?.close());

/**
 * Runs kv-admin with `args`. The environment has KV_ENDPOINT and
 * KV_ADMIN_TOKEN of the emulator unless `env` overrides them (null removes
 * one). Returns { code, stdout, stderr }.
 */
function kvAdmin(args, env = {}) {
  const childEnv = { PATH: process.env.PATH, KV_ENDPOINT: emulator.url, KV_ADMIN_TOKEN: emulator.adminToken };
  for (const [name, value] of Object.entries(env)) {
    if (value === null) delete childEnv[name];
    else childEnv[name] = value;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      outputs.push(stdout, stderr);
      resolve({ code: child.exitCode, stdout, stderr });
    });
  });
}

function assertExit(result, code) {
  assert.equal(result.code, code, `exit ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

async function storeFromApi(id) {
  return call(emulator.url, `/v1/admin/stores/${id}`, { method: 'GET', token: emulator.adminToken });
}

async function tokenWorks(token) {
  const response = await call(emulator.url, '/v1/usage', { method: 'GET', token });
  if (response.status === 200) return true;
  assert.equal(response.body.error.code, 'invalid_token');
  return false;
}

describe('help and usage errors (exit 2, nothing sent)', SUITE, () => {
  test('--help lists every command; each command has its own help', async () => {
    const help = await kvAdmin(['--help']);
    assertExit(help, 0);
    for (const command of ['create', 'list', 'show', 'queue', 'limits', 'rotate-token', 'delete']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), command);
    }
    assert.match(help.stdout, /KV_ENDPOINT/);
    assert.match(help.stdout, /KV_ADMIN_TOKEN/);
    const create = await kvAdmin(['create', '--help']);
    assertExit(create, 0);
    assert.match(create.stdout, /^Usage: kv-admin create --region R/);
    assert.match(create.stdout, /--storage/);
    const rotate = await kvAdmin(['help', 'rotate-token']);
    assertExit(rotate, 0);
    assert.match(rotate.stdout, /^Usage: kv-admin rotate-token ID/);
    // Help needs no endpoint or token.
    assertExit(await kvAdmin(['delete', '-h'], { KV_ENDPOINT: null, KV_ADMIN_TOKEN: null }), 0);
    const bare = await kvAdmin([]);
    assertExit(bare, 2);
    assert.match(bare.stderr, /Usage: kv-admin <command>/);
  });

  test('what is missing or wrong is named', async () => {
    const id = randomUUID();
    const cases = [
      [['list'], { KV_ENDPOINT: null }, /KV_ENDPOINT/],
      [['list'], { KV_ENDPOINT: null }, /--endpoint/],
      [['list'], { KV_ADMIN_TOKEN: null }, /KV_ADMIN_TOKEN/],
      [['list'], { KV_ENDPOINT: 'not a url' }, /not a URL/],
      [['list'], { KV_ENDPOINT: 'http://kv.example.com' }, /https/],
      [['create'], {}, /--region/],
      [['create', '--region', 'eu-central-1', '--ops', 'many'], {}, /--ops must be/],
      [['create', '--region', 'eu-central-1', '--storage', '-5'], {}, /--storage/],
      [['create', '--region', 'eu-central-1', '--storage', '10TB'], {}, /--storage must be/],
      [['show'], {}, /needs the store ID/],
      [['show', 'nope'], {}, /store ID is a UUID/],
      [['show', id, 'extra'], {}, /unexpected argument "extra"/],
      [['queue'], {}, /needs the store ID/],
      [['queue', 'nope'], {}, /store ID is a UUID/],
      [['limits', id], {}, /--ops, --storage or both/],
      [['list', '--limit', '0'], {}, /--limit must be a whole number from 1 to 1000/],
      [['list', '--frobnicate'], {}, /unknown option --frobnicate/],
      [['show', id, '--yes'], {}, /unknown option --yes/],
      [['frobnicate'], {}, /unknown command "frobnicate"/],
      [['delete', id], {}, /--yes/],
    ];
    // Independent runs that send nothing: run side by side.
    const results = await Promise.all(cases.map(([args, env]) => kvAdmin(args, env)));
    for (const [i, [args, , message]] of cases.entries()) {
      const result = results[i];
      assertExit(result, 2);
      assert.match(result.stderr, message, `kv-admin ${args.join(' ')}`);
      assert.equal(result.stdout, '', `kv-admin ${args.join(' ')} prints nothing on stdout`);
    }
  });
});

describe('managing a store', SUITE, () => {
  test('create, list, show, limits, rotate-token and delete', async () => {
    // create: text output names the store and prints its token once.
    const created = await kvAdmin(['create', '--region', 'eu-west-1', '--ops', '100', '--storage', '1MiB']);
    assertExit(created, 0);
    assert.match(created.stdout, /Created store [0-9a-f-]{36} in eu-west-1\./);
    assert.match(created.stdout, /operations\s+100 per month/);
    assert.match(created.stdout, /storage\s+1048576 bytes/);
    assert.match(created.stdout, /shown once/);
    const [id, token] = created.stdout.match(UUID);
    assert.notEqual(id, token);
    assert.equal(created.stdout.split(token).length - 1, 1, 'the token is printed once');
    assert.ok(await tokenWorks(token));
    const api = await storeFromApi(id);
    assert.deepEqual(api.body.limits, { opsPerMonth: 100, storageBytes: 1_048_576 });
    assert.equal(api.body.region, 'eu-west-1');

    // create --json: the API's answer.
    const createdJson = await kvAdmin(['create', '--region', 'us-east-2', '--json']);
    assertExit(createdJson, 0);
    const other = JSON.parse(createdJson.stdout);
    assert.deepEqual(Object.keys(other).sort(), ['accessToken', 'id', 'limits', 'region']);
    assert.equal(other.region, 'us-east-2');
    assert.deepEqual(other.limits, { opsPerMonth: 10_000, storageBytes: 10_485_760 });
    assert.ok(await tokenWorks(other.accessToken));

    // list: every page with --all; one page and a hint otherwise.
    const all = await kvAdmin(['list', '--all', '--json', '--limit', '2']);
    assertExit(all, 0);
    const listed = JSON.parse(all.stdout);
    assert.equal(listed.cursor, null);
    const ids = listed.stores.map((store) => store.id);
    assert.ok(ids.includes(id) && ids.includes(other.id), 'both stores listed');
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(all.stdout.includes(token), false, 'list never shows tokens');
    const page = await kvAdmin(['list', '--limit', '1']);
    assertExit(page, 0);
    assert.match(page.stdout, /^ID\s+REGION\s+CREATED/);
    assert.equal(page.stdout.trim().split('\n').length, 2, 'a header and one store');
    assert.match(page.stderr, /More stores follow: kv-admin list --cursor=\S+ --limit 1/);
    const cursor = /--cursor=(\S+)/.exec(page.stderr)[1];
    const next = await kvAdmin(['list', '--limit', '1', `--cursor=${cursor}`, '--json']);
    assertExit(next, 0);
    assert.notEqual(JSON.parse(next.stdout).stores[0].id, page.stdout.trim().split('\n')[1].split(/\s+/)[0], 'the cursor moves on');
    const text = await kvAdmin(['list', '--all']);
    assertExit(text, 0);
    assert.match(text.stdout, new RegExp(`^${id}\\s+eu-west-1\\s+\\S+\\s+0 of 100\\s+0 of 1048576$`, 'm'));

    // show
    const shown = await kvAdmin(['show', id]);
    assertExit(shown, 0);
    assert.match(shown.stdout, new RegExp(`^Store ${id}$`, 'm'));
    assert.match(shown.stdout, /region\s+eu-west-1/);
    assert.match(shown.stdout, /operations\s+0 of 100 in \d{4}-\d{2} \(UTC\); the count resets at \d{4}-\d{2}-01T00:00:00Z/);
    assert.match(shown.stdout, /storage\s+0 of 1048576 bytes/);
    const shownJson = await kvAdmin(['show', id.toUpperCase(), '--json']);
    assertExit(shownJson, 0);
    assert.deepEqual(JSON.parse(shownJson.stdout), (await storeFromApi(id)).body);

    // limits
    const limits = await kvAdmin(['limits', id, '--ops', 'unlimited', '--storage', '2048']);
    assertExit(limits, 0);
    assert.match(limits.stdout, /operations\s+0 of unlimited/);
    assert.match(limits.stdout, /storage\s+0 of 2048 bytes/);
    assert.deepEqual((await storeFromApi(id)).body.limits, { opsPerMonth: null, storageBytes: 2048 });
    const storageOnly = await kvAdmin(['limits', id, '--storage', 'unlimited', '--json']);
    assertExit(storageOnly, 0);
    assert.deepEqual(JSON.parse(storageOnly.stdout).limits, { opsPerMonth: null, storageBytes: null });

    // rotate-token: the new token is printed, the old one is refused.
    const rotated = await kvAdmin(['rotate-token', id]);
    assertExit(rotated, 0);
    const newToken = rotated.stdout.match(UUID).find((found) => found !== id);
    assert.match(rotated.stdout, /the old token is refused/);
    assert.equal(await tokenWorks(token), false);
    assert.equal(await tokenWorks(newToken), true);
    const rotatedJson = await kvAdmin(['rotate-token', id, '--json']);
    assertExit(rotatedJson, 0);
    const { id: rotatedId, accessToken: newest } = JSON.parse(rotatedJson.stdout);
    assert.equal(rotatedId, id);
    assert.equal(await tokenWorks(newToken), false);
    assert.equal(await tokenWorks(newest), true);

    // delete: refused without --yes off a terminal, done with it.
    assertExit(await kvAdmin(['delete', id]), 2);
    assert.equal((await storeFromApi(id)).status, 200, 'not deleted without --yes');
    const deleted = await kvAdmin(['delete', id, '--yes']);
    assertExit(deleted, 0);
    assert.match(deleted.stdout, new RegExp(`Deleted store ${id}`));
    assert.equal((await storeFromApi(id)).status, 404);
    assert.equal(await tokenWorks(newest), false);
    const deletedJson = await kvAdmin(['delete', other.id, '--yes', '--json']);
    assertExit(deletedJson, 0);
    assert.deepEqual(JSON.parse(deletedJson.stdout), { id: other.id, deleted: true });

    // API errors exit 1 and say what the service said.
    const gone = await kvAdmin(['show', id]);
    assertExit(gone, 1);
    assert.match(gone.stderr, /store_not_found \(404\)/);
    const goneJson = await kvAdmin(['rotate-token', id, '--json']);
    assertExit(goneJson, 1);
    assert.equal(JSON.parse(goneJson.stderr).error.code, 'store_not_found');
  });

  test('global options may come before the command, instead of the environment', async () => {
    const result = await kvAdmin(
      ['--endpoint', `${emulator.url}/`, '--admin-token', emulator.adminToken, 'create', '--region', 'ap-south-1', '--json'],
      { KV_ENDPOINT: null, KV_ADMIN_TOKEN: null },
    );
    assertExit(result, 0);
    const store = JSON.parse(result.stdout);
    assert.equal(store.region, 'ap-south-1');
    const withEquals = await kvAdmin([`--endpoint=${emulator.url}`, `--admin-token=${emulator.adminToken}`, 'show', store.id],
      { KV_ENDPOINT: null, KV_ADMIN_TOKEN: null });
    assertExit(withEquals, 0);
    assertExit(await kvAdmin(['delete', store.id, '--yes']), 0);
  });

  test('API refusals exit 1 with the code and message', async () => {
    const region = await kvAdmin(['create', '--region', 'mars-1']);
    assertExit(region, 1);
    assert.match(region.stderr, /invalid_region \(400\)/);
    assert.match(region.stderr, /eu-central-1/, 'the service lists the regions');
    const wrong = `wrong-${randomUUID()}`;
    const refused = await kvAdmin(['list'], { KV_ADMIN_TOKEN: wrong });
    assertExit(refused, 1);
    assert.match(refused.stderr, /invalid_token \(401\)/);
    assert.equal(refused.stderr.includes(wrong), false, 'the wrong token is not echoed');
    const unreachable = await kvAdmin(['list'], { KV_ENDPOINT: 'http://127.0.0.1:9' });
    assertExit(unreachable, 1);
    assert.match(unreachable.stderr, /could not reach the service at http:\/\/127\.0\.0\.1:9/);
  });
});

describe("a store's queue", SUITE, () => {
  test('queue shows the messages held, delayed and ready, and the counts', async () => {
    const store = await createStore(emulator);
    const enqueued = await call(emulator.url, '/v1/atomic', {
      token: store.accessToken,
      body: { enqueues: [{ value: 1, delay: 60_000 }] },
    });
    assert.equal(enqueued.status, 200, JSON.stringify(enqueued.body));
    assert.equal(enqueued.body.ok, true);

    const shown = await kvAdmin(['queue', store.id]);
    assertExit(shown, 0);
    assert.match(shown.stdout, new RegExp(`^Queue of store ${store.id}$`, 'm'));
    assert.match(shown.stdout, /^ {2}depth +1 /m);
    assert.match(shown.stdout, /^ {2}ready +0$/m);
    assert.match(shown.stdout, /^ {2}delayed +1$/m);
    assert.match(shown.stdout, /^ {2}in flight +0$/m);
    assert.match(shown.stdout, /^ {2}oldest +\d+(\.\d)? (ms|s) old$/m);
    for (const label of ['delivered', 'retried', 'dead-lettered', 'listeners']) {
      assert.match(shown.stdout, new RegExp(`^ {2}${label} +0\\b`, 'm'), label);
    }

    // --json: the API's answer.
    const json = await kvAdmin(['queue', store.id, '--json']);
    assertExit(json, 0);
    const figures = JSON.parse(json.stdout);
    const { oldestAgeMs, ...counts } = figures;
    assert.deepEqual(counts, { depth: 1, ready: 0, delayed: 1, inFlight: 0, delivered: 0, retried: 0, deadLettered: 0, listeners: 0 });
    assert.ok(Number.isSafeInteger(oldestAgeMs) && oldestAgeMs >= 0, `oldestAgeMs ${oldestAgeMs}`);

    // A store with an empty queue has no oldest message.
    const empty = await createStore(emulator);
    const none = await kvAdmin(['queue', empty.id]);
    assertExit(none, 0);
    assert.match(none.stdout, /^ {2}depth +0 /m);
    assert.match(none.stdout, /^ {2}oldest +none$/m);

    // An unknown store: the service's refusal, exit 1.
    const unknown = await kvAdmin(['queue', randomUUID()]);
    assertExit(unknown, 1);
    assert.match(unknown.stderr, /store_not_found \(404\)/);
  });
});

test('no output ever contains the admin token', () => {
  assert.ok(outputs.length > 20);
  for (const output of outputs) assert.equal(output.includes(emulator.adminToken), false, output);
});
