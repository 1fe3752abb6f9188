// The web console (docs/console.md) in a real browser: headless Chromium
// (Debian's `chromium`, installed by scripts/setup.js) driven by
// playwright-core against the emulator, the console calling the public
// HTTP API only. Screenshots for the docs go to build/console-*.png.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { connect, KvU64 } from '@own3d/kv';
import { buildConsole } from '../../scripts/build.js';
import { ROOT } from '../../scripts/emulator.js';
import { call, createStore, sharedEmulator } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = `${ROOT}build`;
const DOWNLOADS = `${ROOT}build/tmp/console-downloads`;
const UNLIMITED = { opsPerMonth: null, storageBytes: null };
const SESSION_KEY = 'kv-console-session';

let emulator;
let browser;

before(async () => {
  // The emulator serves build/assets. `npm test` bundled the console before
  // it started the shared one; a file run alone bundles it before starting
  // its own (well under a second). Never under a running emulator: wrangler
  // reloads on a change to its assets, which would cut other files' requests.
  if (!process.env.KV_TEST_ENDPOINT) buildConsole();
  mkdirSync(DOWNLOADS, { recursive: true });
  emulator = await sharedEmulator();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await emulator?.close();
});

/** A fresh tab (its own session storage) on the console; page errors fail the test. */
async function openConsole(t) {
  // A client address of its own (the Worker counts failed sign-ins per
  // address): the wrong tokens tried here and other test files' never meet.
  const address = `203.0.113.${1 + Math.floor(Math.random() * 254)}`;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 820 }, acceptDownloads: true, extraHTTPHeaders: { 'cf-connecting-ip': address },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  const origins = new Set();
  page.on('request', (request) => origins.add(new URL(request.url()).origin));
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], 'no page errors and no CSP violations');
    assert.deepEqual([...origins].filter((origin) => origin !== emulator.url && origin !== 'blob:'), [],
      'the page made requests to its own origin only');
  });
  await page.goto(`${emulator.url}/console/`);
  return page;
}

async function newStore() {
  const store = await createStore(emulator, 'eu-central-1', UNLIMITED);
  const kv = connect({ accessToken: store.accessToken, region: store.region, endpoint: emulator.url });
  return { store, kv };
}

async function signInStore(page, store) {
  await page.getByLabel('a store (its access token)').check();
  await page.getByLabel('Access token', { exact: true }).fill(store.accessToken);
  await page.getByLabel('Region of the store').selectOption(store.region);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function signInOperator(page, token = emulator.adminToken) {
  await page.getByLabel('the operator (the admin token)').check();
  await page.getByLabel('Admin token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
}

async function goToPrefix(page, prefixJson) {
  await page.getByLabel('prefix as JSON').fill(prefixJson);
  await page.getByRole('button', { name: 'Go', exact: true }).click();
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/console-${name}.png` });
}

const rows = (page) => page.locator('ol.key-rows > li');

// Puts `text` into a textarea at once, as a paste does. (Playwright's fill()
// of a text of thousands of lines into a textarea did not finish in 10 s
// here, while the page took well under 100 ms to take the same text: a cost
// of the test driver, not of the page.)
function paste(locator, text) {
  return locator.evaluate((area, value) => {
    area.value = value;
    area.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
  }, text);
}

test('the console is served at /console/ with a CSP that allows no inline script and no other origin', async (t) => {
  const redirect = await fetch(`${emulator.url}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 307);
  assert.equal(redirect.headers.get('location'), '/console/');
  for (const file of ['', 'console.js', 'console.css']) {
    const response = await fetch(`${emulator.url}/console/${file}`);
    assert.equal(response.status, 200, file);
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /connect-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/, 'no inline code and no other origin');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    if (file === '') {
      const page = await response.text();
      assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)/, 'the page has no inline script');
      assert.doesNotMatch(page, /<style|style=/, 'the page has no inline style');
      assert.doesNotMatch(page, /https?:\/\//, 'the page names no other host');
    }
  }
  // The Worker's routes are untouched by the assets.
  assert.equal((await fetch(`${emulator.url}/v1/health`)).status, 200);
  const page = await openConsole(t);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot(page, 'signin');
});

