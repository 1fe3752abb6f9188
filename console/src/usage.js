// Usage: this month's against the limits, and operations and storage per
// day for the last 30 days (the `daily` rows of GET /v1/usage, or of
// GET /v1/admin/stores/{id}/usage for the operator), charted with uPlot.

import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api.js';
import { formatBytes, formatCount, formatTime } from './format.js';
import { html } from './html.js';
import { UsageBar, useLoaded } from './widgets.js';

/** Loads `{ limits, usage, daily }` with `load()` and shows it. */
export function StoreUsage({ load }) {
  const state = useLoaded(load);
  if (state.loading) return html`<p class="muted">Loading usage…</p>`;
  if (state.error) return html`<p class="error" role="alert">${errorText(state.error)}</p>`;
  const { limits, usage, daily = [] } = state.answer;
  return html`<section class="usage-view" aria-label="usage">
    <h2>Usage in ${usage.month}</h2>
    <div class="bars">
      <${UsageBar} label="Operations this month" used=${usage.operations} limit=${limits.opsPerMonth} />
      <${UsageBar} label="Storage" used=${usage.storageBytes} limit=${limits.storageBytes} bytes />
    </div>
    <p class="muted">The operations count starts again at ${formatTime(usage.resetsAt)}.</p>
    <h3>The last ${daily.length} days</h3>
    ${daily.length === 0 ? html`<p class="muted">No daily rows yet.</p>` : html`<${UsageChart} daily=${daily} />`}
    <details>
      <summary>Daily figures</summary>
      <table class="daily">
        <thead><tr><th>Date (UTC)</th><th>Operations</th><th>Storage at the day's end</th></tr></thead>
        <tbody>${daily.map((day) => html`<tr><td>${day.date}</td><td>${formatCount(day.operations)}</td><td>${formatBytes(day.storageBytes)}</td></tr>`)}</tbody>
      </table>
    </details>
  </section>`;
}

const OPERATIONS_COLOR = '#2563eb';
const OPERATIONS_FILL = 'rgba(37, 99, 235, 0.75)';
const STORAGE_COLOR = '#c2410c';

/** Operations per day as bars (left axis), storage at each day's end as a line (right axis). */
export function UsageChart({ daily }) {
  const box = useRef(null);
  const [drawn, setDrawn] = useState(0);
  useEffect(() => {
    const days = daily.map((day) => Date.parse(`${day.date}T00:00:00Z`) / 1000);
    const data = [days, daily.map((day) => day.operations), daily.map((day) => day.storageBytes)];
    const width = Math.max(320, box.current.clientWidth || box.current.parentElement?.clientWidth || 720);
    const plot = new uPlot({
      width,
      height: 280,
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      // Half a day of room at each end, so that the first and last days' bars show whole.
      scales: { x: { time: true, range: (u, min, max) => [min - 43_200, max + 43_200] }, ops: { range: (u, min, max) => [0, Math.max(1, max)] }, bytes: { range: (u, min, max) => [0, Math.max(1, max)] } },
      series: [
        { label: 'Day', value: (u, seconds) => (seconds == null ? '' : new Date(seconds * 1000).toISOString().slice(0, 10)) },
        { label: 'Operations', scale: 'ops', stroke: OPERATIONS_COLOR, fill: OPERATIONS_FILL, width: 1,
          paths: uPlot.paths.bars({ size: [0.6, 24] }), points: { show: false },
          value: (u, v) => (v == null ? '' : formatCount(v)) },
        { label: 'Storage', scale: 'bytes', stroke: STORAGE_COLOR, width: 2, points: { show: true, size: 6 },
          value: (u, v) => (v == null ? '' : formatBytes(v)) },
      ],
      axes: [
        {},
        { scale: 'ops', label: 'operations', size: 60, values: (u, ticks) => ticks.map((tick) => formatCount(tick)) },
        { scale: 'bytes', label: 'storage', side: 1, size: 70, grid: { show: false }, values: (u, ticks) => ticks.map((tick) => formatBytes(tick)) },
      ],
      hooks: { draw: [(u) => setDrawn(u.data[0].length)] },
    }, data, box.current);
    return () => plot.destroy();
  }, [daily]);
  return html`<figure class="chart-figure">
    <div class="chart" ref=${box} data-days=${daily.length} data-drawn=${drawn}></div>
    <figcaption>Operations per day (bars, left axis) and storage at each day's end (line, right axis), UTC days.</figcaption>
  </figure>`;
}
