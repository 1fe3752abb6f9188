// The operator's views: the stores with their usage against their limits,
// a new store (its token shown once), and one store's details: usage over
// time, its queue, limits, a token rotation (the new token shown once) and
// deletion behind a typed confirmation. Only the admin routes of
// docs/http-api.md.

import { useEffect, useState } from 'preact/hooks';
import { REGIONS } from '../../shims/regions.js';
import { errorText, SessionEnded } from './api.js';
import { formatBytes, formatCount, formatDate, formatTime } from './format.js';
import { html } from './html.js';
import { QueuePanel } from './queue.js';
import { StoreUsage } from './usage.js';
import { ErrorLine, ShownOnce, UsageBar } from './widgets.js';

const PAGE_SIZE = 50;

// A failure worth showing: not the end of the session (the console is then
// at sign-in already).
function shown(error) {
  return error instanceof SessionEnded ? null : error;
}

export function StoresView({ connection }) {
  const [selected, setSelected] = useState(null);
  const [created, setCreated] = useState(null);
  if (selected) {
    return html`<${StoreDetail} connection=${connection} id=${selected} onBack=${() => setSelected(null)} />`;
  }
  return html`<div class="stores-view">
    ${created && html`<${ShownOnce} title=${`Store ${created.id} created in ${created.region}`} token=${created.accessToken}
      onDone=${() => setCreated(null)} />`}
    <${CreateStore} connection=${connection} onCreated=${setCreated} />
    <${StoreList} connection=${connection} onOpen=${setSelected} refresh=${created?.id} />
  </div>`;
}

