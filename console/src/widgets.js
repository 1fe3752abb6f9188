// Small pieces shared by the views. Every key part and value is a text
// child: Preact sets it as text, so markup in a key or value stays text.

import { useEffect, useState } from 'preact/hooks';
import { formatBytes, formatCount } from './format.js';
import { html } from './html.js';
import { errorText, SessionEnded } from './api.js';
import { partText, partType } from './keyparts.js';

/** One key part, with its type. `onClick` makes it a button. */
export function KeyPart({ part, onClick, title }) {
  const type = partType(part);
  const text = partText(part);
  const body = html`<span class="part-type">${type}</span><span class="part-text">${text === '' ? '""' : text}</span>`;
  const label = title ?? `${type} ${text}`;
  return onClick
    ? html`<button type="button" class=${`part part-${type}`} title=${label} onClick=${onClick}>${body}</button>`
    : html`<span class=${`part part-${type}`} title=${label}>${body}</span>`;
}

/**
 * Calls `load()` once, when the view opens: `{ loading: true }`, then
 * `{ answer }` or `{ error }` (no error once the session ended: the console
 * is back at sign-in then). A view reloads by being given a new `key`.
 */
export function useLoaded(load) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let live = true;
    load().then(
      (answer) => live && setState({ answer }),
      (error) => live && !(error instanceof SessionEnded) && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}

export function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${typeof error === 'string' ? error : errorText(error)}</p>`;
}

/** Usage against a limit: a bar when limited, "unlimited" else. */
export function UsageBar({ label, used, limit, bytes = false }) {
  const show = bytes ? formatBytes : formatCount;
  const limited = limit !== null && limit !== undefined;
  const share = limited ? Math.min(1, limit === 0 ? 1 : used / limit) : 0;
  const level = share >= 0.9 ? 'high' : share >= 0.7 ? 'mid' : 'low';
  return html`<div class="usage" title=${`${label}: ${show(used)}${limited ? ` of ${show(limit)}` : ', unlimited'}`}>
    <div class="usage-label">${label}</div>
    <div class="usage-bar" role="meter" aria-label=${label} aria-valuemin="0" aria-valuemax=${limited ? limit : undefined} aria-valuenow=${used}>
      <div class=${`usage-fill usage-${level}`} style=${{ width: `${(share * 100).toFixed(1)}%` }}></div>
    </div>
    <div class="usage-figures">${show(used)} / ${limited ? show(limit) : 'unlimited'}</div>
  </div>`;
}

/** A secret shown once, with a button that copies it. */
export function ShownOnce({ title, token, onDone }) {
  const copy = () => navigator.clipboard?.writeText(token).catch(() => {});
  return html`<section class="shown-once" aria-label="new access token">
    <h3>${title}</h3>
    <p>This access token is shown <strong>once</strong>: the service keeps only its hash. Copy it now.</p>
    <p><code class="token" data-token>${token}</code></p>
    <p class="actions">
      <button type="button" onClick=${copy}>Copy</button>
      <button type="button" class="primary" onClick=${onDone}>I have copied it</button>
    </p>
  </section>`;
}
