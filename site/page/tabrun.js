// Which saved run is this tab's. Each tab keeps an id in sessionStorage, which survives a reload and
// belongs to that tab alone, except that a duplicated tab starts with a copy of it: so the id is
// checked with the site's other open tabs, and a tab that finds its id taken continues from a copy
// of that run under an id of its own. Two tabs never save over each other.
const ID = 'live-cnn-tab';
const CHANNEL = 'live-cnn-tabs';
const ASK_MS = 150;           // how long to wait for another tab to say the id is its own

const newId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function taken(channel, id) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { channel.removeEventListener('message', hear); resolve(false); }, ASK_MS);
    function hear(e) {
      if (e.data && e.data.mine === id) { clearTimeout(timer); channel.removeEventListener('message', hear); resolve(true); }
    }
    channel.addEventListener('message', hear);
    channel.postMessage({ ask: id });
  });
}

/** -> {save, restore}: the IndexedDB keys this tab saves its run under, and restores it from. */
export async function tabKeys() {
  let id = null;
  try { id = sessionStorage.getItem(ID); } catch (err) { /* storage refused: a new id each load */ }
  const restore = id;
  const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
  if (!id || (channel && await taken(channel, id))) id = newId();
  try { sessionStorage.setItem(ID, id); } catch (err) { /* as above */ }
  if (channel) channel.addEventListener('message', (e) => { if (e.data && e.data.ask === id) channel.postMessage({ mine: id }); });
  return { save: `tab ${id}`, restore: restore ? `tab ${restore}` : null };
}