test('sign in as the operator, then as a store; wrong tokens get a clear message; the token stays in session storage', async (t) => {
  const { store } = await newStore();
  // Two stores with limits and some usage, for the bars of the screenshot.
  const busy = await createStore(emulator, 'eu-west-1', { opsPerMonth: 1000, storageBytes: 100_000 });
  const filled = await createStore(emulator, 'us-east-2', { opsPerMonth: 10_000, storageBytes: 40_000 });
  const busyKv = connect({ accessToken: busy.accessToken, region: busy.region, endpoint: emulator.url });
  const filledKv = connect({ accessToken: filled.accessToken, region: filled.region, endpoint: emulator.url });
  const many = busyKv.atomic();
  for (let i = 0; i < 800; i++) many.set(['events', i], i);
  await many.commit();
  for (let i = 0; i < 10; i++) await filledKv.set(['blobs', i], 'x'.repeat(3000));
  const page = await openConsole(t);
  await signInOperator(page, 'not-the-admin-token');
  await page.getByRole('alert').filter({ hasText: 'Wrong token: this is not the admin token' }).waitFor();
  await signInOperator(page);
  await page.getByRole('heading', { name: 'Stores' }).waitFor();
  await page.locator(`tr[data-store="${store.id}"]`).waitFor();
  assert.equal(await page.locator('.who').textContent(), 'Operator');
  assert.ok(!(await page.content()).includes(emulator.adminToken), 'the admin token is not in the page');
  await shot(page, 'stores');
  await signOut(page);
  assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY), null, 'signing out forgets the token');

  await page.getByLabel('a store (its access token)').check();
  await page.getByLabel('Access token', { exact: true }).fill(crypto.randomUUID());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong token: this access token opens no store' }).waitFor();
  await signInStore(page, store);
  await page.getByText('0 keys in this store').waitFor();
  assert.equal(await page.locator('.who').textContent(), 'Store in eu-central-1');
  const kept = await page.evaluate((key) => ({
    session: JSON.parse(sessionStorage.getItem(key)),
    local: localStorage.length,
    cookie: document.cookie,
    url: location.href,
  }), SESSION_KEY);
  assert.equal(kept.session.token, store.accessToken);
  assert.equal(kept.local, 0);
  assert.equal(kept.cookie, '');
  assert.ok(!kept.url.includes(store.accessToken));
  assert.ok(!(await page.content()).includes(store.accessToken), 'the token is not in the page');
});

test('the operator creates a store and sees its token once; changes limits, rotates the token and deletes with a typed confirmation', async (t) => {
  const page = await openConsole(t);
  await signInOperator(page);
  await page.getByLabel('create a store').locator('select[name=region]').selectOption('us-east-1');
  await page.getByLabel('create a store').getByLabel('Operations per month').fill('25,000');
  await page.getByRole('button', { name: 'Create store' }).click();
  const shown = page.locator('.shown-once');
  await shown.waitFor();
  const token = (await shown.locator('[data-token]').textContent()).trim();
  const id = /Store (\S+) created/.exec(await shown.locator('h3').textContent())[1];
  await shot(page, 'store-created');
  const usage = await call(emulator.url, '/v1/usage', { method: 'GET', token });
  assert.equal(usage.status, 200, 'the token shown works');
  assert.equal(usage.body.limits.opsPerMonth, 25_000);
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await shown.waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(token), 'once dismissed, the token is gone from the page');
  await page.reload();
  await page.getByRole('heading', { name: 'Stores' }).waitFor();
  assert.ok(!(await page.content()).includes(token), 'and is not shown again');

  await page.locator(`tr[data-store="${id}"] button`).click();
  await page.locator('.chart[data-drawn="30"]').waitFor();
  const limits = page.getByLabel('change limits');
  await limits.getByLabel('Operations per month').fill('abc');
  await limits.getByRole('button', { name: 'Change limits' }).click();
  await page.getByRole('alert').filter({ hasText: 'write a whole number, or "unlimited"' }).waitFor();
  await limits.getByLabel('Operations per month').fill('5000');
  await limits.getByLabel('Storage bytes').fill('unlimited');
  await limits.getByRole('button', { name: 'Change limits' }).click();
  await page.getByText('Now: 5,000 operations a month, unlimited of storage.').waitFor();
  await page.locator('.chart[data-drawn="30"]').waitFor();

  await page.getByRole('button', { name: 'Rotate token…' }).click();
  await page.getByRole('button', { name: 'Rotate now' }).click();
  const rotated = (await page.locator('.shown-once [data-token]').textContent()).trim();
  assert.notEqual(rotated, token);
  assert.equal((await call(emulator.url, '/v1/usage', { method: 'GET', token })).status, 401, 'the old token is refused');
  assert.equal((await call(emulator.url, '/v1/usage', { method: 'GET', token: rotated })).status, 200);
  await page.getByRole('button', { name: 'I have copied it' }).click();

  const remove = page.getByRole('button', { name: 'Delete store' });
  await page.getByPlaceholder('store id').fill(id.slice(0, 8));
  assert.equal(await remove.isDisabled(), true, 'deleting waits for the whole id');
  await page.getByPlaceholder('store id').fill(id);
  await remove.click();
  await page.getByText(`Store ${id} was deleted`).waitFor();
  const gone = await call(emulator.url, `/v1/admin/stores/${id}`, { method: 'GET', token: emulator.adminToken });
  assert.equal(gone.status, 404);
});

