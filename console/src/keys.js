// The key browser: a prefix, walked one key part at a time (each part shown
// with its type), a page of the keys under it (keys only, so large values
// cost nothing here) with cursors to the next pages, how many keys it
// holds, and the entry opened beside it.

import { useEffect, useState } from 'preact/hooks';
import { errorText, SessionEnded } from './api.js';
import { EntryPanel, NewEntry } from './entry.js';
import { formatCount } from './format.js';
import { html } from './html.js';
import { keyText, parseKey, sameKey } from './keyparts.js';
import { ErrorLine, KeyPart } from './widgets.js';

export const PAGE_SIZE = 100;

// One page of keys under `prefix` from `cursor`: { keys, next }, `next`
// being the cursor of the page after, or null. One key more than the page
// is read, to know whether another page follows.
async function readPage(kv, prefix, cursor) {
  const list = kv.list({ prefix }, { limit: PAGE_SIZE + 1, batchSize: PAGE_SIZE + 1, cursor, keysOnly: true });
  const keys = [];
  let last = null;
  for await (const { key } of list) {
    if (keys.length === PAGE_SIZE) return { keys, next: last };
    keys.push(key);
    last = list.cursor;
  }
  return { keys, next: null };
}

export function KeysView({ connection }) {
  const [prefix, setPrefix] = useState([]);
  const [cursors, setCursors] = useState([undefined]); // each page's cursor; the last is this page's
  const [page, setPage] = useState(null);
  const [count, setCount] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(null); // the key of the entry shown, or 'new'
  const [reload, setReload] = useState(0);
  const cursor = cursors.at(-1);
  const prefixId = keyText(prefix);

  useEffect(() => {
    let live = true;
    setError(null);
    connection.store((kv) => readPage(kv, prefix, cursor)).then(
      (read) => live && setPage({ ...read, prefix: prefixId, cursor }),
      (failure) => live && !(failure instanceof SessionEnded) && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [prefixId, cursor, reload]);

  useEffect(() => {
    let live = true;
    setCount(null);
    connection.store((kv) => kv.count({ prefix })).then(
      (n) => live && setCount(n),
      (failure) => live && !(failure instanceof SessionEnded) && setCount(failure),
    );
    return () => {
      live = false;
    };
  }, [prefixId, reload]);

  const goTo = (next) => {
    setPrefix(next);
    setCursors([undefined]);
    setPage(null);
  };
  const changed = () => setReload((n) => n + 1);
  // The page read for this prefix and cursor; null while it is being read.
  const current = page && page.prefix === prefixId && page.cursor === cursor ? page : null;
  const first = (cursors.length - 1) * PAGE_SIZE;

  return html`<div class=${open ? 'keys-view with-entry' : 'keys-view'}>
    <section class="keys-list" aria-label="keys">
      <nav class="crumbs" aria-label="prefix">
        <button type="button" class="crumb-root" onClick=${() => goTo([])} aria-current=${prefix.length === 0 ? 'location' : undefined}>All keys</button>
        ${prefix.map((part, i) => html`<span class="crumb-sep">/</span><${KeyPart} part=${part}
          title=${`go to the prefix of ${i + 1} part${i ? 's' : ''}`} onClick=${() => goTo(prefix.slice(0, i + 1))} />`)}
      </nav>
      <${PrefixBox} prefix=${prefix} onGo=${goTo} />
      <p class="count" data-count=${typeof count === 'number' ? count : undefined}>
        ${count === null ? 'Counting…' : typeof count === 'number'
          ? `${formatCount(count)} key${count === 1 ? '' : 's'} ${prefix.length ? 'under this prefix' : 'in this store'}`
          : `Counting failed: ${errorText(count)}`}
      </p>
      <p class="actions">
        <button type="button" onClick=${() => setOpen('new')}>New entry</button>
        <button type="button" onClick=${changed}>Refresh</button>
      </p>
      <${ErrorLine} error=${error} />
      ${!current ? !error && html`<p class="muted">Loading keys…</p>` : html`
        ${current.keys.length === 0 && html`<p class="muted">No keys ${prefix.length ? 'under this prefix' : 'in this store yet'}.</p>`}
        <ol class="key-rows" start=${first + 1} aria-label="key page">
          ${current.keys.map((key) => html`<li class=${open !== 'new' && open && sameKey(open, key) ? 'key-row selected' : 'key-row'}>
            <span class="key-parts">${key.slice(prefix.length).map((part, i) => html`<${KeyPart} part=${part}
              title=${'browse the keys under this part'} onClick=${() => goTo(key.slice(0, prefix.length + i + 1))} />`)}</span>
            <button type="button" class="open" onClick=${() => setOpen(key)} aria-label=${`open ${keyText(key)}`}>Open</button>
          </li>`)}
        </ol>
        <p class="pager">
          <button type="button" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <span data-page=${cursors.length}>Page ${cursors.length}${current.keys.length
            ? `: keys ${formatCount(first + 1)}–${formatCount(first + current.keys.length)}` : ''}</span>
          <button type="button" disabled=${!current.next} onClick=${() => setCursors([...cursors, current.next])}>Next</button>
        </p>`}
    </section>
    ${open === 'new'
      ? html`<${NewEntry} connection=${connection} prefix=${prefix} onClose=${() => setOpen(null)} onOpen=${setOpen}
          onCreated=${(key) => { setOpen(key); changed(); }} />`
      : open && html`<${EntryPanel} connection=${connection} entryKey=${open} onChanged=${changed} onClose=${() => setOpen(null)} />`}
  </div>`;
}

/** Jump to a prefix typed as wire JSON. */
function PrefixBox({ prefix, onGo }) {
  const [text, setText] = useState(keyText(prefix));
  const [error, setError] = useState(null);
  useEffect(() => setText(keyText(prefix)), [keyText(prefix)]);
  const go = (event) => {
    event.preventDefault();
    const parsed = parseKey(text, { allowEmpty: true });
    if (parsed.error) return setError(parsed.error);
    setError(null);
    onGo(parsed.key);
    return undefined;
  };
  return html`<form class="prefix-box" onSubmit=${go} aria-label="go to a prefix">
    <input name="prefix" class="mono" spellcheck=${false} aria-label="prefix as JSON" value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
    <button type="submit">Go</button>
    ${error && html`<p class="error">${error}</p>`}
  </form>`;
}
