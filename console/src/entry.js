// One entry: its value (formatted JSON), version and expiry; editing as JSON
// with a check on the version it was read at (a conflict is shown, never
// overwritten); deletion; a live watch (POST /v1/watch, server-sent events
// read by the client through fetch streaming). And a new entry, created
// only if its key is free.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { KvU64, KvV8Value } from '../../js/index.js';
import { errorText, SessionEnded } from './api.js';
import { formatRelative, formatTime } from './format.js';
import { html } from './html.js';
import { parseJsonText } from './json_text.js';
import { keyText, parseKey, partText } from './keyparts.js';
import { ErrorLine, KeyPart } from './widgets.js';

const MAX_EXPIRE_IN_SECONDS = 100 * 365 * 24 * 3600;

/** What kind of value an entry holds: JSON, or one the editor shows but does not edit. */
function valueKind(value) {
  if (value instanceof KvU64) return 'u64';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof KvV8Value) return 'v8';
  return 'json';
}

function valueText(value) {
  switch (valueKind(value)) {
    case 'u64':
      return value.value.toString();
    case 'bytes':
      return partText(value);
    case 'v8':
      return `${value.bytes.length} bytes in V8's serialization format (written by a Deno client; no JSON form)`;
    default:
      return JSON.stringify(value, null, 2);
  }
}

// "Expires in" as typed: blank is no expiry. `{ expireIn }` (ms or
// undefined) or `{ error }`.
function readExpiry(text) {
  const trimmed = text.trim();
  if (trimmed === '') return { expireIn: undefined };
  if (!/^[0-9]+$/.test(trimmed) || Number(trimmed) < 1 || Number(trimmed) > MAX_EXPIRE_IN_SECONDS) {
    return { error: 'Expires in: a whole number of seconds from 1 (blank: never)' };
  }
  return { expireIn: Number(trimmed) * 1000 };
}

/** The JSON editor: a textarea that says where its text stops being JSON. */
function JsonEditor({ text, onInput, label }) {
  const parsed = useMemo(() => parseJsonText(text), [text]);
  const area = useRef(null);
  const { error } = parsed;
  const showFault = () => {
    area.current.focus();
    area.current.setSelectionRange(error.offset, Math.min(text.length, error.offset + 1));
  };
  return html`<div class="json-editor">
    <textarea ref=${area} aria-label=${label} spellcheck=${false} rows="14" value=${text}
      aria-invalid=${error ? 'true' : 'false'} onInput=${(e) => onInput(e.currentTarget.value)}></textarea>
    ${error
      ? html`<p class="error json-error" role="alert">Not valid JSON: line ${error.line}, column ${error.column}: ${error.message}
          ${' '}<button type="button" class="link" onClick=${showFault}>Show</button></p>`
      : html`<p class="muted json-ok">Valid JSON.</p>`}
  </div>`;
}