function StoreList({ connection, onOpen, refresh }) {
  const [cursors, setCursors] = useState([null]); // the cursor of each page seen; the last is this page's
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors.at(-1);
  useEffect(() => {
    let live = true;
    setError(null);
    const query = `?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    connection.admin('GET', `/v1/admin/stores${query}`).then(
      (answer) => live && setPage({ ...answer, from: cursor }),
      (failure) => live && setError(shown(failure)),
    );
    return () => {
      live = false;
    };
  }, [cursor, refresh]);
  // The page read from this cursor; null while it is being read.
  const current = page && page.from === cursor ? page : null;
  return html`<section aria-label="stores">
    <h2>Stores</h2>
    <${ErrorLine} error=${error} />
    ${current === null ? !error && html`<p class="muted">Loading stores…</p>` : html`
      ${current.stores.length === 0 && html`<p class="muted">No stores yet: create one above.</p>`}
      ${current.stores.length > 0 && html`<table class="stores">
        <thead><tr><th>Store</th><th>Region</th><th>Created</th><th>Operations this month</th><th>Storage</th></tr></thead>
        <tbody>${current.stores.map((store) => html`<tr key=${store.id} data-store=${store.id}>
          <td><button type="button" class="link mono" onClick=${() => onOpen(store.id)}>${store.id}</button></td>
          <td>${store.region}</td>
          <td title=${formatTime(store.createdAt)}>${formatDate(store.createdAt)}</td>
          <td><${UsageBar} label="Operations" used=${store.usage.operations} limit=${store.limits.opsPerMonth} /></td>
          <td><${UsageBar} label="Storage" used=${store.usage.storageBytes} limit=${store.limits.storageBytes} bytes /></td>
        </tr>`)}</tbody>
      </table>`}
      <p class="pager">
        <button type="button" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>Page ${cursors.length}</span>
        <button type="button" disabled=${!current.cursor} onClick=${() => setCursors([...cursors, current.cursor])}>Next</button>
      </p>`}
  </section>`;
}

// A limit as typed: blank (the default, or unchanged), "unlimited", or a
// whole number. `{ value }`, `{ omitted: true }` or `{ error }`.
export function readLimit(text, name) {
  const trimmed = text.trim().replaceAll(',', '').replaceAll('_', '');
  if (trimmed === '') return { omitted: true };
  if (/^unlimited$/i.test(trimmed)) return { value: null };
  if (/^[0-9]+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed))) return { value: Number(trimmed) };
  return { error: `${name}: write a whole number, or "unlimited"` };
}

function readLimits(ops, storage) {
  const limits = {};
  for (const [name, field, text] of [['Operations per month', 'opsPerMonth', ops], ['Storage bytes', 'storageBytes', storage]]) {
    const limit = readLimit(text, name);
    if (limit.error) return { error: limit.error };
    if (!limit.omitted) limits[field] = limit.value;
  }
  return { limits };
}

function CreateStore({ connection, onCreated }) {
  const [region, setRegion] = useState('eu-central-1');
  const [ops, setOps] = useState('');
  const [storage, setStorage] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const { limits, error: invalid } = readLimits(ops, storage);
    if (invalid) return setError(invalid);
    setBusy(true);
    setError(null);
    try {
      const store = await connection.admin('POST', '/v1/admin/stores', { region, ...(Object.keys(limits).length ? { limits } : {}) });
      setOps('');
      setStorage('');
      onCreated(store);
    } catch (failure) {
      setError(shown(failure));
    } finally {
      setBusy(false);
    }
    return undefined;
  };
  return html`<details class="panel" open>
    <summary>Create a store</summary>
    <form class="inline-form" onSubmit=${submit} aria-label="create a store">
      <label class="field">Region
        <select name="region" value=${region} onChange=${(e) => setRegion(e.currentTarget.value)}>
          ${Object.keys(REGIONS).map((name) => html`<option value=${name}>${name}</option>`)}
        </select>
      </label>
      <label class="field">Operations per month
        <input name="opsPerMonth" placeholder="free tier: 10,000" value=${ops} onInput=${(e) => setOps(e.currentTarget.value)} />
      </label>
      <label class="field">Storage bytes
        <input name="storageBytes" placeholder="free tier: 10,485,760" value=${storage} onInput=${(e) => setStorage(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled=${busy}>Create store</button>
    </form>
    <${ErrorLine} error=${error} />
  </details>`;
}

function StoreDetail({ connection, id, onBack }) {
  const [store, setStore] = useState(null);
  const [error, setError] = useState(null);
  const [token, setToken] = useState(null);
  const [deleted, setDeleted] = useState(false);
  const [version, setVersion] = useState(0); // bumped to reload
  useEffect(() => {
    let live = true;
    connection.admin('GET', `/v1/admin/stores/${id}`).then(
      (answer) => live && setStore(answer),
      (failure) => live && setError(shown(failure)),
    );
    return () => {
      live = false;
    };
  }, [id, version]);
  const back = html`<p><button type="button" class="link" onClick=${onBack}>← All stores</button></p>`;
  if (deleted) return html`<div>${back}<p class="notice" role="status">Store ${id} was deleted, with its data and its token.</p></div>`;
  if (!store) return html`<div>${back}${error ? html`<${ErrorLine} error=${error} />` : html`<p class="muted">Loading…</p>`}</div>`;
  return html`<div class="store-detail">
    ${back}
    <h2 class="mono">${store.id}</h2>
    <p>Region <strong>${store.region}</strong>, created ${formatTime(store.createdAt)}.</p>
    ${token && html`<${ShownOnce} title="New access token" token=${token} onDone=${() => setToken(null)} />`}
    <${StoreUsage} key=${version} load=${() => connection.admin('GET', `/v1/admin/stores/${id}/usage`)} />
    <${QueuePanel} key=${version} load=${() => connection.admin('GET', `/v1/admin/stores/${id}/queue`)} />
    <${LimitsForm} connection=${connection} store=${store} onChanged=${(answer) => {
      setStore({ ...store, limits: answer.limits, usage: answer.usage });
      setVersion(version + 1);
    }} />
    <${RotateToken} connection=${connection} id=${id} onRotated=${setToken} />
    <${DeleteStore} connection=${connection} id=${id} onDeleted=${() => setDeleted(true)} />
  </div>`;
}

function LimitsForm({ connection, store, onChanged }) {
  const [ops, setOps] = useState('');
  const [storage, setStorage] = useState('');
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const show = (limit, format) => (limit === null ? 'unlimited' : format(limit));
  const submit = async (event) => {
    event.preventDefault();
    const { limits, error: invalid } = readLimits(ops, storage);
    if (invalid) return setError(invalid);
    if (Object.keys(limits).length === 0) return setError('Type a new limit first (a blank field stays as it is).');
    setError(null);
    try {
      const answer = await connection.admin('PATCH', `/v1/admin/stores/${store.id}`, { limits });
      setOps('');
      setStorage('');
      setDone('Limits changed.');
      onChanged(answer);
    } catch (failure) {
      setError(shown(failure));
    }
    return undefined;
  };
  return html`<section class="panel" aria-label="limits">
    <h3>Limits</h3>
    <p>Now: ${show(store.limits.opsPerMonth, formatCount)} operations a month, ${show(store.limits.storageBytes, formatBytes)} of storage.</p>
    <form class="inline-form" onSubmit=${submit} aria-label="change limits">
      <label class="field">Operations per month
        <input name="opsPerMonth" placeholder="unchanged" value=${ops} onInput=${(e) => setOps(e.currentTarget.value)} />
      </label>
      <label class="field">Storage bytes
        <input name="storageBytes" placeholder="unchanged" value=${storage} onInput=${(e) => setStorage(e.currentTarget.value)} />
      </label>
      <button type="submit">Change limits</button>
    </form>
    <p class="hint">A whole number, or <code>unlimited</code>. Lowering a limit below the usage refuses further requests; it deletes nothing.</p>
    ${done && !error && html`<p class="notice" role="status">${done}</p>`}
    <${ErrorLine} error=${error} />
  </section>`;
}

function RotateToken({ connection, id, onRotated }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState(null);
  const rotate = async () => {
    setError(null);
    try {
      const { accessToken } = await connection.admin('POST', `/v1/admin/stores/${id}/token`);
      setAsking(false);
      onRotated(accessToken);
    } catch (failure) {
      setError(shown(failure));
    }
  };
  return html`<section class="panel" aria-label="rotate token">
    <h3>Access token</h3>
    <p>Rotating makes a new token; the old one is refused from the next request on, and its open watches end.</p>
    ${asking
      ? html`<p class="actions"><button type="button" class="danger" onClick=${rotate}>Rotate now</button>
          <button type="button" onClick=${() => setAsking(false)}>Cancel</button></p>`
      : html`<button type="button" onClick=${() => setAsking(true)}>Rotate token…</button>`}
    <${ErrorLine} error=${error} />
  </section>`;
}

function DeleteStore({ connection, id, onDeleted }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    if (typed.trim() !== id) return setError('Type the store\'s id exactly to delete it.');
    setBusy(true);
    try {
      await connection.admin('DELETE', `/v1/admin/stores/${id}`);
      onDeleted();
    } catch (failure) {
      setError(shown(failure));
      setBusy(false);
    }
    return undefined;
  };
  return html`<section class="panel danger-zone" aria-label="delete store">
    <h3>Delete this store</h3>
    <p>Deletes every entry, the token and the limits. It cannot be undone. To confirm, type the store's id:${' '}
      <code class="mono">${id}</code></p>
    <form class="inline-form" onSubmit=${submit} aria-label="delete store">
      <input name="confirm" autocomplete="off" spellcheck=${false} placeholder="store id" value=${typed}
        onInput=${(e) => setTyped(e.currentTarget.value)} />
      <button type="submit" class="danger" disabled=${busy || typed.trim() !== id}>Delete store</button>
    </form>
    <${ErrorLine} error=${error} />
  </section>`;
}

