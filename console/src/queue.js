// A store's queue (docs/queues.md): the messages it holds, ready, delayed
// and in flight, the age of the oldest, the deliveries settled since the
// store was created and the listeners open now. The figures of
// GET /v1/queue, or of GET /v1/admin/stores/{id}/queue for the operator.

import { errorText } from './api.js';
import { formatCount, formatDuration } from './format.js';
import { html } from './html.js';
import { useLoaded } from './widgets.js';

/** Loads the queue's figures with `load()` and shows them. */
export function QueuePanel({ load }) {
  const state = useLoaded(load);
  return html`<section class="panel queue-view" aria-label="queue">
    <h3>Queue</h3>
    ${state.loading && html`<p class="muted">Loading the queue…</p>`}
    ${state.error && html`<p class="error" role="alert">${errorText(state.error)}</p>`}
    ${state.answer && html`<${QueueFigures} queue=${state.answer} />`}
  </section>`;
}

function QueueFigures({ queue }) {
  const figures = [
    ['depth', 'Messages held', formatCount(queue.depth)],
    ['ready', 'Ready', formatCount(queue.ready)],
    ['delayed', 'Delayed', formatCount(queue.delayed)],
    ['inFlight', 'In flight', formatCount(queue.inFlight)],
    ['oldestAgeMs', 'Age of oldest', queue.oldestAgeMs === null ? 'none' : formatDuration(queue.oldestAgeMs)],
    ['delivered', 'Delivered', formatCount(queue.delivered)],
    ['retried', 'Retried', formatCount(queue.retried)],
    ['deadLettered', 'Dead-lettered', formatCount(queue.deadLettered)],
    ['listeners', 'Listeners', formatCount(queue.listeners)],
  ];
  return html`<dl class="figures">
      ${figures.map(([name, label, text]) => html`<div key=${name}><dt>${label}</dt><dd data-figure=${name}>${text}</dd></div>`)}
    </dl>
    <p class="hint">Ready: due now and not leased; delayed: due later (a delay or a retry's backoff); in flight: leased to a
      listener. Delivered (acknowledged), retried and dead-lettered count since the store was created.</p>`;
}
