// Sign-in: the operator's admin token, or a store's access token and the
// store's region (as every client connects: docs/http-api.md).

import { useState } from 'preact/hooks';
import { REGIONS } from '../../shims/regions.js';
import { signIn } from './api.js';
import { html } from './html.js';

export function SignIn({ notice, onSignedIn }) {
  const [kind, setKind] = useState('store');
  const [token, setToken] = useState('');
  const [region, setRegion] = useState('eu-central-1');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn({ kind, token, region }));
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  };

  return html`<main class="signin">
    <h1>Key-value store console</h1>
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <form onSubmit=${submit} aria-label="sign in">
      <fieldset>
        <legend>Sign in as</legend>
        <label><input type="radio" name="kind" value="store" checked=${kind === 'store'} onChange=${() => setKind('store')} /> a store (its access token)</label>
        <label><input type="radio" name="kind" value="operator" checked=${kind === 'operator'} onChange=${() => setKind('operator')} /> the operator (the admin token)</label>
      </fieldset>
      <label class="field">${kind === 'store' ? 'Access token' : 'Admin token'}
        <input type="password" name="token" autocomplete="off" spellcheck=${false} value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
      </label>
      ${kind === 'store' && html`<label class="field">Region of the store
        <select name="region" value=${region} onChange=${(e) => setRegion(e.currentTarget.value)}>
          ${Object.keys(REGIONS).map((name) => html`<option value=${name}>${name}</option>`)}
        </select>
      </label>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
    <p class="hint">The token stays in this tab's session storage only, and is sent only to this service's API.
      ${' '}<code>npm start</code> prints the demo store's token and region; the admin token is in <code>.dev.vars</code>.</p>
  </main>`;
}
