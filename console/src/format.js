// How numbers, sizes and times read in the console.

const integer = new Intl.NumberFormat('en');

export function formatCount(n) {
  return integer.format(n);
}

export function formatBytes(n) {
  if (n < 1024) return `${integer.format(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** "2026-11-03 14:05 UTC" */
export function formatTime(time) {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDate(time) {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString().slice(0, 10);
}

/** "5 seconds", "3 hours": a span of `ms` in its largest whole unit. */
export function formatDuration(ms) {
  let value = Math.round(Math.abs(ms) / 1000);
  let unit = 'second';
  for (const [size, name] of [[60, 'minute'], [60, 'hour'], [24, 'day'], [365, 'year']]) {
    if (value < size) break;
    value = Math.floor(value / size);
    unit = name;
  }
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}

/** "in 5 minutes", "3 hours ago" */
export function formatRelative(time, now = Date.now()) {
  const text = formatDuration(time - now);
  return time - now >= -500 ? `in ${text}` : `${text} ago`;
}
