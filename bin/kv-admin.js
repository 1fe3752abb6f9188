#!/usr/bin/env node
// kv-admin: the operator's command line for the key-value service's admin
// API (docs/operations.md, routes in shims/admin.js). ESM, no dependencies,
// Node >= 20.
//
// Exit codes: 0 done, 1 the service refused the request or could not be
// reached, 2 the command line was wrong (nothing was sent).
//
// The admin token is sent only in the Authorization header and is never
// printed: every line this tool writes passes through redact(). The access
// tokens of `create` and `rotate-token` are printed, once: the service keeps
// only their hashes, so this is the only time anyone sees them.

import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';

const EXIT_OK = 0;
const EXIT_API = 1;
const EXIT_USAGE = 2;

const MAX_LIMIT = 2 ** 53 - 1; // the largest limit the service takes
const STORE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BYTE_UNITS = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const REQUEST_TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A mistake on the command line: nothing was sent. */
class UsageError extends Error {}

/** The service refused the request, or could not be reached. */
class ApiError extends Error {}

// ---- Commands ----

const GLOBAL_OPTIONS = {
  endpoint: { type: 'string' },
  'admin-token': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `Options for every command:
  --endpoint URL      the service's URL (default: $KV_ENDPOINT)
  --admin-token T     the admin token (default: $KV_ADMIN_TOKEN; prefer the
                      variable, since other users can see arguments in \`ps\`)
  --json              print the service's JSON answer instead of text
  -h, --help          show help`;

const LIMIT_HELP = `  --ops N|unlimited          operations per UTC calendar month
  --storage BYTES|unlimited  bytes of stored keys and values; a whole number
                             of bytes, or with KiB, MiB or GiB (e.g. 10MiB)`;

const COMMANDS = {
  create: {
    synopsis: 'create --region R [--ops N] [--storage BYTES]',
    summary: 'create a store; prints its access token, once',
    details: `Creates a store in region R. Limits left out get the free tier's
(10000 operations a month, 10485760 bytes).

${LIMIT_HELP}

The access token is printed once: the service keeps only its hash. Store it
in your secret manager now; if it is lost, use rotate-token.`,
    options: { region: { type: 'string' }, ops: { type: 'string' }, storage: { type: 'string' } },
    positionals: [],
    run: createStore,
  },
  list: {
    synopsis: 'list [--limit N] [--cursor C] [--all]',
    summary: 'list stores with their limits and usage',
    details: `Lists stores in id order, a page at a time.

  --limit N    stores per page, 1 to 1000 (default: 50)
  --cursor C   continue after a page: the cursor the previous page gave
  --all        follow the cursors and list every store`,
    options: { limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } },
    positionals: [],
    run: listStores,
  },
  show: {
    synopsis: 'show ID',
    summary: "show a store's region, limits and usage this month",
    details: "Shows store ID: its region, creation time, limits and this month's usage.",
    options: {},
    positionals: ['ID'],
    run: showStore,
  },
  queue: {
    synopsis: 'queue ID',
    summary: "show a store's queue: messages held, their age, deliveries",
    details: `Shows the queue of store ID (docs/queues.md): the messages it holds
(ready, delayed and in flight), the age of the oldest, the deliveries
acknowledged, retried and dead-lettered since the store was created, and the
listeners open now.`,
    options: {},
    positionals: ['ID'],
    run: showQueue,
  },
  limits: {
    synopsis: 'limits ID [--ops N|unlimited] [--storage BYTES|unlimited]',
    summary: "change a store's limits",
    details: `Changes the limits of store ID; a limit left out stays as it is. A
raised limit applies from the store's next request on.

${LIMIT_HELP}`,
    options: { ops: { type: 'string' }, storage: { type: 'string' } },
    positionals: ['ID'],
    run: changeLimits,
  },
  'rotate-token': {
    synopsis: 'rotate-token ID',
    summary: 'give a store a new access token; the old one stops working',
    details: `Gives store ID a new access token and prints it, once. The old token
is refused from the next request on: deploy the new one first where you can,
then rotate again if the old one may have leaked.`,
    options: {},
    positionals: ['ID'],
    run: rotateToken,
  },
  delete: {
    synopsis: 'delete ID [--yes]',
    summary: 'delete a store and all its data',
    details: `Deletes store ID and all its data, for good; its access token is
refused from then on. Asks first unless --yes is given (and needs --yes when
not run in a terminal).

  --yes   do not ask`,
    options: { yes: { type: 'boolean' } },
    positionals: ['ID'],
    run: deleteStore,
  },
};