export function EntryPanel({ connection, entryKey, onChanged, onClose }) {
  const [entry, setEntry] = useState(null);
  const [error, setError] = useState(null);
  const [editing, setEditing] = useState(null); // { base: the entry read, draft, expiry }
  const [conflict, setConflict] = useState(null); // { current } after a refused save
  const [notice, setNotice] = useState(null);
  const [watching, setWatching] = useState(false);
  const [live, setLive] = useState(null); // { at, version } of the last watch event
  const [confirmDelete, setConfirmDelete] = useState(false);
  const fail = (failure) => setError(failure instanceof SessionEnded ? null : failure);

  const load = () => connection.store((kv) => kv.get(entryKey)).then(setEntry, fail);
  useEffect(() => {
    setEntry(null);
    setEditing(null);
    setConflict(null);
    setNotice(null);
    setError(null);
    setLive(null);
    setConfirmDelete(false);
    load();
  }, [keyText(entryKey)]);

  useEffect(() => {
    if (!watching) return undefined;
    const stop = new AbortController();
    connection.watch(entryKey, stop.signal, (current) => {
      setEntry(current);
      setLive({ at: Date.now(), version: current.version });
    }).catch((failure) => {
      if (stop.signal.aborted) return;
      fail(failure);
      setWatching(false);
    });
    return () => stop.abort();
  }, [watching, keyText(entryKey)]);

  const startEdit = () => {
    setConflict(null);
    setNotice(null);
    const expiry = entry.expiresAt === undefined ? '' : String(Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000)));
    setEditing({ base: entry, draft: valueText(entry.value), expiry });
  };

  const save = async () => {
    const parsed = parseJsonText(editing.draft);
    const expiry = readExpiry(editing.expiry);
    if (parsed.error || expiry.error) return setError(expiry.error ?? 'The value is not valid JSON.');
    setError(null);
    try {
      const result = await connection.store((kv) => kv.atomic()
        .check({ key: entryKey, version: editing.base.version })
        .set(entryKey, parsed.value, expiry.expireIn === undefined ? undefined : { expireIn: expiry.expireIn })
        .commit());
      if (!result.ok) {
        const current = await connection.store((kv) => kv.get(entryKey));
        setEntry(current);
        setConflict({ read: editing.base.version, current });
        return undefined;
      }
      setEditing(null);
      setConflict(null);
      setNotice(`Saved as version ${result.version}.`);
      await load();
      onChanged();
    } catch (failure) {
      fail(failure);
    }
    return undefined;
  };

  const remove = async () => {
    try {
      await connection.store((kv) => kv.delete(entryKey));
      setConfirmDelete(false);
      setEditing(null);
      setNotice('Deleted.');
      await load();
      onChanged();
    } catch (failure) {
      fail(failure);
    }
  };

  const header = html`<header class="entry-header">
    <h3>Entry</h3>
    <button type="button" class="link" onClick=${onClose} aria-label="close the entry">Close</button>
  </header>
  <p class="key-line" aria-label="key">${entryKey.map((part) => html`<${KeyPart} part=${part} />`)}</p>`;

  if (!entry) {
    return html`<aside class="entry-panel" aria-label="entry">${header}
      ${error ? html`<${ErrorLine} error=${error} />` : html`<p class="muted">Loading…</p>`}</aside>`;
  }
  const exists = entry.version !== null;
  const kind = exists ? valueKind(entry.value) : null;
  return html`<aside class="entry-panel" aria-label="entry">
    ${header}
    <dl class="entry-meta">
      <dt>Version</dt><dd class="mono" data-version>${exists ? entry.version : '—'}</dd>
      <dt>Expiry</dt><dd>${!exists ? '—' : entry.expiresAt === undefined ? 'never'
        : html`<span title=${formatTime(entry.expiresAt)}>${formatTime(entry.expiresAt)} (${formatRelative(entry.expiresAt)})</span>`}</dd>
      <dt>Type</dt><dd>${exists ? { json: 'JSON', u64: 'u64 counter', bytes: 'bytes (hex)', v8: 'V8 value' }[kind] : '—'}</dd>
    </dl>
    <p class="actions">
      <label class="toggle"><input type="checkbox" name="watch" checked=${watching} onChange=${(e) => setWatching(e.currentTarget.checked)} /> Watch live</label>
      ${live && html`<span class="live" role="status" data-live-version=${live.version}>Updated live at ${new Date(live.at).toLocaleTimeString()}: version ${live.version ?? '(deleted)'}</span>`}
    </p>
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    ${!exists && html`<p class="muted" data-missing>No entry at this key${live ? ' now' : ''}.</p>`}
    ${conflict && html`<${Conflict} conflict=${conflict} onEditCurrent=${startEdit}
      onDiscard=${() => { setEditing(null); setConflict(null); }} />`}
    ${exists && conflict && html`<h4>Current value</h4>`}
    ${exists && (!editing || conflict) && html`<pre class="value" aria-label="value">${valueText(entry.value)}</pre>`}
    ${editing && conflict && html`<h4>Your text (not saved)</h4>`}
    ${editing
      ? html`<div class="editor">
          ${editing.base.version !== entry.version && !conflict && html`<p class="warning" role="status">This entry changed since you began editing (now version ${entry.version ?? 'deleted'}): saving will be refused.</p>`}
          <${JsonEditor} label="value as JSON" text=${editing.draft} onInput=${(draft) => setEditing({ ...editing, draft })} />
          <label class="field">Expires in (seconds; blank: never)
            <input name="expireIn" inputmode="numeric" value=${editing.expiry} onInput=${(e) => setEditing({ ...editing, expiry: e.currentTarget.value })} />
          </label>
          <p class="actions">
            <button type="button" class="primary" onClick=${save} disabled=${Boolean(parseJsonText(editing.draft).error)}>Save</button>
            <button type="button" onClick=${() => { setEditing(null); setConflict(null); }}>Cancel</button>
          </p>
        </div>`
      : exists && html`<p class="actions">
          ${kind === 'json' ? html`<button type="button" onClick=${startEdit}>Edit</button>` : html`<span class="muted">Only JSON values are edited here.</span>`}
          ${confirmDelete
            ? html`<span class="confirm">Delete this entry? <button type="button" class="danger" onClick=${remove}>Delete</button>
                <button type="button" onClick=${() => setConfirmDelete(false)}>Keep it</button></span>`
            : html`<button type="button" class="danger" onClick=${() => setConfirmDelete(true)}>Delete…</button>`}
        </p>`}
    <${ErrorLine} error=${error} />
  </aside>`;
}