test('browse three levels of prefixes and page through 250 keys', async (t) => {
  const { store, kv } = await newStore();
  const seed = kv.atomic();
  for (let i = 0; i < 250; i++) seed.set(['app', 'users', i, 'profile'], { i });
  seed.set(['app', 'config'], { theme: 'dark' }).set(['billing', 1n], true);
  assert.equal((await seed.commit()).ok, true);

  const page = await openConsole(t);
  await signInStore(page, store);
  await page.getByText('252 keys in this store').waitFor();
  await rows(page).first().locator('button.part', { hasText: 'app' }).click();
  await page.getByText('251 keys under this prefix').waitFor();
  await rows(page).nth(1).locator('button.part', { hasText: 'users' }).click();
  await page.getByText('250 keys under this prefix').waitFor();
  const crumbs = page.getByRole('navigation', { name: 'prefix' }).locator('.part');
  assert.deepEqual(await crumbs.locator('.part-type').allTextContents(), ['string', 'string']);

  const pageLabel = page.locator('[data-page]');
  await pageLabel.filter({ hasText: 'Page 1: keys 1–100' }).waitFor();
  assert.equal(await rows(page).count(), 100);
  assert.deepEqual(await rows(page).first().locator('.part-type').allTextContents(), ['number', 'string']);
  await shot(page, 'keys');
  await page.getByRole('button', { name: 'Next' }).click();
  await pageLabel.filter({ hasText: 'Page 2: keys 101–200' }).waitFor();
  assert.equal(await rows(page).first().locator('.part-text').first().textContent(), '100');
  await page.getByRole('button', { name: 'Next' }).click();
  await pageLabel.filter({ hasText: 'Page 3: keys 201–250' }).waitFor();
  assert.equal(await rows(page).count(), 50);
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true, 'the last page has no next');
  await page.getByRole('button', { name: 'Previous' }).click();
  await pageLabel.filter({ hasText: 'Page 2: keys 101–200' }).waitFor();

  // The third level: one user's keys.
  await rows(page).filter({ hasText: '142' }).locator('button.part', { hasText: '142' }).click();
  await page.getByText('1 key under this prefix').waitFor();
  assert.deepEqual(await crumbs.locator('.part-text').allTextContents(), ['app', 'users', '142']);
  assert.deepEqual(await crumbs.locator('.part-type').allTextContents(), ['string', 'string', 'number']);
  await rows(page).first().getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: '"i": 142' }).waitFor();
  await shot(page, 'entry');
  // Back up one level through the crumbs.
  await crumbs.nth(1).click();
  await page.getByText('250 keys under this prefix').waitFor();
});