async function createStore({ values, api }) {
  if (values.region === undefined || values.region === '') {
    throw new UsageError('create needs --region, e.g. --region eu-central-1 (the service lists its regions if the name is wrong)');
  }
  const body = { region: values.region };
  const limits = limitsFrom(values);
  if (limits) body.limits = limits;
  const store = await api('POST', '/v1/admin/stores', body);
  return [
    `Created store ${store.id} in ${store.region}.`,
    ...limitLines(store.limits),
    '',
    'Access token (shown once: the service keeps only its hash; store it in your secret manager now):',
    `  ${store.accessToken}`,
  ];
}

async function listStores({ values, api, json }) {
  const limit = values.limit === undefined ? undefined : wholeNumber('--limit', values.limit, { min: 1, max: 1000 });
  const stores = [];
  let cursor = values.cursor;
  for (;;) {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `/v1/admin/stores${query.size ? `?${query}` : ''}`);
    stores.push(...page.stores);
    cursor = page.cursor ?? null;
    if (!values.all || !cursor) break;
  }
  if (json) return { json: { stores, cursor } };
  const lines = stores.length === 0 ? ['No stores.'] : table(
    ['ID', 'REGION', 'CREATED', 'OPERATIONS THIS MONTH', 'STORAGE BYTES'],
    stores.map((store) => [
      store.id,
      store.region,
      store.createdAt,
      `${store.usage?.operations} of ${limitText(store.limits?.opsPerMonth)}`,
      `${store.usage?.storageBytes} of ${limitText(store.limits?.storageBytes)}`,
    ]),
  );
  const notes = cursor ? [`More stores follow: kv-admin list --cursor=${cursor}${limit ? ` --limit ${limit}` : ''} (or --all)`] : [];
  return { lines, notes };
}

async function showStore({ id, api }) {
  return describeLines(await api('GET', `/v1/admin/stores/${id}`));
}

async function showQueue({ id, api }) {
  const queue = await api('GET', `/v1/admin/stores/${id}/queue`);
  return [
    `Queue of store ${id}`,
    `  depth          ${queue.depth} (every message held)`,
    `  ready          ${queue.ready}`,
    `  delayed        ${queue.delayed}`,
    `  in flight      ${queue.inFlight}`,
    `  oldest         ${queue.oldestAgeMs === null ? 'none' : `${ageText(queue.oldestAgeMs)} old`}`,
    `  delivered      ${queue.delivered} (since the store was created)`,
    `  retried        ${queue.retried}`,
    `  dead-lettered  ${queue.deadLettered}`,
    `  listeners      ${queue.listeners}`,
  ];
}

async function changeLimits({ id, values, api }) {
  const limits = limitsFrom(values);
  if (!limits) throw new UsageError('limits needs --ops, --storage or both, e.g. kv-admin limits ID --ops 100000');
  const store = await api('PATCH', `/v1/admin/stores/${id}`, { limits });
  return [`Limits of store ${store.id} changed.`, ...describeLines(store).slice(1)];
}

async function rotateToken({ id, api }) {
  const { accessToken } = await api('POST', `/v1/admin/stores/${id}/token`);
  return [
    `New access token of store ${id} (shown once; the old token is refused from now on):`,
    `  ${accessToken}`,
  ];
}

async function deleteStore({ id, values, api }) {
  if (!values.yes) await confirm(`Delete store ${id} and all its data? This cannot be undone. [y/N] `);
  await api('DELETE', `/v1/admin/stores/${id}`);
  return [`Deleted store ${id} and all its data.`];
}

// ---- Output ----

function describeLines(store) {
  const { limits, usage } = store;
  return [
    `Store ${store.id}`,
    `  region      ${store.region}`,
    `  created     ${store.createdAt}`,
    `  operations  ${usage.operations} of ${limitText(limits.opsPerMonth)} in ${usage.month} (UTC); the count resets at ${usage.resetsAt}`,
    `  storage     ${usage.storageBytes} of ${limitText(limits.storageBytes)} bytes`,
  ];
}

function limitLines(limits) {
  return [
    `  operations  ${limitText(limits.opsPerMonth)} per month`,
    `  storage     ${limitText(limits.storageBytes)} bytes`,
  ];
}

/** An age in ms as "850 ms", "5.2 s", "3 min 05 s", "2 h 03 min" or "4 d 02 h". */
function ageText(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const units = [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]];
  const seconds = Math.floor(ms / 1000);
  const first = units.findIndex(([, size]) => seconds >= size);
  const [[bigName, bigSize], [smallName, smallSize]] = units.slice(first, first + 2);
  const small = Math.floor((seconds % bigSize) / smallSize);
  return `${Math.floor(seconds / bigSize)} ${bigName} ${String(small).padStart(2, '0')} ${smallName}`;
}

