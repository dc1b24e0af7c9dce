// Where the explorer's numbers come from: the embedded data of a static page, or the local server.
"use strict";
const TG = (window.tgExplorer = { shown: {} });

TG.bytes = (b64) => {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
};
TG.f32 = (b64) => new Float32Array(TG.bytes(b64).buffer);
// float16 values times `scale` (a static page's gradients for the classes not first shown)
TG.f16 = (b64, scale) => {
  const half = new Uint16Array(TG.bytes(b64).buffer);
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i], sign = h & 0x8000 ? -scale : scale, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    out[i] = sign * (e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15));
  }
  return out;
};

// layers that map each value on its own (in eval mode): a conv cell's value continues through them
TG.PER_VALUE = ["ReLU", "Sigmoid", "Tanh", "LeakyReLU", "BatchNorm2d", "Dropout", "Identity"];

TG.decodeTrace = (raw) => {
  const trace = {
    raw, image: TG.bytes(raw.image), input: TG.f32(raw.input), probs: raw.probs,
    prediction: raw.prediction, target: raw.target, steps: raw.steps || [], loss: raw.loss,
    layers: raw.layers.map((l) => ({ shape: l.shape, output: TG.f32(l.output) })), grads: {},
  };
  for (const [cls, g] of Object.entries(raw.grads)) {
    const decode = g.scales ? (b64, i) => TG.f16(b64, g.scales[i]) : (b64) => TG.f32(b64);
    trace.grads[cls] = { layers: g.layers.map(decode),
      saliency: decode(g.saliency, g.layers.length) };
  }
  return trace;
};

TG.staticSource = (data) => ({
  kind: "static",
  model: async () => data.model,
  tests: () => data.images.map((im, i) => ({ id: i, name: im.name, label: im.label })),
  trace: async (request) => TG.decodeTrace(data.images[request.test].trace),
});

TG.serverSource = () => {
  const call = async (path, body) => {
    const response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  };
  let tests = [];
  return {
    kind: "server",
    model: async () => {
      const info = await call("/api/model");
      tests = info.tests || [];
      return info;
    },
    tests: () => tests.map((t) => ({ id: t.index, name: t.name, label: t.label })),
    trace: async (request) => TG.decodeTrace(await call("/api/trace", request)),
  };
};

TG.source = (() => {
  const config = JSON.parse(document.getElementById("tg-data").textContent);
  return config.mode === "server" ? TG.serverSource() : TG.staticSource(config);
})();

// The arithmetic behind one conv output cell, from the layer's input and kernel (as Python's
// explorer.trace.conv_cell computes it), and the values after the following per-value layers.
TG.convCell = (trace, model, index, channel, row, col) => {
  const layer = model.layers[index];
  const conv = layer.conv;
  const kernel = model.kernels[layer.name];
  const [C, KH, KW] = [conv.in, conv.kernel[0], conv.kernel[1]];
  const inShape = index === 0 ? [1, 28, 28] : trace.layers[index - 1].shape;
  const input = index === 0 ? trace.input : trace.layers[index - 1].output;
  const [H, W] = [inShape[1], inShape[2]];
  const weight = kernel.w || (kernel.w = TG.f32(kernel.weight));
  const bias = kernel.b || (kernel.b = TG.f32(kernel.bias));
  const rows = [], cols = [];
  const [sy, sx] = conv.stride, [py, px] = conv.padding, [dy, dx] = conv.dilation;
  for (let k = 0; k < KH; k++) rows.push(row * sy - py + k * dy);
  for (let k = 0; k < KW; k++) cols.push(col * sx - px + k * dx);
  const window = [], kern = [], products = [];
  let sum = 0;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const [y, x] = [rows[ky], cols[kx]];
        const v = y >= 0 && y < H && x >= 0 && x < W ? input[(c * H + y) * W + x] : 0;
        const w = weight[((channel * C + c) * KH + ky) * KW + kx];
        window.push(v); kern.push(w); products.push(v * w);
        sum += v * w;
      }
    }
  }
  const then = [];
  const [, OH, OW] = trace.layers[index].shape;
  for (let j = index + 1; j < model.layers.length; j++) {
    if (!TG.PER_VALUE.includes(model.layers[j].kind)) break;
    then.push([model.layers[j].name, model.layers[j].kind,
      trace.layers[j].output[(channel * OH + row) * OW + col]]);
  }
  return { layer: index, channel, row, col, C, KH, KW, rows, cols, window, kernel: kern, products,
    sum, bias: bias[channel], value: sum + bias[channel], then };
};
