// Export and import as NDJSON, one entry a line, in the client's format
// (kv.export() and kv.import(): docs/http-api.md and the README): an export
// is pages of list read through to the end; an import commits its lines in
// batches that each fit the store's commit limits.

import { useState } from 'preact/hooks';
import { errorText, SessionEnded } from './api.js';
import { formatCount } from './format.js';
import { html } from './html.js';
import { keyText, parseKey } from './keyparts.js';
import { ErrorLine } from './widgets.js';

// A file's text, chunk by chunk (an async iterable, as kv.import() takes).
async function* textChunks(file) {
  const reader = file.stream().pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function download(name, parts) {
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function TransferView({ connection }) {
  return html`<div class="transfer">
    <${Export} connection=${connection} />
    <${Import} connection=${connection} />
  </div>`;
}

function Export({ connection }) {
  const [prefixText, setPrefixText] = useState('[]');
  const [state, setState] = useState(null);
  const run = async (event) => {
    event.preventDefault();
    const { key: prefix, error } = parseKey(prefixText, { allowEmpty: true });
    if (error) return setState({ error });
    setState({ busy: true, lines: 0 });
    try {
      const lines = await connection.store(async (kv) => {
        const read = [];
        for await (const line of kv.export({ prefix })) {
          read.push(line);
          if (read.length % 500 === 0) setState({ busy: true, lines: read.length });
        }
        return read;
      });
      const name = `kv-export-${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}.ndjson`;
      download(name, lines);
      setState({ done: `Exported ${formatCount(lines.length)} entr${lines.length === 1 ? 'y' : 'ies'} under ${keyText(prefix)} to ${name}.` });
    } catch (failure) {
      setState(failure instanceof SessionEnded ? null : { error: errorText(failure) });
    }
    return undefined;
  };
  return html`<section class="panel" aria-label="export">
    <h2>Export</h2>
    <p>Downloads every entry under a prefix (<code>[]</code>: the whole store) as NDJSON: one${' '}
      <code>{"key", "value", "valueType"?, "version", "expiresAt"?}</code> a line. Each entry read costs one operation.</p>
    <form class="inline-form" onSubmit=${run} aria-label="export">
      <label class="field">Prefix (a JSON array)
        <input name="prefix" class="mono" spellcheck=${false} value=${prefixText} onInput=${(e) => setPrefixText(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled=${state?.busy}>Export NDJSON</button>
    </form>
    ${state?.busy && html`<p class="muted" role="status">Exporting… ${formatCount(state.lines)} entries read</p>`}
    ${state?.done && html`<p class="notice" role="status">${state.done}</p>`}
    <${ErrorLine} error=${state?.error} />
  </section>`;
}

function Import({ connection }) {
  const [file, setFile] = useState(null);
  const [state, setState] = useState(null);
  const run = async (event) => {
    event.preventDefault();
    if (!file) return setState({ error: 'Choose an NDJSON file first.' });
    setState({ busy: true, progress: { imported: 0, skipped: 0, batches: 0 } });
    try {
      const result = await connection.store((kv) => kv.import(textChunks(file), {
        onProgress: (progress) => setState({ busy: true, progress }),
      }));
      setState({
        done: `Imported ${formatCount(result.imported)} entr${result.imported === 1 ? 'y' : 'ies'} from ${file.name} in ` +
          `${formatCount(result.batches)} batch${result.batches === 1 ? '' : 'es'}` +
          `${result.skipped ? `; ${formatCount(result.skipped)} expired already, skipped` : ''}.`,
      });
    } catch (failure) {
      setState(failure instanceof SessionEnded ? null : { error: errorText(failure) });
    }
    return undefined;
  };
  return html`<section class="panel" aria-label="import">
    <h2>Import</h2>
    <p>Writes the entries of an export into this store, in batches that each commit whole. An entry at a key in use is
      replaced; entries keep their expiry, and those expired already are skipped. On a failure the message says which
      lines landed.</p>
    <form class="inline-form" onSubmit=${run} aria-label="import">
      <input type="file" name="file" accept=".ndjson,.jsonl,application/x-ndjson,text/plain"
        onChange=${(e) => setFile(e.currentTarget.files[0] ?? null)} />
      <button type="submit" class="primary" disabled=${state?.busy}>Import</button>
    </form>
    ${state?.busy && html`<p class="muted" role="status">Importing… ${formatCount(state.progress.imported)} entries in ${formatCount(state.progress.batches)} batches</p>`}
    ${state?.done && html`<p class="notice" role="status">${state.done}</p>`}
    <${ErrorLine} error=${state?.error} />
  </section>`;
}