function limitText(limit) {
  return limit === null ? 'unlimited' : String(limit);
}

function table(header, rawRows) {
  const rows = rawRows.map((row) => row.map((cell) => (typeof cell === 'string' ? cell : JSON.stringify(cell) ?? '')));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

// ---- Arguments ----

/** The {opsPerMonth, storageBytes} given by --ops and --storage, or null if neither. */
function limitsFrom(values) {
  const limits = {};
  if (values.ops !== undefined) limits.opsPerMonth = limitValue('--ops', values.ops, false);
  if (values.storage !== undefined) limits.storageBytes = limitValue('--storage', values.storage, true);
  return Object.keys(limits).length > 0 ? limits : null;
}

function limitValue(option, text, bytes) {
  if (text.trim().toLowerCase() === 'unlimited') return null;
  const match = /^\s*([\d_]+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match?.[2].toLowerCase() ?? '';
  if (match && (unit === '' || (bytes && Object.hasOwn(BYTE_UNITS, unit)))) {
    const number = wholeNumber(option, match[1], { min: 0, max: Number.MAX_SAFE_INTEGER });
    const value = number * (unit ? BYTE_UNITS[unit] : 1);
    if (value <= MAX_LIMIT) return value;
  }
  const form = bytes ? 'a whole number of bytes (optionally with KiB, MiB or GiB)' : 'a whole number';
  throw new UsageError(`${option} must be ${form} up to 2^53 - 1, or "unlimited"; got "${text}"`);
}

function wholeNumber(option, text, { min, max }) {
  const digits = text.replaceAll('_', '');
  const number = /^\d+$/.test(digits) ? Number(digits) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return number;
}

function storeId(text) {
  const id = text.trim().toLowerCase();
  if (!STORE_ID.test(id)) {
    throw new UsageError(`a store ID is a UUID like 5d0f6b2e-8c1a-4f7e-9a3b-2c4d6e8f0a1b (as create and list print it); got "${text}"`);
  }
  return id;
}

// The command word: the first argument that is neither an option nor the
// value of a global option.
function findCommand(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return argv[i + 1] === undefined ? -1 : i + 1;
    if (arg === '--endpoint' || arg === '--admin-token') {
      i++;
    } else if (!arg.startsWith('-')) {
      return i;
    }
  }
  return -1;
}

function parse(argv, command) {
  const spec = COMMANDS[command];
  try {
    return parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...(spec?.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(error.message)?.[1] ?? 'given';
      const where = spec ? `for ${command}` : 'here';
      throw new UsageError(`unknown option ${option} ${where}; see kv-admin ${spec ? `${command} ` : ''}--help`);
    }
    // Node's messages name the option, never its value.
    throw new UsageError(error.message.split('\n')[0]);
  }
}

function mainHelp() {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.synopsis.length));
  return `kv-admin: manage the stores of the key-value service through its admin API.

Usage: kv-admin <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.synopsis.padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}

Run kv-admin <command> --help for one command. Exit codes: 0 done, 1 the
service refused or could not be reached, 2 a usage error (nothing was sent).`;
}

function commandHelp(name) {
  const command = COMMANDS[name];
  return `Usage: kv-admin ${command.synopsis}

${command.details}

${GLOBAL_HELP}`;
}

// ---- The service ----

function connection(values) {
  const endpointText = values.endpoint ?? process.env.KV_ENDPOINT;
  if (!endpointText) {
    throw new UsageError("no endpoint: pass --endpoint URL or set KV_ENDPOINT to the service's URL (e.g. https://kv.example.com)");
  }
  let endpoint;
  try {
    endpoint = new URL(endpointText);
  } catch {
    throw new UsageError(`the endpoint "${endpointText}" is not a URL; give one like https://kv.example.com`);
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new UsageError(`the endpoint must be an http(s) URL; got "${endpointText}"`);
  }
  if (endpoint.protocol === 'http:' && !LOCAL_HOSTS.has(endpoint.hostname)) {
    throw new UsageError(`refusing to send the admin token over plain http to ${endpoint.hostname}: use https (http is only for localhost)`);
  }
  const adminToken = values['admin-token'] ?? process.env.KV_ADMIN_TOKEN;
  if (!adminToken) {
    throw new UsageError('no admin token: set KV_ADMIN_TOKEN (or pass --admin-token) to the service\'s admin secret');
  }
  const base = endpoint.href.replace(/\/+$/, '');
  return { base, adminToken };
}