test('editing checks the version read: a change by another client mid-edit is a conflict, never overwritten; invalid JSON cannot be saved', async (t) => {
  const { store, kv } = await newStore();
  await kv.set(['doc', 'a'], { n: 1 });
  const page = await openConsole(t);
  await signInStore(page, store);
  await goToPrefix(page, '["doc"]');
  await rows(page).first().getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: '"n": 1' }).waitFor();
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  const editor = page.getByLabel('value as JSON', { exact: true });

  await editor.fill('{"n": 2,\n  "by" "console"}');
  const fault = page.locator('.json-error');
  await fault.filter({ hasText: 'line 2, column 8' }).waitFor();
  assert.match(await fault.textContent(), /expected ':' after the name/);
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true, 'invalid JSON cannot be saved');
  await shot(page, 'invalid-json');

  await editor.fill('{"n": 2, "by": "console"}');
  await page.locator('.json-ok').waitFor();
  const other = await kv.set(['doc', 'a'], { n: 3, by: 'another client' });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.conflict').filter({ hasText: 'Not saved: a conflict' }).waitFor();
  assert.match(await page.locator('.conflict').textContent(), new RegExp(`it is now version ${other.version}`));
  assert.deepEqual((await kv.get(['doc', 'a'])).value, { n: 3, by: 'another client' }, 'the other client\'s value stands');
  assert.equal(await editor.inputValue(), '{"n": 2, "by": "console"}', 'the edit is kept in the editor');
  await page.locator('pre.value').filter({ hasText: 'another client' }).waitFor();
  await shot(page, 'conflict');

  await page.getByRole('button', { name: 'Edit the current value' }).click();
  await page.getByLabel('value as JSON', { exact: true }).fill('{"n": 4, "by": "console"}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/Saved as version/).waitFor();
  assert.deepEqual((await kv.get(['doc', 'a'])).value, { n: 4, by: 'console' });

  // A new entry never replaces one at its key; a free key is created with its expiry.
  await page.getByRole('button', { name: 'New entry' }).click();
  const form = page.getByRole('form', { name: 'new entry' });
  await form.getByLabel('Key (a JSON array of parts)').fill('["doc", "a"]');
  await form.getByLabel('new value as JSON').fill('{"overwrite": true}');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'An entry exists at this key already' }).waitFor();
  assert.deepEqual((await kv.get(['doc', 'a'])).value, { n: 4, by: 'console' });
  await form.getByLabel('Key (a JSON array of parts)').fill('["doc", "b", {"bigint": "7"}]');
  await form.getByLabel('Expires in (seconds; blank: never)').fill('3600');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.locator('.entry-meta dd').filter({ hasText: '(in 59 minutes)' }).or(page.locator('.entry-meta dd').filter({ hasText: '(in 1 hour)' })).waitFor();
  const created = await kv.get(['doc', 'b', 7n]);
  assert.deepEqual(created.value, { overwrite: true });
  assert.ok(created.expiresAt > Date.now() + 3500_000);

  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator('[data-missing]').waitFor();
  assert.equal((await kv.get(['doc', 'b', 7n])).version, null);
});

test('key parts and values holding markup are shown as text, never run', async (t) => {
  const { store, kv } = await newStore();
  const payloads = [
    '<script>window.__xss = "script"</script>',
    '<img src=x onerror="window.__xss = \'img\'">',
    '"><svg onload="window.__xss = \'svg\'">',
  ];
  for (const [i, payload] of payloads.entries()) await kv.set(['xss', payload], { html: payload, i });
  const page = await openConsole(t);
  await signInStore(page, store);
  await goToPrefix(page, '["xss"]');
  await page.getByText('3 keys under this prefix').waitFor();
  await page.locator('[data-page]').filter({ hasText: 'keys 1–3' }).waitFor();
  for (const payload of payloads) {
    const part = page.locator('.part-text', { hasText: payload });
    assert.equal(await part.count(), 1, `the part ${payload} is shown as text in its row`);
  }
  await rows(page).filter({ hasText: '<img' }).getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: 'onerror' }).waitFor();
  assert.match(await page.locator('pre.value').textContent(), /"html": "<img src=x onerror=\\"window.__xss = 'img'\\">"/);
  assert.deepEqual(await page.locator('.key-line .part-text').allTextContents(), ['xss', payloads[1]]);
  await shot(page, 'xss');
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  assert.match(await page.getByLabel('value as JSON', { exact: true }).inputValue(), /<img src=x onerror=/);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no payload ran');
  assert.equal(await page.locator('#app img, #app svg').count(), 0, 'no element was made from a payload');
  assert.equal(await page.locator('script').count(), 1, 'the page\'s own script only');
});

