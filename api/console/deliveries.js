// Placeholder until this view lands.
import { h, empty } from './ui.js';

export function render(main) {
  main.append(h('h1', 'Deliveries'), empty('This view is not built yet.'));
}