/** Sends one admin request; returns the JSON answer or throws ApiError. */
function apiClient({ base, adminToken }) {
  return async (method, path, body) => {
    const url = `${base}${path}`;
    let response;
    let text;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual', // never carry the admin token to another address
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      const reason = error.name === 'TimeoutError'
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} seconds`
        : error.cause?.code ?? error.cause?.message ?? error.message;
      throw new ApiError(`could not reach the service at ${base} (${method} ${path}): ${reason}`);
    }
    if (response.status >= 300 && response.status < 400) {
      throw new ApiError(`${method} ${url} was redirected (${response.status}) to ${response.headers.get('location')}; pass the final URL as --endpoint`);
    }
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ApiError(`${method} ${url} answered ${response.status} with a body that is not JSON ` +
        `(${JSON.stringify(text.slice(0, 80))}); is ${base} the key-value service?`);
    }
    if (!response.ok) {
      const { code = `http_${response.status}`, message = text.slice(0, 200) } = answer?.error ?? {};
      const error = new ApiError(`${code} (${response.status}): ${message}`);
      error.answer = answer;
      throw error;
    }
    return answer;
  };
}

async function confirm(question) {
  if (!process.stdin.isTTY) {
    throw new UsageError('delete needs --yes when it is not run in a terminal (it deletes the store and all its data)');
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(question);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('not deleted: not confirmed (pass --yes to skip the question)');
  } finally {
    prompt.close();
  }
}

// ---- Main ----

// Everything written goes through here, so the admin token never is.
function redact(text, secrets) {
  let safe = text;
  for (const secret of secrets) if (secret.length >= 6) safe = safe.replaceAll(secret, '<admin token>');
  return safe;
}

// Admin tokens this run may know, taken from the raw arguments too, so a
// token in a mistyped command line is not echoed either.
function knownSecrets(argv) {
  const secrets = [];
  if (process.env.KV_ADMIN_TOKEN) secrets.push(process.env.KV_ADMIN_TOKEN);
  argv.forEach((arg, i) => {
    if (arg === '--admin-token' && argv[i + 1]) secrets.push(argv[i + 1]);
    if (arg.startsWith('--admin-token=')) secrets.push(arg.slice('--admin-token='.length));
  });
  return secrets;
}

async function main(argv) {
  const secrets = knownSecrets(argv);
  const out = (line) => process.stdout.write(`${redact(line, secrets)}\n`);
  const err = (line) => process.stderr.write(`${redact(line, secrets)}\n`);
  let json = argv.includes('--json');
  try {
    const at = findCommand(argv);
    let name = at < 0 ? undefined : argv[at];
    let rest = at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
    if (name === 'help') {
      // kv-admin help [command]
      const topic = rest.find((arg) => !arg.startsWith('-'));
      name = topic;
      rest = ['--help'];
    }
    if (name !== undefined && !Object.hasOwn(COMMANDS, name)) {
      throw new UsageError(`unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(', ')} (kv-admin --help)`);
    }
    const { values, positionals } = parse(rest, name);
    json = Boolean(values.json);
    if (values.help) {
      out(name ? commandHelp(name) : mainHelp());
      return EXIT_OK;
    }
    if (name === undefined) {
      err(mainHelp());
      return EXIT_USAGE;
    }
    const command = COMMANDS[name];
    if (positionals.length < command.positionals.length) {
      throw new UsageError(`${name} needs the store ${command.positionals[positionals.length]}: kv-admin ${command.synopsis}`);
    }
    if (positionals.length > command.positionals.length) {
      throw new UsageError(`unexpected argument "${positionals[command.positionals.length]}"; usage: kv-admin ${command.synopsis}`);
    }
    const id = command.positionals.length > 0 ? storeId(positionals[0]) : undefined;
    // Checked before anything is sent, so a usage error never costs a request.
    if (command.options.ops || command.options.storage) limitsFrom(values);
    const api = apiClient(connection(values));
    let raw;
    const recording = async (...args) => (raw = await api(...args));
    const result = await command.run({ id, values, api: recording, json });
    if (json) {
      out(JSON.stringify(result.json ?? raw, null, 2));
    } else {
      for (const line of Array.isArray(result) ? result : result.lines) out(line);
      for (const note of result.notes ?? []) err(note);
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`kv-admin: ${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof ApiError) {
      if (json && error.answer) {
        err(JSON.stringify(error.answer, null, 2));
      } else {
        err(`kv-admin: ${error.message}`);
      }
      return EXIT_API;
    }
    err(`kv-admin: unexpected failure: ${error?.stack ?? error}`);
    return EXIT_API;
  }
}

// A reader that went away (kv-admin list | head) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => process.exit(error.code === 'EPIPE' ? EXIT_OK : EXIT_API));
}
const code = await main(process.argv.slice(2));
// Exit once the output is flushed, without waiting for idle keep-alive
// connections to close.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
