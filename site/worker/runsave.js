// The training worker's side of runs kept in the browser (runstore.js): the run the page's keys
// name is restored when the page opens again (a reload, an embed whose frame a deck destroyed), and
// saved every AUTOSAVE_MS while it trains, and at once when it pauses or the page asks.
import { forgetRun, loadRun, saveRun } from '../common/runstore.js';

const AUTOSAVE_MS = 5000;

export class RunSaver {
  /** config: the worker's {autosave: {save, restore} keys or null, runKey}, read at each use (a
   *  page's URL may change the run key); call(method, ...args): the session's methods; notice(text)
   *  tells the pages. */
  constructor(config, { call, notice }) {
    this.config = config;
    this.call = call;
    this.notice = notice;
    this.lastSave = 0;
    this.savedExamples = -1;
    this.savedPaused = false;
    this.saving = false;
    this.summary = '';          // the saved runs list's line for this run, kept as its network changes
  }

  describe(net) { this.summary = `${net.dataset}, ${net.param_count.toLocaleString('en-US')} parameters`; }

  /** Load the saved run into the session, if there is one for this page's network. -> {examples,
   *  savedAt, paused} or null; what was not used is said in `notes`. */
  async restore(notes) {
    const keys = this.config.autosave;
    if (!keys || !keys.restore) return null;
    try {
      const saved = await loadRun(keys.restore);
      if (saved && saved.runKey !== undefined && saved.runKey !== this.config.runKey) {
        // This tab's run, but the URL now asks for another network: keep the old run, listed under Saved runs.
        if (keys.restore === keys.save) {
          const { text, ...meta } = saved;
          await saveRun(`kept ${saved.savedAt}`, text, { ...meta, kept: keys.save });
          await forgetRun(keys.save);
        }
        notes.push({ key: 'autosave', value: new Date(saved.savedAt).toISOString(),
                     why: 'this tab\'s saved run was of another network than the link asks for; it is kept under "Saved in this browser"' });
      } else if (saved) {
        const r = this.call('load', saved.text);
        if (r.ok) {
          this.savedExamples = r.ok.examples;
          return { examples: r.ok.examples, savedAt: saved.savedAt, paused: !!saved.paused };
        }
        notes.push({ key: 'autosave', value: new Date(saved.savedAt).toISOString(), why: `the saved run could not be loaded: ${r.error}` });
      }
    } catch (err) {
      notes.push({ key: 'autosave', value: 'IndexedDB', why: `the browser refused to read saved runs (${err.message}); starting afresh` });
    }
    return null;
  }

  /** Save the run if it moved on (or was paused or resumed) since the last save, and, unless
   *  `force`, AUTOSAVE_MS have passed. A failure is told to the pages; training goes on. */
  async save(paused, force = false) {
    if (!this.config.autosave || this.saving) return;
    const examples = this.call('examples').ok;
    if ((examples === this.savedExamples && paused === this.savedPaused) || (!force && Date.now() - this.lastSave < AUTOSAVE_MS)) return;
    this.saving = true; this.lastSave = Date.now();
    try {
      await saveRun(this.config.autosave.save, this.call('save', null).ok,
                    { examples, runKey: this.config.runKey, paused, summary: this.summary });
      this.savedPaused = paused;
      this.savedExamples = examples;
    } catch (err) {
      this.notice(`The run could not be saved in this browser (${err.message}); training goes on.`);
    } finally {
      this.saving = false;
    }
  }

  /** The saved run is dropped (Start fresh): the next save writes the new run whatever its count. */
  async forget() {
    this.savedExamples = -1;
    if (this.config.autosave) await forgetRun(this.config.autosave.save).catch(() => {});
  }
}
