// Prediction cards: a few random test images with the network's top classes, refreshed while training.
import { renderCards } from '../views/predictions.js';

const CARDS_MS = 3000;        // refresh the cards this often

export function mount(root, ctx) {
  const cards = root.querySelector('[data-role="cards"]');
  let last = -Infinity, busy = false, testLoaded = 0;
  async function refresh(now) {
    last = now; busy = true;
    try { renderCards(cards, await ctx.request('cards', { count: 12 }), ctx.classes(), ctx.pick); } catch (err) { /* next time */ }
    busy = false;
  }
  return {
    onNet() { last = -Infinity; },
    onStats(s) { testLoaded = s.test_loaded; },
    frame(now, state) {
      if (busy || !testLoaded) return;
      if ((state === 'training' && now - last >= CARDS_MS * ctx.slowness()) || last === -Infinity) refresh(now);
    },
  };
}
