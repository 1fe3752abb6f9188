// The console's entry (docs/console.md): bundled by scripts/build.js into
// build/assets/console/console.js, with its styles into console.css.

import 'uplot/dist/uPlot.min.css';
import '../console.css';
import { render } from 'preact';
import { App } from './app.js';
import { html } from './html.js';

render(html`<${App} />`, document.getElementById('app'));
