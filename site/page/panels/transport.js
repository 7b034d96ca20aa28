// Pause/resume, step and reset buttons with the run's state: the controls panel has them, and so
// has the embed strip in embed mode (never both). Play also starts an embed that waits (autoplay=0).
const LABELS = { training: 'Pause', paused: 'Resume', waiting: 'Play' };

export function mount(root, ctx) {
  const q = (name) => root.querySelector(`[data-control="${name}"]`);
  const label = root.querySelector('[data-role="state-label"]');
  q('pause').addEventListener('click', () => {
    const state = document.documentElement.dataset.state;
    if (state === 'training') { ctx.request('pause'); return; }   // the run says when it has stopped
    ctx.play();
    ctx.request('resume');
  });
  q('step').addEventListener('click', () => ctx.request('step'));
  q('reset').addEventListener('click', () => ctx.changeNetwork('reset', {}));
  return {
    onState(state) {
      const live = state in LABELS;
      q('pause').disabled = !live;
      q('reset').disabled = !live;
      q('step').disabled = state !== 'paused' && state !== 'waiting';
      q('pause').textContent = LABELS[state] || 'Pause';
      const text = state === 'waiting' ? ctx.waitingReason() : state;
      if (label && label.textContent !== text) label.textContent = text;   // a status: said once a change
    },
  };
}
