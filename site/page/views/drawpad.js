// Drawing pad and image upload: a user's digit as grayscale pixels in [0, 1] for prepare_digit.

const SIZE = 280;       // pad size in canvas and CSS pixels: 10x MNIST's 28
const BRUSH = 18;       // brush width, about a 2 px MNIST stroke once the digit is scaled to 20 px

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// RGBA bytes (already composited, so alpha is ignored) -> luma in [0, 1], row-major.
function grayscale(rgba) {
  const n = rgba.length / 4;
  const pixels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const luma = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    pixels[i] = Math.min(1, luma);     // rounding must not push white past 1
  }
  return pixels;
}

// A decoded picture scaled so its longer side is at most SIZE, composited over white paper.
function paperCanvas(bitmap) {
  const scale = Math.min(1, SIZE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = el('canvas', { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  return canvas;
}

// Builds the pad in `container`. onImage({width, height, pixels, source, name}) runs after every
// stroke and every decoded upload; onError(message) runs when a file is not a readable image.
export function createDrawPad(container, onImage, onError = (message) => console.warn(message)) {
  const canvas = el('canvas', { width: SIZE, height: SIZE, class: 'drawpad-canvas',
                                'aria-label': 'drawing pad: draw one digit' });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const clearButton = el('button', { type: 'button', 'data-control': 'clear-pad' }, 'Clear');
  const upload = el('input', { type: 'file', accept: 'image/*', 'data-control': 'upload',
                               class: 'drawpad-file' });
  const uploadLabel = el('label', { class: 'drawpad-upload' }, 'Upload an image');
  uploadLabel.append(upload);
  const buttons = el('div', { class: 'drawpad-buttons' });
  buttons.append(clearButton, uploadLabel);
  const root = el('div', { class: 'drawpad' });
  root.append(canvas, buttons);
  container.append(root);

  let showingUpload = false;
  let pointer = null;       // { id, x, y } of the pointer drawing the current stroke
  let uploads = 0;          // a later upload wins over an earlier one still decoding

  function clear() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIZE, SIZE);
    showingUpload = false;
  }

  function at(event) {                  // client coordinates -> canvas pixels, inside the border
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left - canvas.clientLeft) * SIZE / canvas.clientWidth,
            (event.clientY - rect.top - canvas.clientTop) * SIZE / canvas.clientHeight];
  }

  function emitDrawing() {
    const pixels = grayscale(ctx.getImageData(0, 0, SIZE, SIZE).data);
    onImage({ width: SIZE, height: SIZE, pixels, source: 'drawing', name: 'drawing' });
  }

  canvas.addEventListener('pointerdown', (event) => {
    if (pointer || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    if (showingUpload) clear();          // drawing starts afresh rather than scribbling on a photo
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    pointer = { id: event.pointerId, x, y };
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(x, y, BRUSH / 2, 0, 2 * Math.PI);
    ctx.fill();
  });

  canvas.addEventListener('pointermove', (event) => {
    if (!pointer || event.pointerId !== pointer.id) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(pointer.x, pointer.y);
    for (const e of events.length ? events : [event]) {
      [pointer.x, pointer.y] = at(e);
      ctx.lineTo(pointer.x, pointer.y);
    }
    ctx.stroke();
  });

  function endStroke(event) {
    if (!pointer || event.pointerId !== pointer.id) return;
    pointer = null;
    emitDrawing();
  }
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);

  clearButton.addEventListener('click', clear);

  upload.addEventListener('change', async () => {
    const file = upload.files[0];
    upload.value = '';                  // choosing the same file again still fires `change`
    if (!file) return;
    const ticket = ++uploads;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      onError(`could not read "${file.name}" as an image`);
      return;
    }
    if (ticket !== uploads) { bitmap.close(); return; }
    const paper = paperCanvas(bitmap);
    bitmap.close();
    const { width, height } = paper;
    // Show what will be used, fitted and centred on the pad.
    clear();
    const scale = Math.min(SIZE / width, SIZE / height);
    const w = width * scale, h = height * scale;
    ctx.imageSmoothingEnabled = scale < 4;   // tiny pictures show their pixels, like the preview
    ctx.drawImage(paper, (SIZE - w) / 2, (SIZE - h) / 2, w, h);
    ctx.imageSmoothingEnabled = true;
    showingUpload = true;
    const pixels = grayscale(paper.getContext('2d').getImageData(0, 0, width, height).data);
    onImage({ width, height, pixels, source: 'upload', name: file.name });
  });

  clear();
  return { element: root, canvas, clear };
}

// Paints a width x width digit (white on black) into `canvas`, one canvas pixel per value; CSS
// scales it up. Float32Array/Float64Array values are in [0, 1]; anything else (Uint8Array, plain
// arrays, nested rows) is 0..255.
export function drawDigit(canvas, pixels, width = 28) {
  const unit = pixels instanceof Float32Array || pixels instanceof Float64Array;
  const values = Array.isArray(pixels) && Array.isArray(pixels[0]) ? pixels.flat() : pixels;
  const height = Math.round(values.length / width);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  canvas.style.imageRendering = 'pixelated';
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = unit ? values[i] * 255 : values[i];
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;   // clamped to 0..255
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}
