// A menu applies its choice when the choice is made, not on every arrow key. Chromium and Firefox
// fire 'change' on each arrow key in a closed <select>, which would switch the trainer, the dataset
// or the network once per key (WCAG 3.2.2). Such a change is held back, for every listener, until
// Enter or until the menu loses focus; a choice made with the pointer, or in the menu's own pop-up
// (Safari's arrow keys open it), applies at once.
const BROWSE = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);
const KEYED_MS = 100;   // a change this soon after a browsing key in the same menu came from that key

export function holdKeyboardChanges(doc = document) {
  let keyed = null, keyedAt = -Infinity;
  const held = new Set();
  const release = (select) => {
    held.delete(select);
    select.dispatchEvent(new Event('change', { bubbles: true }));
  };
  doc.addEventListener('keydown', (e) => {
    const select = e.target;
    if (!(select instanceof HTMLSelectElement) || select.multiple) return;
    if (BROWSE.has(e.key) || (e.key.length === 1 && e.key !== ' ')) {
      keyed = select;
      keyedAt = performance.now();
    } else if (e.key === 'Enter' && held.has(select)) {
      e.preventDefault();
      release(select);
    }
  }, true);
  // Capturing at the document runs before any listener of the menu's own or of its form.
  doc.addEventListener('change', (e) => {
    if (e.target === keyed && performance.now() - keyedAt < KEYED_MS && e.isTrusted) {
      e.stopImmediatePropagation();
      held.add(e.target);
    }
  }, true);
  doc.addEventListener('focusout', (e) => { if (held.has(e.target)) release(e.target); }, true);
}
