// The user's own input: a drawing or an uploaded picture, prepared like MNIST and classified live.
import { createDrawPad, drawDigit } from '../views/drawpad.js';
import { renderBars } from '../views/predictions.js';
import { message } from './message.js';

export function mount(root, ctx) {
  const note = root.querySelector('[data-message="custom"]');
  const bars = root.querySelector('[data-role="custom-prediction"]');
  createDrawPad(root.querySelector('[data-role="pad"]'), async (img) => {
    try {
      const f = await ctx.focus({ kind: 'custom', pixels: img.pixels, width: img.width, height: img.height }, 'your image');
      drawDigit(root.querySelector('[data-role="custom-preview"]'), f.image);
      message(note, '');
    } catch (err) {
      message(note, err.message);
    }
  }, (text) => message(note, text));
  return {
    onSnapshot(snap) {
      if (snap.source === 'your image' && snap.probs) renderBars(bars, Array.from(snap.probs), ctx.classes());
    },
  };
}
