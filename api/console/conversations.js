// Placeholder until this view lands.
import { h, empty } from './ui.js';

export function render(main) {
  main.append(h('h1', 'Conversations'), empty('This view is not built yet.'));
}
