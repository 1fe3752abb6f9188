// Charts as plain SVG text, no libraries: grouped bars (with an optional
// whisker per bar) and lines over a log-scaled x axis.

const FONT = 'font-family="sans-serif" font-size="11"';
const TITLE_FONT = 'font-family="sans-serif" font-size="13" font-weight="bold"';
export const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5'];

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');

// An axis from 0 (or a power of ten when log) to a round maximum.
function axis(maxValue, { log = false, minValue } = {}) {
  if (log) {
    const low = 10 ** Math.floor(Math.log10(minValue));
    const high = 10 ** Math.ceil(Math.log10(maxValue));
    const ticks = [];
    for (let t = low; t <= high * 1.001; t *= 10) ticks.push(t);
    return { ticks, at: (v) => (Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low)) };
  }
  const step = 10 ** Math.floor(Math.log10(maxValue || 1));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((s) => maxValue / s <= 6) ?? step * 10;
  const top = Math.ceil(maxValue / nice) * nice || 1;
  const ticks = [];
  for (let t = 0; t <= top + nice / 2; t += nice) ticks.push(t);
  return { ticks, at: (v) => v / top };
}

const label = (v) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toPrecision(3)}`);

/**
 * A panel of grouped bars at (x, y) of size width × height.
 * groups: [{ label, sublabel?, bars: [{ value, whisker? }] }] (one bar per
 * series); series: [{ name }]. Returns SVG elements as text.
 */
export function barPanel({ x, y, width, height, title, yLabel, groups, series, log = false }) {
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.whisker ?? b.value])).filter((v) => v > 0);
  const scale = axis(Math.max(...values), { log, minValue: Math.min(...values) });
  const left = x + 56;
  const plotWidth = width - 66;
  const bottom = y + height - 34;
  const plotHeight = height - 76;
  const out = [`<text x="${x}" y="${y + 14}" ${TITLE_FONT}>${escape(title)}</text>`,
    `<text x="${x}" y="${y + 28}" ${FONT} fill="#555">${escape(yLabel)}</text>`];
  for (const tick of scale.ticks) {
    const ty = bottom - scale.at(tick) * plotHeight;
    out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${ty}" y2="${ty}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${ty + 4}" ${FONT} text-anchor="end">${label(tick)}</text>`);
  }
  const groupWidth = plotWidth / groups.length;
  const barWidth = (groupWidth * 0.8) / series.length;
  groups.forEach((group, g) => {
    const gx = left + g * groupWidth + groupWidth * 0.1;
    group.bars.forEach((bar, s) => {
      if (!(bar.value > 0)) return;
      const h = scale.at(bar.value) * plotHeight;
      const bx = gx + s * barWidth;
      out.push(`<rect x="${bx.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s]}"><title>${escape(`${series[s].name}, ${group.label} ${group.sublabel ?? ''}: ${label(bar.value)}`)}</title></rect>`);
      if (bar.whisker > 0) {
        const wy = bottom - scale.at(bar.whisker) * plotHeight;
        const mid = bx + barWidth / 2;
        out.push(`<line x1="${mid.toFixed(1)}" x2="${mid.toFixed(1)}" y1="${(bottom - h).toFixed(1)}" y2="${wy.toFixed(1)}" stroke="#222"/>`,
          `<line x1="${(mid - 3).toFixed(1)}" x2="${(mid + 3).toFixed(1)}" y1="${wy.toFixed(1)}" y2="${wy.toFixed(1)}" stroke="#222"/>`);
      }
    });
    if (group.sublabel) {
      out.push(`<text x="${(gx + groupWidth * 0.4).toFixed(1)}" y="${bottom + 12}" ${FONT} text-anchor="middle" fill="#555">${escape(group.sublabel)}</text>`);
    }
    if (group.label) {
      out.push(`<text x="${(gx + groupWidth * 0.4).toFixed(1)}" y="${bottom + 26}" ${FONT} text-anchor="middle">${escape(group.label)}</text>`);
    }
  });
  out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  return out.join('\n');
}

/**
 * A panel of lines over a log10 x axis. lines: [{ name, points: [[x, y]],
 * dashed? , color }].
 */
export function linePanel({ x, y, width, height, title, yLabel, xLabel, lines }) {
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]));
  const xAxis = axis(Math.max(...xs), { log: true, minValue: Math.min(...xs) });
  const yAxis = axis(Math.max(...ys));
  const left = x + 56;
  const plotWidth = width - 200;
  const bottom = y + height - 34;
  const plotHeight = height - 76;
  const px = (v) => left + xAxis.at(v) * plotWidth;
  const py = (v) => bottom - yAxis.at(v) * plotHeight;
  const out = [`<text x="${x}" y="${y + 14}" ${TITLE_FONT}>${escape(title)}</text>`,
    `<text x="${x}" y="${y + 28}" ${FONT} fill="#555">${escape(yLabel)}</text>`,
    `<text x="${left + plotWidth / 2}" y="${bottom + 28}" ${FONT} text-anchor="middle">${escape(xLabel)}</text>`];
  for (const tick of yAxis.ticks) {
    out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${py(tick)}" y2="${py(tick)}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${py(tick) + 4}" ${FONT} text-anchor="end">${label(tick)}</text>`);
  }
  for (const tick of xAxis.ticks) {
    out.push(`<text x="${px(tick)}" y="${bottom + 14}" ${FONT} text-anchor="middle">${label(tick)}</text>`);
  }
  lines.forEach((line, i) => {
    const d = line.points.map(([vx, vy], k) => `${k === 0 ? 'M' : 'L'}${px(vx).toFixed(1)},${py(vy).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    for (const [vx, vy] of line.points) out.push(`<circle cx="${px(vx).toFixed(1)}" cy="${py(vy).toFixed(1)}" r="3" fill="${line.color}"/>`);
    const ly = y + 40 + i * 16;
    out.push(`<line x1="${left + plotWidth + 16}" x2="${left + plotWidth + 40}" y1="${ly}" y2="${ly}" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="5,4"' : ''}/>`,
      `<text x="${left + plotWidth + 46}" y="${ly + 4}" ${FONT}>${escape(line.name)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  return out.join('\n');
}

export function legend(x, y, series) {
  return series.map((s, i) => `<rect x="${x + i * 120}" y="${y - 9}" width="12" height="12" fill="${COLORS[i]}"/>`
    + `<text x="${x + i * 120 + 16}" y="${y + 1}" ${FONT}>${escape(s.name)}</text>`).join('\n');
}

export function svgDocument(width, height, body, note) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
${body}
<text x="8" y="${height - 6}" ${FONT} fill="#777">${escape(note)}</text>
</svg>
`;
}