test('an open entry is watched live: another client\'s write shows at once', async (t) => {
  const { store, kv } = await newStore();
  const first = await kv.set(['live', 'counter'], { n: 0 });
  const page = await openConsole(t);
  await signInStore(page, store);
  await goToPrefix(page, '["live"]');
  await rows(page).first().getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: '"n": 0' }).waitFor();
  await page.getByLabel('Watch live').check();
  await page.locator(`[data-live-version="${first.version}"]`).waitFor();
  const next = await kv.set(['live', 'counter'], { n: 1, from: 'node' });
  await page.locator(`[data-live-version="${next.version}"]`).waitFor();
  await page.locator('pre.value').filter({ hasText: '"from": "node"' }).waitFor();
  assert.equal(await page.locator('[data-version]').textContent(), next.version);
  await shot(page, 'watch');
  await kv.delete(['live', 'counter']);
  await page.locator('[data-missing]').waitFor();
  await page.getByLabel('Watch live').uncheck();
});

// Pixels of the canvas near `rgb`, the colour of a series.
function countPixels(page, selector, [r, g, b]) {
  return page.evaluate(({ selector, r, g, b }) => {
    const canvas = document.querySelector(`${selector} canvas`);
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - r) < 30 && Math.abs(data[i + 1] - g) < 30 && Math.abs(data[i + 2] - b) < 30 && data[i + 3] > 200) n++;
    }
    return n;
  }, { selector, r, g, b });
}

test('the usage chart draws the last 30 days for the store and for the operator', async (t) => {
  const { store, kv } = await newStore();
  for (let i = 0; i < 20; i++) await kv.set(['usage', i], 'x'.repeat(500));
  const page = await openConsole(t);
  await signInStore(page, store);
  await page.getByRole('button', { name: 'Usage', exact: true }).click();
  await page.locator('.chart[data-drawn="30"]').waitFor();
  const today = new Date().toISOString().slice(0, 10);
  const todayRow = page.locator('table.daily tr', { hasText: today });
  assert.equal(await todayRow.count(), 1);
  assert.ok(await countPixels(page, '.chart', [37, 99, 235]) > 100, 'the operations bar of today is drawn');
  assert.ok(await countPixels(page, '.chart', [194, 65, 12]) > 100, 'the storage series is drawn');
  const { daily } = await kv.usage();
  assert.equal(daily.length, 30);
  const points = await page.locator('table.daily tbody tr').count();
  assert.equal(points, 30, 'one point a day');
  await page.getByRole('meter', { name: 'Operations this month' }).waitFor();
  await shot(page, 'usage');
  await signOut(page);

  await signInOperator(page);
  await page.locator(`tr[data-store="${store.id}"] button`).click();
  await page.locator('.chart[data-drawn="30"]').waitFor();
  assert.ok(await countPixels(page, '.chart', [194, 65, 12]) > 100);
  await shot(page, 'store-detail');
  await page.locator('table.daily tr', { hasText: today }).waitFor({ state: 'attached' });
});