/** A save refused because the entry changed after it was read. */
function Conflict({ conflict: { read, current }, onEditCurrent, onDiscard }) {
  return html`<div class="conflict" role="alert">
    <strong>Not saved: a conflict.</strong> The entry changed after you read it (you read version${' '}
    <span class="mono">${read}</span>; it is now ${current.version === null ? 'deleted' : html`version${' '}<span class="mono">${current.version}</span>`}).
    Nothing was overwritten, and your text is still in the editor, below the current value: edit again from the current value, or discard your text.
    <p class="actions"><button type="button" onClick=${onEditCurrent} disabled=${current.version === null}>Edit the current value</button>
      <button type="button" onClick=${onDiscard}>Discard my text</button></p>
  </div>`;
}

/** A new entry at a free key (checked: a key in use is never overwritten). */
export function NewEntry({ connection, prefix, onCreated, onOpen, onClose }) {
  const [keyDraft, setKeyDraft] = useState(() => keyText([...prefix, 'new-key']));
  const [draft, setDraft] = useState('{\n  \n}');
  const [expiry, setExpiry] = useState('');
  const [error, setError] = useState(null);
  const [taken, setTaken] = useState(null);
  const parsedKey = parseKey(keyDraft);
  const parsedValue = parseJsonText(draft);
  const create = async (event) => {
    event.preventDefault();
    const expires = readExpiry(expiry);
    if (parsedKey.error || parsedValue.error || expires.error) return setError(parsedKey.error ?? expires.error ?? 'The value is not valid JSON.');
    setError(null);
    setTaken(null);
    try {
      const { key } = parsedKey;
      const result = await connection.store((kv) => kv.atomic()
        .check({ key, version: null })
        .set(key, parsedValue.value, expires.expireIn === undefined ? undefined : { expireIn: expires.expireIn })
        .commit());
      if (!result.ok) return setTaken(key);
      onCreated(key);
    } catch (failure) {
      setError(failure instanceof SessionEnded ? null : errorText(failure));
    }
    return undefined;
  };
  return html`<aside class="entry-panel" aria-label="new entry">
    <header class="entry-header"><h3>New entry</h3><button type="button" class="link" onClick=${onClose}>Close</button></header>
    <form onSubmit=${create} aria-label="new entry">
      <label class="field">Key (a JSON array of parts)
        <input name="key" class="mono" spellcheck=${false} value=${keyDraft} onInput=${(e) => setKeyDraft(e.currentTarget.value)} />
      </label>
      ${parsedKey.error
        ? html`<p class="error">${parsedKey.error}</p>`
        : html`<p class="key-line">${parsedKey.key.map((part) => html`<${KeyPart} part=${part} />`)}</p>`}
      <${JsonEditor} label="new value as JSON" text=${draft} onInput=${setDraft} />
      <label class="field">Expires in (seconds; blank: never)
        <input name="expireIn" inputmode="numeric" value=${expiry} onInput=${(e) => setExpiry(e.currentTarget.value)} />
      </label>
      <p class="actions"><button type="submit" class="primary" disabled=${Boolean(parsedKey.error || parsedValue.error)}>Create</button></p>
    </form>
    ${taken && html`<p class="conflict" role="alert">An entry exists at this key already; it was not overwritten.
      ${' '}<button type="button" class="link" onClick=${() => onOpen(taken)}>Open it</button></p>`}
    <${ErrorLine} error=${error} />
  </aside>`;
}
