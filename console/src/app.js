// The console's shell: sign-in until a session is open, then the operator's
// views (stores) or a store's views (keys, usage and queue, export and
// import). A store's token never sees the operator's views, and the API
// refuses it the admin routes whatever the page does.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { Connection, NOTICES } from './api.js';
import { html } from './html.js';
import { KeysView } from './keys.js';
import { QueuePanel } from './queue.js';
import { readSession } from './session.js';
import { SignIn } from './signin.js';
import { StoresView } from './stores.js';
import { TransferView } from './transfer.js';
import { StoreUsage } from './usage.js';

const IDLE_CHECK_MS = 5_000;

function initialState() {
  const { session, expired } = readSession();
  return { session: session ?? null, notice: expired ? NOTICES.expired : null };
}

export function App() {
  const [{ session, notice }, setState] = useState(initialState);
  const connection = useMemo(
    () => session && new Connection(session, (ended) => setState({ session: null, notice: ended })),
    [session],
  );
  useEffect(() => {
    if (!connection) return undefined;
    const timer = setInterval(() => connection.checkIdle(), IDLE_CHECK_MS);
    const onVisible = () => connection.checkIdle();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [connection]);

  if (!connection) {
    return html`<${SignIn} notice=${notice} onSignedIn=${(opened) => setState({ session: opened, notice: null })} />`;
  }
  const signOut = () => connection.end(NOTICES.signedOut);
  return connection.kind === 'operator'
    ? html`<${OperatorConsole} connection=${connection} onSignOut=${signOut} />`
    : html`<${StoreConsole} connection=${connection} onSignOut=${signOut} />`;
}

function Shell({ who, tabs, tab, setTab, onSignOut, children }) {
  return html`<div class="shell">
    <header class="topbar">
      <span class="brand">KV console</span>
      <nav aria-label="views">
        ${tabs.map(([id, label]) => html`<button type="button" class=${id === tab ? 'tab current' : 'tab'}
          aria-current=${id === tab ? 'page' : undefined} onClick=${() => setTab(id)}>${label}</button>`)}
      </nav>
      <span class="who">${who}</span>
      <button type="button" class="signout" onClick=${onSignOut}>Sign out</button>
    </header>
    <main>${children}</main>
  </div>`;
}

function OperatorConsole({ connection, onSignOut }) {
  return html`<${Shell} who="Operator" tabs=${[['stores', 'Stores']]} tab="stores" setTab=${() => {}} onSignOut=${onSignOut}>
    <${StoresView} connection=${connection} />
  <//>`;
}

function StoreConsole({ connection, onSignOut }) {
  const [tab, setTab] = useState('keys');
  const tabs = [['keys', 'Keys'], ['usage', 'Usage'], ['transfer', 'Export / import']];
  return html`<${Shell} who=${`Store in ${connection.region}`} tabs=${tabs} tab=${tab} setTab=${setTab} onSignOut=${onSignOut}>
    ${tab === 'keys' && html`<${KeysView} connection=${connection} />`}
    ${tab === 'usage' && html`<${StoreUsage} load=${() => connection.store((kv) => kv.usage())} />
      <${QueuePanel} load=${() => connection.queue()} />`}
    ${tab === 'transfer' && html`<${TransferView} connection=${connection} />`}
  <//>`;
}