test('the queue panel shows the messages a store holds, to the store and to the operator', async (t) => {
  const { store } = await newStore();
  const enqueued = await call(emulator.url, '/v1/atomic', {
    token: store.accessToken,
    body: { enqueues: [{ value: 1, delay: 60_000 }, { value: 2, delay: 60_000 }] },
  });
  assert.equal(enqueued.status, 200, JSON.stringify(enqueued.body));
  const figure = (page, name) => page.getByRole('region', { name: 'queue' }).locator(`dd[data-figure="${name}"]`);
  const page = await openConsole(t);
  await signInStore(page, store);
  await page.getByRole('button', { name: 'Usage', exact: true }).click();
  await figure(page, 'depth').waitFor();
  assert.equal(await figure(page, 'depth').textContent(), '2');
  assert.equal(await figure(page, 'delayed').textContent(), '2');
  assert.equal(await figure(page, 'ready').textContent(), '0');
  assert.match(await figure(page, 'oldestAgeMs').textContent(), /^\d+ seconds?$/);
  await signOut(page);

  await signInOperator(page);
  await page.locator(`tr[data-store="${store.id}"] button`).click();
  await figure(page, 'depth').waitFor();
  assert.equal(await figure(page, 'depth').textContent(), '2');
  assert.equal(await figure(page, 'delayed').textContent(), '2');
  assert.equal(await figure(page, 'listeners').textContent(), '0');
  await page.getByRole('region', { name: 'queue' }).scrollIntoViewIfNeeded();
  await shot(page, 'queue');
});

