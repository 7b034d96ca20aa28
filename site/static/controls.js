// Controls that change the run: trainer settings, the network spec and presets, the dataset,
// and saving/loading runs. Each talks to the worker through request(type, payload).

const $ = (id) => document.getElementById(id);
const q = (name) => document.querySelector(`[data-control="${name}"]`);

function message(id, text, isError = true) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle('error', Boolean(text) && isError);
}

export function setupControls({ request, onNet, pageState, restorePage }) {
  const form = $('trainer-form');
  let options = {};

  function showOptions(o) {
    options = o;
    for (const input of form.elements) if (input.name in o) input.value = o[input.name];
  }

  form.addEventListener('change', async (e) => {
    const input = e.target;
    const value = input.name === 'method' ? input.value : Number(input.value);
    if (input.value === '' || (input.name !== 'method' && !Number.isFinite(value))) {
      message('trainer-message', `${input.name.replace('_', ' ')} must be a number`);
      showOptions(options);
      return;
    }
    try {
      showOptions(await request('options', { options: { [input.name]: value } }));
      message('trainer-message', `${input.name.replace('_', ' ')} set to ${value}; training goes on.`, false);
    } catch (err) {
      message('trainer-message', err.message);
      showOptions(options);
    }
  });
  form.addEventListener('submit', (e) => e.preventDefault());

  // The spec editor: JSON only, parsed and validated in Python; never evaluated as code.
  async function changeNetwork(type, payload, messageId) {
    try {
      const net = await request(type, payload);
      message(messageId, '');
      onNet(net);
      return net;
    } catch (err) {
      message(messageId, err.message);
      return null;
    }
  }
  q('change-network').addEventListener('click', async () => {
    const net = await changeNetwork('spec', { text: $('spec-text').value }, 'spec-message');
    if (net) message('spec-message', `Now training the new network (${net.param_count.toLocaleString('en-US')} parameters).`, false);
  });
  let presets = {};
  $('preset').addEventListener('change', () => {
    const p = presets[$('preset').value];
    if (p) $('spec-text').value = JSON.stringify(p.spec, null, 1);
    message('spec-message', 'Press "Change network" to train this network.', false);
  });
  q('reset').addEventListener('click', () => changeNetwork('reset', {}, 'spec-message'));
  $('dataset').addEventListener('change', () => changeNetwork('dataset', { name: $('dataset').value }, 'trainer-message'));

  q('save').addEventListener('click', async () => {
    try {
      const text = await request('save', { page: pageState() });
      const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: `live-cnn-run.json` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      message('file-message', `Saved (${(text.length / 1024).toFixed(0)} KiB).`, false);
    } catch (err) {
      message('file-message', err.message);
    }
  });
  async function load(text, what) {
    const net = await changeNetwork('load', { text }, 'file-message');
    if (net) {
      restorePage(net.page);
      message('file-message', `Loaded ${what}: continuing at ${net.examples.toLocaleString('en-US')} examples.`, false);
    }
  }
  q('load-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (file.size > 200e6) { message('file-message', `${file.name} is too large to be a run file`); return; }
    await load(await file.text(), `"${file.name}"`);
    e.target.value = '';
  });
  q('load-paste').addEventListener('click', () => load($('paste').value, 'the pasted run'));

  return {
    /** A new network is being trained: show its spec, options and the choices around it. */
    show(net, presetList, datasets) {
      showOptions(net.options);
      $('spec-text').value = net.spec;
      if (presetList) {
        presets = presetList;
        $('preset').replaceChildren(new Option('choose a preset…', ''),
          ...Object.entries(presets).map(([k, p]) => new Option(p.title, k)));
      }
      if (datasets) {
        $('dataset').replaceChildren(...Object.entries(datasets).map(([k, title]) => new Option(title, k)));
        $('dataset-row').hidden = Object.keys(datasets).length < 2;
      }
      $('dataset').value = net.dataset;
    },
  };
}
