// Preact's h() with htm's tagged templates: markup without a JSX build step.
// Every value interpolated as a child is rendered as text, never as markup.

import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
