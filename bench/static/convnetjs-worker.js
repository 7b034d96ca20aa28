// ConvNetJS 0.3.0 training its MNIST demo network in a classic worker, in a tight loop (no timers),
// one example per trainer.train(vol, label) call on random 24x24 crops scaled to [0, 1].
// convnet.js ends with `window.jsfeat = lib` outside Node, which throws in a worker without this.
self.window = self;
importScripts('/bench/convnet.js');

const LAYERS = [
  { type: 'input', out_sx: 24, out_sy: 24, out_depth: 1 },
  { type: 'conv', sx: 5, filters: 8, stride: 1, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 3, stride: 3 },
  { type: 'softmax', num_classes: 10 },
];
const TRAINER = { method: 'adadelta', batch_size: 20, l2_decay: 0.001 };
const CROP = 24, SIZE = 28;

self.onmessage = (e) => {
  const { images, labels, seconds } = e.data;
  try {
    const net = new convnetjs.Net();
    net.makeLayers(LAYERS);
    const trainer = new convnetjs.SGDTrainer(net, TRAINER);
    const x = new convnetjs.Vol(CROP, CROP, 1, 0.0);   // reused: the cheapest input path ConvNetJS allows
    const N = labels.length;
    let stats = null;
    const train = (count) => {
      for (let n = 0; n < count; n++) {
        const k = Math.floor(Math.random() * N);
        const dx = Math.floor(Math.random() * (SIZE - CROP + 1)), dy = Math.floor(Math.random() * (SIZE - CROP + 1));
        const base = k * SIZE * SIZE;
        for (let y = 0; y < CROP; y++) {
          for (let i = 0; i < CROP; i++) x.w[y * CROP + i] = images[base + (y + dy) * SIZE + i + dx] / 255.0;
        }
        stats = trainer.train(x, labels[k]);
      }
    };
    train(200);                                       // warm-up, as pycore.bench.speed_run does
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) { train(20); done += 20; }
    const elapsed = (performance.now() - t0) / 1000;
    self.postMessage({ examples_per_s: done / elapsed, examples: done, seconds: elapsed,
      fwd_ms: stats.fwd_time, bwd_ms: stats.bwd_time, loss: stats.cost_loss });
  } catch (err) {
    self.postMessage({ error: `ConvNetJS worker: ${err && err.message || err}` });
  }
};