test('export a store as NDJSON and import it into another: the entries round-trip', async (t) => {
  const { store: from, kv: source } = await newStore();
  const { store: into, kv: target } = await newStore();
  const seed = source.atomic();
  for (let i = 0; i < 600; i++) seed.set(['items', i], { i, name: `item ${i}` });
  assert.equal((await seed.commit()).ok, true);
  await source.set(['kinds', 12345678901234567890n], 'a bigint part');
  await source.set(['kinds', new Uint8Array([0, 1, 255])], new Uint8Array([9, 8, 7]));
  await source.atomic().sum(['kinds', 'counter'], new KvU64(42n)).commit();
  await source.set(['kinds', 'expiring'], { soon: true }, { expireIn: 3_600_000 });
  await source.set(['kinds', 'large'], { text: 'x'.repeat(16_000) });
  await source.set(['kinds', '<b>markup</b>'], '<script>alert(1)</script>');

  const page = await openConsole(t);
  await signInStore(page, from);
  await page.getByRole('button', { name: 'Export / import' }).click();
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export NDJSON' }).click();
  const download = await downloading;
  const file = `${DOWNLOADS}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  await page.getByText(/Exported 606 entries under \[\]/).waitFor();
  const exported = readFileSync(file, 'utf8');
  const expected = [];
  for await (const line of source.export()) expected.push(line);
  assert.equal(exported, expected.join(''), 'the download is the client\'s export');
  await signOut(page);

  await signInStore(page, into);
  await page.getByRole('button', { name: 'Export / import' }).click();
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText(/Imported 606 entries from .* in 2 batches/).waitFor();
  await shot(page, 'import');
  const copied = [];
  for await (const line of target.export()) copied.push(JSON.parse(line));
  const original = expected.map((line) => JSON.parse(line));
  const comparable = ({ version, expiresAt, ...rest }) => ({ ...rest, expires: expiresAt !== undefined });
  assert.deepEqual(copied.map(comparable), original.map(comparable));
  const expiring = (entries) => entries.find((entry) => entry.expiresAt !== undefined).expiresAt;
  assert.ok(Math.abs(expiring(copied) - expiring(original)) < 10_000, 'the expiry is kept');

  // A broken file is refused with the line that is wrong.
  const broken = `${DOWNLOADS}/broken.ndjson`;
  writeFileSync(broken, `${expected[0]}{"key": ["x"]\n`);
  await page.locator('input[type=file]').setInputFiles(broken);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'line 2' }).waitFor();
});

test('a store\'s token reaches neither another store\'s keys nor the admin views', async (t) => {
  const { store: a, kv: kvA } = await newStore();
  const { kv: kvB } = await newStore();
  await kvA.set(['mine'], 'a');
  await kvB.set(['secret-of-b'], 'b');
  const page = await openConsole(t);
  await signInStore(page, a);
  await page.getByText('1 key in this store').waitFor();
  await page.locator('[data-page]').filter({ hasText: 'keys 1–1' }).waitFor();
  assert.deepEqual(await page.getByRole('navigation', { name: 'views' }).getByRole('button').allTextContents(),
    ['Keys', 'Usage', 'Export / import'], 'no operator view');
  assert.deepEqual(await rows(page).locator('.part-text').allTextContents(), ['mine']);
  await goToPrefix(page, '["secret-of-b"]');
  await page.getByText('0 keys under this prefix').waitFor();
  // The API refuses the admin routes to the token the page holds, whatever the page does.
  const answers = await page.evaluate(async (key) => {
    const { token } = JSON.parse(sessionStorage.getItem(key));
    const headers = { authorization: `Bearer ${token}` };
    const stores = await fetch('/v1/admin/stores', { headers });
    const usage = await fetch(`/v1/admin/stores/${crypto.randomUUID()}/usage`, { headers });
    return [stores.status, usage.status];
  }, SESSION_KEY);
  assert.deepEqual(answers, [401, 401]);
  await signOut(page);
  await signInOperator(page, a.accessToken);
  await page.getByRole('alert').filter({ hasText: 'A store\'s access token cannot sign in as the operator' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Stores' }).count(), 0);
});

test('an expired session and a rotated token return to sign-in', async (t) => {
  const { store } = await newStore();
  const page = await openConsole(t);
  await signInStore(page, store);
  await page.getByText('0 keys in this store').waitFor();
  // Every answered request extends the session: let the page's loads finish
  // first, or a late one undoes the expiry set here.
  await page.waitForLoadState('networkidle');
  await page.evaluate((key) => {
    const session = JSON.parse(sessionStorage.getItem(key));
    sessionStorage.setItem(key, JSON.stringify({ ...session, expiresAt: Date.now() - 1 }));
  }, SESSION_KEY);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('status').filter({ hasText: 'Your session expired' }).waitFor();
  assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY), null);

  await signInStore(page, store);
  await page.getByText('0 keys in this store').waitFor();
  const rotated = await call(emulator.url, `/v1/admin/stores/${store.id}/token`, { token: emulator.adminToken });
  assert.equal(rotated.status, 200);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('status').filter({ hasText: 'no longer accepts this token' }).waitFor();
  assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY), null);
});

test('16 KiB values and deep prefixes stay responsive', async (t) => {
  const { store, kv } = await newStore();
  const large = Array.from({ length: 680 }, (_, i) => ({ id: i, tag: `t${i}` }));
  assert.ok(JSON.stringify(large).length > 15_500 && JSON.stringify(large).length <= 16_384);
  await kv.set(['big'], large);
  const deep = Array.from({ length: 120 }, (_, i) => `level${i}`);
  await kv.set(deep, 'at the bottom');

  const page = await openConsole(t);
  await signInStore(page, store);
  await page.getByText('2 keys in this store').waitFor();
  let started = Date.now();
  await rows(page).filter({ hasText: 'big' }).getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: '"tag": "t679"' }).waitFor();
  const openMs = Date.now() - started;
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  const editor = page.getByLabel('value as JSON', { exact: true });
  const text = await editor.inputValue();
  started = Date.now();
  await paste(editor, text.slice(0, -1)); // without the closing bracket
  await page.locator('.json-error').filter({ hasText: /line \d+, column/ }).waitFor();
  await paste(editor, text);
  await page.locator('.json-ok').waitFor();
  const editMs = Date.now() - started;

  started = Date.now();
  await goToPrefix(page, JSON.stringify(deep.slice(0, 119)));
  await page.getByText('1 key under this prefix').waitFor();
  const deepMs = Date.now() - started;
  assert.equal(await page.getByRole('navigation', { name: 'prefix' }).locator('.part').count(), 119);
  await rows(page).first().getByRole('button', { name: 'Open' }).click();
  await page.locator('pre.value').filter({ hasText: 'at the bottom' }).waitFor();
  await shot(page, 'deep');
  t.diagnostic(`16 KiB value opened in ${openMs} ms, validated twice in ${editMs} ms; 119-part prefix in ${deepMs} ms`);
  for (const ms of [openMs, editMs, deepMs]) assert.ok(ms < 3000, `${ms} ms`);
});
