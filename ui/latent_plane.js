// Latent plane: a 2-D latent space on a canvas, decoded in the browser under the pointer.
//
// Streamlit runs this module's default function on the first render and again on every rerun whose data changed,
// always with the same parentElement, and calls only the last returned cleanup, on unmount. So everything lives on
// one instance per parentElement (INSTANCES); a rerun re-reads the options, re-parses the decoder only when the
// payload id changes, and redraws only what changed.
//
// data (bytes) = two LEX1 containers (see vae/decoder_bytes.py): the options (JSON header only), then the payload
// (decoder weights, the test digits' codes and labels). A container is: "LEX1", uint32 LE header length, UTF-8 JSON header,
// zero padding to a multiple of 8, then the arrays at the offsets the header lists (from the container's start).

const PALETTE = ["#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288",
                 "#AA4499", "#44AA99", "#999933", "#882255", "#661100"]; // CARTO Safe: colour-blind safe
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t) {
  // viridis (van der Walt and Smith, matplotlib) by linear interpolation between five stops; t clipped to [0, 1]
  t = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}
const INSTANCES = new WeakMap(); // parentElement -> instance
const LINK_EVENT = "latent-plane:link";
const MARGIN = { left: 58, right: 12, top: 22, bottom: 48 }; // left + right = top + bottom: a square plot area
const NEAREST_PX = 6; // a click within this many pixels of a test digit reports that digit's index
const STATS_KEEP = 300; // recent samples kept per statistic
const ACT = { none: 0, relu: 1, elu: 2, tanh: 3 };
let F16_TABLE = null;
let NEXT_UID = 1;

// ---------------------------------------------------------------------------------------------------------------
// Payload parsing

function f16Table() {
  // All 65536 half-precision values as float32 (exact): converting 800k weights is then one lookup each.
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    let v;
    if (e === 0) v = f * 2 ** -24; // subnormal
    else if (e === 31) v = f ? NaN : Infinity;
    else v = (1 + f / 1024) * 2 ** (e - 15);
    t[h] = sign * v;
  }
  F16_TABLE = t;
  return t;
}

const align8 = (n) => n + ((8 - (n % 8)) % 8);

function readContainer(bytes, offset) {
  if (bytes.byteLength - offset < 8) throw new Error("payload is truncated (no container header)");
  const magic = String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
  if (magic !== "LEX1") throw new Error("not a latent-plane payload (magic bytes LEX1 missing)");
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  const n = view.getUint32(4, true);
  if (offset + 8 + n > bytes.byteLength) throw new Error("payload header is truncated");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(offset + 8, offset + 8 + n)));
  if (!header || !Array.isArray(header.arrays) || typeof header.data_bytes !== "number") {
    throw new Error("payload header lacks 'arrays' or 'data_bytes'");
  }
  const end = offset + align8(8 + n) + header.data_bytes;
  if (end > bytes.byteLength) throw new Error(`payload is truncated (${bytes.byteLength} of ${end} bytes)`);
  const entries = {};
  for (const e of header.arrays) entries[e.name] = e;
  return { header, entries, offset, end };
}

function readArray(bytes, container, name) {
  // A typed-array copy of one array (copied: the bytes Streamlit hands over need not be 4-byte aligned).
  const e = container.entries[name];
  if (!e) throw new Error(`payload has no array '${name}'`);
  const lo = container.offset + e.offset;
  if (lo + e.nbytes > container.end) throw new Error(`array '${name}' runs past the end of the payload`);
  const copy = new Uint8Array(e.nbytes);
  copy.set(bytes.subarray(lo, lo + e.nbytes));
  const count = e.shape.reduce((a, b) => a * b, 1);
  let out;
  switch (e.dtype) {
    case "float32": out = new Float32Array(copy.buffer); break;
    case "float16": {
      const half = new Uint16Array(copy.buffer);
      const table = f16Table();
      out = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
      break;
    }
    case "uint8": out = copy; break;
    case "uint16": out = new Uint16Array(copy.buffer); break;
    case "int32": out = new Int32Array(copy.buffer); break;
    default: throw new Error(`array '${name}' has unsupported dtype ${e.dtype}`);
  }
  if (out.length !== count) throw new Error(`array '${name}': ${out.length} values for shape [${e.shape}]`);
  return out;
}

function buildDecoder(bytes, c) {
  const h = c.header;
  if (h.kind !== "mlp_decoder") throw new Error(`payload kind is '${h.kind}', expected 'mlp_decoder'`);
  const layers = h.layers.map((l, i) => {
    const act = ACT[l.activation === null ? "none" : l.activation];
    if (act === undefined) throw new Error(`layer ${i}: activation '${l.activation}' is not supported`);
    const W = readArray(bytes, c, l.weight);
    const b = readArray(bytes, c, l.bias);
    if (W.length !== l.in * l.out || b.length !== l.out) throw new Error(`layer ${i}: weight or bias size is wrong`);
    return { W, b, n: l.in, m: l.out, act, alpha: (l.activation_params && l.activation_params.alpha) || 1.0 };
  });
  for (let i = 1; i < layers.length; i++) {
    if (layers[i].n !== layers[i - 1].m) throw new Error(`layer widths do not chain at layer ${i}`);
  }
  const latentDim = h.latent_dim;
  if (layers[0].n !== latentDim) throw new Error("first layer does not take latent_dim inputs");
  const nOut = layers[layers.length - 1].m;
  if (nOut !== 784) throw new Error(`decoder gives ${nOut} outputs, the plane draws 28x28 = 784`);
  // Preallocated activations and an index list: a decode allocates nothing.
  const bufs = [new Float32Array(latentDim), ...layers.map((l) => new Float32Array(l.m))];
  const nz = new Int32Array(Math.max(...layers.map((l) => l.n)));
  return { layers, bufs, nz, latentDim, nOut };
}

// y = act(b + sum_i x_i W[i, :]), W stored (in, out) row-major: the inner loop runs over contiguous outputs, inputs
// that are exactly zero (about half after a ReLU) are skipped, and four inputs share one pass over y.
function runDecoder(dec, z0, z1) {
  const bufs = dec.bufs, nz = dec.nz;
  const P = dec.proj; // a slice through a larger latent space (options.projection): z = z0 + a u + b v
  if (P) {
    for (let i = 0; i < dec.latentDim; i++) bufs[0][i] = P.z0[i] + z0 * P.u[i] + z1 * P.v[i];
  } else {
    bufs[0][0] = z0;
    if (dec.latentDim > 1) bufs[0][1] = z1;
  }
  for (let l = 0; l < dec.layers.length; l++) {
    const { W, b, n, m, act, alpha } = dec.layers[l];
    const x = bufs[l], y = bufs[l + 1];
    y.set(b);
    let k = 0;
    for (let i = 0; i < n; i++) if (x[i] !== 0) nz[k++] = i;
    let j = 0;
    for (; j + 3 < k; j += 4) {
      const i0 = nz[j], i1 = nz[j + 1], i2 = nz[j + 2], i3 = nz[j + 3];
      const x0 = x[i0], x1 = x[i1], x2 = x[i2], x3 = x[i3];
      const r0 = i0 * m, r1 = i1 * m, r2 = i2 * m, r3 = i3 * m;
      for (let o = 0; o < m; o++) y[o] += (W[r0 + o] * x0 + W[r1 + o] * x1) + (W[r2 + o] * x2 + W[r3 + o] * x3);
    }
    for (; j < k; j++) {
      const i0 = nz[j], x0 = x[i0], r0 = i0 * m;
      for (let o = 0; o < m; o++) y[o] += W[r0 + o] * x0;
    }
    if (act === 1) { for (let o = 0; o < m; o++) if (y[o] < 0) y[o] = 0; }
    else if (act === 2) { for (let o = 0; o < m; o++) if (y[o] < 0) y[o] = alpha * Math.expm1(y[o]); }
    else if (act === 3) { for (let o = 0; o < m; o++) y[o] = Math.tanh(y[o]); }
  }
  return bufs[bufs.length - 1]; // Bernoulli logits, length 784
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function niceStep(span, target) {
  const raw = span / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const r = raw / p;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

function fmtTick(v, step) {
  const d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = (Math.abs(v) < step / 1e6 ? 0 : v).toFixed(d);
  return s.replace("-", "\u2212");
}

const fmtZ = (v) => (v < 0 ? "\u2212" : "+") + Math.abs(v).toFixed(3);

function pushStat(arr, v) {
  arr.push(v);
  if (arr.length > STATS_KEEP) arr.splice(0, arr.length - STATS_KEEP);
}

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function haloText(ctx, text, x, y) {
  ctx.lineWidth = 4;
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.strokeText(text, x, y);
  ctx.fillText(text, x, y);
}

// ---------------------------------------------------------------------------------------------------------------
// One plane

class Plane {
  constructor(parentElement) {
    this.uid = NEXT_UID++;
    this.parent = parentElement;
    this.key = null;
    this.dec = null;
    this.payloadId = null;
    this.points = null; // Float32Array (n * 2)
    this.labels = null; // Uint8Array (n)
    this.logvar = null; // Float32Array (n * 2) or null
    this.px = null; // the points' pixel positions (CSS px in the plane canvas), recomputed when the view changes
    this.py = null;
    this.opts = null;
    this.optsText = null;
    this.baseText = null;
    this.view = { x: [-4, 4], y: [-4, 4] };
    this.size = 0;
    this.hoverZ = null; // pointer over the plane
    this.keyZ = null; // moved with the arrow keys
    this.linkedZ = null; // broadcast by another plane of the link group
    this.linkedFrom = "";
    this.pinned = null; // [x, y]
    this.optsPinned = null; // the last pinned_z Python sent (a change overrides a local click)
    this.seq = 0;
    this.linkOn = true;
    this.raf = 0;
    this.pendingSince = null;
    this.shown = null; // {z, source}
    this.lastZ = new Float64Array(2); // the z of the digit on screen
    this.pixels = new Float32Array(784); // sigmoid of the logits on screen
    this.lastDecode = null; // {z, pixels} once something was decoded
    this.setStateValue = null;
    this.renders = 0;
    this.stats = null;
    this.buildDom();
    this.listen();
  }

  buildDom() {
    const root = (this.root = el("div", "lp-root"));
    this.titleEl = el("div", "lp-title", root);
    const body = (this.body = el("div", "lp-body", root));
    const plane = (this.planeEl = el("div", "lp-plane", body));
    plane.tabIndex = 0;
    plane.setAttribute("role", "application");
    plane.setAttribute("aria-label",
      "Latent plane. Move the pointer or use the arrow keys to decode a code z; click or press Enter to pin it.");
    this.base = el("canvas", "lp-base", plane);
    this.over = el("canvas", "lp-over", plane);
    const side = (this.side = el("div", "lp-side", body));
    this.digit = el("canvas", "lp-digit", side);
    this.small = document.createElement("canvas");
    this.small.width = 28;
    this.small.height = 28;
    this.smallCtx = this.small.getContext("2d");
    this.image = this.smallCtx.createImageData(28, 28);
    this.zEl = el("div", "lp-z", side, "z = ");
    this.sourceEl = el("div", "lp-source", side, "");
    this.nearEl = el("div", "lp-near", side, "");
    this.pinEl = el("div", "lp-pin", side, "");
    const link = (this.linkLabel = el("label", "lp-link", side));
    this.linkBox = el("input", null, link);
    this.linkBox.type = "checkbox";
    this.linkBox.checked = true;
    el("span", null, link, " same z in linked planes");
    const legend = el("div", "lp-legend", side);
    PALETTE.forEach((c, d) => {
      const item = el("span", "lp-legend-item", legend);
      el("span", "lp-dot", item).style.background = c;
      el("span", null, item, String(d));
    });
    el("div", "lp-help", side,
       "hover or drag: decode \u00b7 click or Enter: pin \u00b7 arrow keys: nudge (Shift: \u00d710) \u00b7 "
       + "wheel or pinch: zoom, double-click: whole view");
    this.messageEl = el("div", "lp-message", root);
    this.messageEl.hidden = true;
    this.parent.appendChild(root);
  }

  listen() {
    const over = this.over;
    this.onMove = (e) => {
      const z = this.eventZ(e);
      this.keyZ = null;
      this.hoverZ = z;
      this.broadcast(z, e.timeStamp);
      this.request(e.timeStamp);
    };
    this.onLeave = (e) => {
      this.hoverZ = null;
      this.broadcast(null, e.timeStamp);
      this.request(e.timeStamp);
    };
    this.onClick = (e) => {
      const z = this.eventZ(e);
      if (z) this.pin(z);
    };
    this.onKey = (e) => this.key_(e);
    this.onLink = (e) => this.receive(e.detail);
    this.onLinkBox = () => {
      this.linkOn = this.linkBox.checked;
      if (!this.linkOn) this.linkedZ = null;
      this.request();
    };
    this.frame = () => this.drawFrame();
    over.addEventListener("pointermove", this.onMove);
    over.addEventListener("pointerleave", this.onLeave);
    over.addEventListener("click", this.onClick);
    // zoom: the wheel or two fingers about the pointer, a double-click back to the page's view
    over.addEventListener("wheel", (e) => {
      const z = this.eventZ(e);
      if (!z) return;
      e.preventDefault();
      this.zoomAt(z, Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.002));
    }, { passive: false });
    over.addEventListener("dblclick", () => this.resetZoom());
    over.addEventListener("pointerdown", (e) => { if (e.pointerType === "touch") this.onPinch(e, "down"); });
    over.addEventListener("pointermove", (e) => { if (e.pointerType === "touch") this.onPinch(e, "move"); });
    for (const type of ["pointerup", "pointercancel"])
      over.addEventListener(type, (e) => { if (e.pointerType === "touch") this.onPinch(e, "up"); });
    this.planeEl.addEventListener("keydown", this.onKey);
    this.linkBox.addEventListener("change", this.onLinkBox);
    window.addEventListener(LINK_EVENT, this.onLink);
    this.resizer = new ResizeObserver(() => this.layout());
    // presentation: what lies above a plane settles late (images, spinners); check the fit to the window each second
    this.fitTimer = setInterval(() => { if (this.opts && this.opts.projector) this.layout(); }, 1000);
    this.resizer.observe(this.root);
    this.cleanup = () => this.destroy();
  }

  destroy() {
    const over = this.over;
    over.removeEventListener("pointermove", this.onMove);
    over.removeEventListener("pointerleave", this.onLeave);
    over.removeEventListener("click", this.onClick);
    this.planeEl.removeEventListener("keydown", this.onKey);
    this.linkBox.removeEventListener("change", this.onLinkBox);
    clearInterval(this.fitTimer);
    window.removeEventListener(LINK_EVENT, this.onLink);
    this.resizer.disconnect();
    if (this.raf) cancelAnimationFrame(this.raf);
    clearTimeout(this.askTimer);
    this.destroyed = true;
    this.root.remove();
    INSTANCES.delete(this.parent);
    const hooks = window.__latentPlane;
    if (hooks && this.key !== null && hooks[this.key] && hooks[this.key].uid === this.uid) delete hooks[this.key];
  }

  // ----- options and payload -----------------------------------------------------------------------------------

  update(data) {
    let bytes = data;
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!(bytes instanceof Uint8Array)) throw new Error("expected the plane's data as bytes");
    const oc = readContainer(bytes, 0);
    if (oc.header.kind !== "plane_options") throw new Error("the first container is not the plane's options");
    const opts = oc.header.options;
    this.setKey(String(opts.key));
    // The payload (decoder and points) follows the options only when the server sends it: once per session and
    // plane, or when this plane asked for it. Otherwise the options name the payload this plane should hold.
    this.wantedPayload = opts.payload_id;
    if (oc.end >= bytes.length && this.failedPayload === opts.payload_id) return; // keep showing why it failed
    let pc = oc.end < bytes.length ? readContainer(bytes, oc.end) : null;
    if (pc && pc.header.kind === "payload_ref") { // the payload as a static file: fetched once, cached by the browser
      this.payloadRef = pc.header;
      pc = null;
    }
    if (!pc && (opts.payload_id !== this.payloadId || !this.dec) && this.fetched &&
        this.fetched.id === opts.payload_id) {
      bytes = this.fetched.bytes;
      pc = readContainer(bytes, 0);
    }
    this.fetched = null;
    if (!pc && (opts.payload_id !== this.payloadId || !this.dec)) {
      const ref = this.payloadRef;
      if (ref && ref.payload_id === opts.payload_id && this.refFailed !== ref.payload_id) this.fetchPayload(ref, data);
      else this.askForPayload(opts.payload_id, this.refFailed === opts.payload_id);
      this.messageEl.textContent = "Loading the decoder\u2026";
      this.messageEl.hidden = false;
      return;
    }
    let payloadChanged = false;
    if (pc && (pc.header.payload_id !== this.payloadId || !this.dec)) {
      this.payloadId = null;
      this.dec = buildDecoder(bytes, pc);
      const pts = readArray(bytes, pc, "points");
      this.dim = (pc.entries.points.shape && pc.entries.points.shape[1]) || 2; // > 2: codes of a larger space
      const n = pts.length / this.dim;
      this.points = pts;
      this.labels = pc.entries.labels ? readArray(bytes, pc, "labels") : new Uint8Array(n);
      this.logvar = pc.entries.logvar ? readArray(bytes, pc, "logvar") : null;
      this.px = new Float32Array(n);
      this.py = new Float32Array(n);
      this.payloadId = pc.header.payload_id;
      this.requestedPayload = null;
      this.lastDecode = null;
      payloadChanged = true;
    }
    this.messageEl.hidden = true;
    this.body.hidden = false;
    const optsText = JSON.stringify(opts);
    if (!payloadChanged && optsText === this.optsText) return;
    this.optsText = optsText;
    this.opts = opts;
    this.root.classList.toggle("lp-projector", !!opts.projector);
    this.titleEl.textContent = opts.title || "";
    this.titleEl.hidden = !opts.title;
    this.linkLabel.hidden = !opts.link_group;
    const pinnedText = JSON.stringify(opts.pinned_z || null);
    if (pinnedText !== this.optsPinned) {
      this.optsPinned = pinnedText;
      this.pinned = opts.pinned_z ? [opts.pinned_z[0], opts.pinned_z[1]] : null;
    }
    this.setView(opts.view);
    this.setProjection(opts.projection || null, payloadChanged, opts.whiten || null);
    const baseText = JSON.stringify([this.view, opts.circles, opts.extra_ellipses, opts.overlay_points, opts.heatmap,
                                     this.payloadId, !!opts.projector, opts.projection || null, opts.axis_labels,
                                     opts.dot_px, opts.dot_alpha]);
    const sized = this.layout(); // redraws everything if the size changed
    if (!sized && (payloadChanged || baseText !== this.baseText)) this.drawBase();
    this.baseText = baseText;
    this.request();
  }

  setProjection(p, payloadChanged, whiten) {
    // A plane z = z0 + a u + b v through the latent space (a slice of a larger one, or a 2-D space in other units):
    // the decoder takes (a, b) into z; the codes are drawn where they project orthogonally onto the plane,
    // G^-1 [(c - z0).u, (c - z0).v] with G = [[u.u, u.v], [u.v, v.v]]; with "whiten" ({mean, matrix W}) the distance
    // from z to the nearest code is read in units of the codes' own spread, |W (z - c)| (also without a projection,
    // from the top-level option "whiten": {mean, matrix, gap, far}).
    const text = JSON.stringify([p, whiten]);
    if (!payloadChanged && text === this.projText) return;
    this.projText = text;
    const d = this.dim || 2, n = this.labels.length, pts = this.points;
    this.proj = null;
    this.wcodes = null;
    this.root.classList.toggle("lp-sliced", !!p && d > 2); // a slice through a larger space (latent_plane.css)
    this.whiten = (p && p.whiten) || whiten;
    if (this.dec) this.dec.proj = null;
    this.planePts = d === 2 && !p ? pts : new Float32Array(2 * n);
    if (this.whiten) {
      if (this.whiten.mean.length !== d) throw new Error(`whitening has ${this.whiten.mean.length} coordinates, the codes ${d}`);
      const W = this.whiten.matrix, m = this.whiten.mean, w = (this.wcodes = new Float32Array(n * d));
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < d; r++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += W[r * d + k] * (pts[d * i + k] - m[k]);
          w[d * i + r] = s;
        }
      }
      this.wz = new Float64Array(d);
      this.zq = new Float64Array(d);
    }
    if (!p) { // no slice: a larger space shows its first two coordinates
      if (d > 2) for (let i = 0; i < n; i++) { this.planePts[2 * i] = pts[d * i]; this.planePts[2 * i + 1] = pts[d * i + 1]; }
      return;
    }
    if (p.z0.length !== d || p.u.length !== d || p.v.length !== d || d !== this.dec.latentDim) {
      throw new Error(`the slice has ${p.z0.length} coordinates, the model's codes ${d}`);
    }
    let uu = 0, vv = 0, uv = 0;
    for (let k = 0; k < d; k++) { uu += p.u[k] * p.u[k]; vv += p.v[k] * p.v[k]; uv += p.u[k] * p.v[k]; }
    const det = uu * vv - uv * uv;
    if (!(det > 0)) throw new Error("the plane's two directions are parallel");
    for (let i = 0; i < n; i++) {
      let cu = 0, cv = 0;
      for (let k = 0; k < d; k++) { const c = pts[d * i + k] - p.z0[k]; cu += c * p.u[k]; cv += c * p.v[k]; }
      this.planePts[2 * i] = (vv * cu - uv * cv) / det;
      this.planePts[2 * i + 1] = (uu * cv - uv * cu) / det;
    }
    this.proj = p;
    this.dec.proj = { z0: Float64Array.from(p.z0), u: Float64Array.from(p.u), v: Float64Array.from(p.v) };
  }

  nearestCode(ab) {
    // The code nearest to the plane point (a, b) in whitened units: {index, distance}, or null without "whiten".
    if (!this.wcodes) return null;
    const p = this.proj, d = this.dim, W = this.whiten.matrix, m = this.whiten.mean, wz = this.wz, w = this.wcodes;
    const zq = this.zq; // the latent z at (a, b)
    for (let k = 0; k < d; k++) zq[k] = p ? p.z0[k] + ab[0] * p.u[k] + ab[1] * p.v[k] : ab[k];
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += W[r * d + k] * (zq[k] - m[k]);
      wz[r] = s;
    }
    let best = -1, bestD = Infinity;
    for (let i = 0, n = this.labels.length; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d && s < bestD; k++) { const t = w[d * i + k] - wz[k]; s += t * t; }
      if (s < bestD) { bestD = s; best = i; }
    }
    return { index: best, distance: Math.sqrt(bestD) };
  }

  setKey(key) {
    if (key === this.key) return;
    this.key = key;
    const allStats = (window.__latentPlaneStats = window.__latentPlaneStats || {});
    const stats = (allStats[key] = allStats[key] || { decodeMs: [], frameLatencyMs: [], decodes: 0, inits: 0,
                                                      renders: 0 });
    stats.inits += 1; // canvases and listeners were created for this key (once per mount, not per rerun)
    this.stats = stats;
    const self = this;
    const hooks = (window.__latentPlane = window.__latentPlane || {});
    hooks[key] = {
      uid: this.uid,
      get lastDecode() { return self.lastDecode; }, // {z: [x, y], pixels: Float32Array(784)}: what is on screen
      get view() { return self.view; },
      get zoomed() { return !!self.zoomView; },
      get minLabelPx() { return Math.round(13 * self.fontScale()); }, // the smallest text drawn in the plane
      get pinned() { return self.pinned; },
      get shown() { return self.shown; },
      get payloadId() { return self.payloadId; },
      get stats() { return self.stats; },
      get renders() { return self.renders; },
      get linkOn() { return self.linkOn; },
      get nearestCode() { return self.codeNear || null; }, // slices: {index, distance} in code spreads
      get planePoints() { return self.planePts; }, // slices: the codes' (a, b), Float32Array(2 n)
      decode: (z) => {
        // sigmoid(decode(z)) as a plain array: the test hook for parity with torch (leaves the screen alone).
        const logits = runDecoder(self.dec, z[0], z[1]);
        return Array.from(logits, (v) => 1 / (1 + Math.exp(-v)));
      },
      plotRect: () => { // the data area in client (viewport) coordinates
        const r = self.over.getBoundingClientRect();
        const w = self.size - MARGIN.left - MARGIN.right;
        return { left: r.left + MARGIN.left, top: r.top + MARGIN.top, width: w, height: w };
      },
      zToClient: (z) => {
        const r = self.over.getBoundingClientRect();
        return { x: r.left + self.zx2px(z[0]), y: r.top + self.zy2px(z[1]) };
      },
    };
  }

  setView(v) {
    // Equal scale on both axes (circles stay round): widen the shorter range about its centre.
    const x = (v && v.x) || [-4, 4], y = (v && v.y) || [-4, 4];
    const span = Math.max(x[1] - x[0], y[1] - y[0]);
    const cx = (x[0] + x[1]) / 2, cy = (y[0] + y[1]) / 2;
    const home = { x: [cx - span / 2, cx + span / 2], y: [cy - span / 2, cy + span / 2] };
    const homeText = JSON.stringify(home);
    if (homeText !== this.homeText) this.zoomView = null; // another model or view: the zoom starts over
    this.homeText = homeText;
    this.homeView = home;
    this.view = this.zoomView || home;
  }

  zoomAt(z, factor) {
    // Zoom by `factor` (> 1: in) about z, which stays under the same pixel, so the pointer still decodes the z it
    // points at. Never out beyond the view the page set, nor in below 1/400 of it (a digit's q(z|x) has sigma of a
    // few hundredths in a view several units wide: zoomed in, its ellipses and eps draws can be seen).
    const h = this.homeView, v = this.view;
    if (!h || !z || !(factor > 0)) return;
    const homeSpan = h.x[1] - h.x[0];
    const span = Math.min(homeSpan, Math.max(homeSpan / 400, (v.x[1] - v.x[0]) / factor));
    const fx = (z[0] - v.x[0]) / (v.x[1] - v.x[0]), fy = (z[1] - v.y[0]) / (v.y[1] - v.y[0]);
    const x0 = z[0] - fx * span, y0 = z[1] - fy * span;
    this.zoomView = span >= homeSpan * (1 - 1e-9) ? null : { x: [x0, x0 + span], y: [y0, y0 + span] };
    this.view = this.zoomView || h;
    this.drawBase();
    this.request();
  }

  resetZoom() {
    if (!this.zoomView) return;
    this.zoomView = null;
    this.view = this.homeView;
    this.drawBase();
    this.request();
  }

  onPinch(e, phase) {
    // Two fingers on the plane zoom about their midpoint (one finger still decodes; a swipe scrolls the page).
    const t = (this.touches = this.touches || new Map());
    if (phase === "down") t.set(e.pointerId, [e.clientX, e.clientY]);
    else if (phase === "up") { t.delete(e.pointerId); this.pinchD = null; return; }
    else if (t.has(e.pointerId)) t.set(e.pointerId, [e.clientX, e.clientY]);
    if (t.size !== 2) { this.pinchD = null; return; }
    const [a, b] = [...t.values()];
    const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
    const mid = this.eventZ({ clientX: (a[0] + b[0]) / 2, clientY: (a[1] + b[1]) / 2 });
    if (this.pinchD && mid && d > 0) this.zoomAt(mid, d / this.pinchD);
    this.pinchD = d;
    e.preventDefault();
  }

  askForPayload(id, inline = false) {
    // Ask the server to send the payload with the next run; ask again every 3 s until it arrives (a request can
    // be lost when another rerun interrupts the one it started). inline: send the bytes, not a file's URL.
    if (this.requestedPayload === id || !this.setTriggerValue) return;
    this.requestedPayload = id;
    this.setTriggerValue("need_payload", inline ? `inline:${id}` : id);
    clearTimeout(this.askTimer);
    this.askTimer = setTimeout(() => {
      if (this.payloadId !== id && this.wantedPayload === id && this.requestedPayload === id) {
        this.requestedPayload = null;
        this.askForPayload(id, inline);
      }
    }, 3000);
  }

  fetchPayload(ref, data) {
    // GET the payload's static file (its name is a hash of its content, so the browser may keep it), then run the
    // newest data again with it. A failed fetch asks the server for the bytes instead.
    this.latestData = data;
    if (this.fetching === ref.url) return;
    this.fetching = ref.url;
    fetch(new URL(ref.url, document.baseURI))
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.arrayBuffer();
      })
      .then((buf) => { this.fetched = { id: ref.payload_id, bytes: new Uint8Array(buf) }; },
            () => { this.refFailed = ref.payload_id; })
      .then(() => {
        this.fetching = null;
        if (this.destroyed) return;
        try {
          this.update(this.latestData);
        } catch (err) {
          this.showError(err);
        }
      });
  }

  showError(err) {
    this.failedPayload = this.wantedPayload; // options-only reruns keep this message instead of asking again
    this.messageEl.textContent = `The latent plane cannot be drawn: ${err && err.message ? err.message : err}. ` +
      "Reload the page; if this stays, the model's payload is damaged (see vae/decoder_bytes.py).";
    this.messageEl.hidden = false;
    this.body.hidden = true;
    this.dec = null;
    this.payloadId = null;
  }

  // ----- geometry -----------------------------------------------------------------------------------------------

  layout() {
    if (!this.opts) return false;
    const width = this.root.clientWidth || 600;
    let want = this.opts.height || 420;
    if (this.opts.projector) { // presentation: the plane ends inside the window, so nothing needs a scroll
      const fit = Math.floor(window.innerHeight - this.planeEl.getBoundingClientRect().top - 14);
      if (fit > 0) want = Math.min(want, Math.max(300, fit));
    }
    const digitPx = this.opts.digit_px || 224;
    const sideW = Math.max(digitPx, this.opts.side_px || 0) + 2; // side_px: room for a longer readout
    const zoom = Number(getComputedStyle(this.side).zoom) || 1; // latent_plane.css may enlarge the side (wide windows)
    const room = width - sideW * zoom - (this.opts.projector ? 10 : 20); // the gap in latent_plane.css, and rounding
    // with side_px in projector mode the side stays beside the plane, which gives way down to 200 px (a sidebar left
    // open on a projector); in the normal layout a side that does not fit goes under the plane as a row: the digit,
    // its readout beside it
    const beside = !!(this.opts.projector && this.opts.side_px);
    const size = Math.round(beside ? Math.max(200, Math.min(want, room))
      : Math.max(260, Math.min(want, room >= 260 ? room : width)));
    const stacked = !!this.opts.side_px && !beside && room < 260;
    this.root.classList.toggle("lp-stacked", stacked);
    this.side.style.width = stacked ? "" : `${sideW}px`;
    const dpr = window.devicePixelRatio || 1;
    if (size === this.size && digitPx === this.digitPx && dpr === this.dpr) return false;
    this.size = size;
    this.digitPx = digitPx;
    this.dpr = dpr;
    this.planeEl.style.width = this.planeEl.style.height = `${size}px`;
    for (const c of [this.base, this.over]) {
      c.width = Math.round(size * dpr);
      c.height = Math.round(size * dpr);
      c.style.width = c.style.height = `${size}px`;
    }
    this.digit.width = Math.round(digitPx * dpr);
    this.digit.height = Math.round(digitPx * dpr);
    this.digit.style.width = this.digit.style.height = `${digitPx}px`;
    this.drawBase();
    this.lastDecode = null; // force a redraw of the digit at the new size
    this.request();
    return true;
  }

  plotW() { return this.size - MARGIN.left - MARGIN.right; }
  zx2px(x) { return MARGIN.left + ((x - this.view.x[0]) / (this.view.x[1] - this.view.x[0])) * this.plotW(); }
  zy2px(y) { return MARGIN.top + ((this.view.y[1] - y) / (this.view.y[1] - this.view.y[0])) * this.plotW(); }

  eventZ(e) {
    // Pointer position -> z; null outside the data area.
    const r = this.over.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top, w = this.plotW();
    const fx = (px - MARGIN.left) / w, fy = (py - MARGIN.top) / w;
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return null;
    const v = this.view;
    return [v.x[0] + fx * (v.x[1] - v.x[0]), v.y[1] - fy * (v.y[1] - v.y[0])];
  }

  nearest(z) {
    // Index of the test digit drawn within NEAREST_PX pixels of z, or null.
    if (!this.points || !z) return null;
    const qx = this.zx2px(z[0]), qy = this.zy2px(z[1]);
    const px = this.px, py = this.py;
    let best = -1, bestD = NEAREST_PX * NEAREST_PX;
    for (let i = 0; i < px.length; i++) {
      const dx = px[i] - qx, dy = py[i] - qy, d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best < 0 ? null : best;
  }

  // ----- interaction ------------------------------------------------------------------------------------------

  pin(z) {
    this.pinned = [z[0], z[1]];
    this.seq += 1;
    const value = { z: [z[0], z[1]], nearest_index: this.nearest(z), seq: this.seq };
    if (this.setStateValue) this.setStateValue("pinned", value);
    this.request();
  }

  key_(e) {
    const step = ((this.view.x[1] - this.view.x[0]) / 100) * (e.shiftKey ? 10 : 1);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      e.preventDefault();
      const from = this.keyZ || this.current().z; // nudge what is on screen
      const v = this.view;
      const z = [Math.min(v.x[1], Math.max(v.x[0], from[0] + moves[e.key][0])),
                 Math.min(v.y[1], Math.max(v.y[0], from[1] + moves[e.key][1]))];
      this.keyZ = z;
      this.broadcast(z, e.timeStamp);
      this.request(e.timeStamp);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      const z = this.keyZ || this.hoverZ || (this.shown && this.shown.z);
      if (z) this.pin(z);
    } else if (e.key === "Escape") {
      this.keyZ = null;
      this.broadcast(null, e.timeStamp);
      this.request(e.timeStamp);
    }
  }

  broadcast(z, t) {
    if (!this.opts || !this.opts.link_group || !this.linkOn) return;
    window.dispatchEvent(new CustomEvent(LINK_EVENT, {
      detail: { group: this.opts.link_group, source: this.uid, title: this.opts.title || "", z, t },
    }));
  }

  receive(d) {
    if (!d || !this.opts || d.source === this.uid || d.group !== this.opts.link_group || !this.linkOn) return;
    this.linkedZ = d.z ? [d.z[0], d.z[1]] : null;
    this.linkedFrom = d.title;
    this.request(d.t);
  }

  centre() {
    return [(this.view.x[0] + this.view.x[1]) / 2, (this.view.y[0] + this.view.y[1]) / 2];
  }

  current() {
    if (this.hoverZ) return { z: this.hoverZ, source: "pointer" };
    if (this.keyZ) return { z: this.keyZ, source: "keys" };
    if (this.linkedZ) return { z: this.linkedZ, source: "linked" };
    if (this.pinned) return { z: this.pinned, source: "pinned" };
    return { z: this.centre(), source: "centre" };
  }

  request(eventTime) {
    // Coalesce: any number of events between two frames cost one decode, on the next animation frame.
    if (eventTime !== undefined && this.pendingSince === null) this.pendingSince = eventTime;
    if (!this.raf) this.raf = requestAnimationFrame(this.frame);
  }

  // ----- drawing ----------------------------------------------------------------------------------------------

  drawFrame() {
    this.raf = 0;
    if (!this.dec || !this.size) return;
    const shown = (this.shown = this.current());
    const z = shown.z;
    if (!this.lastDecode || this.lastZ[0] !== z[0] || this.lastZ[1] !== z[1]) {
      const t0 = performance.now();
      const logits = runDecoder(this.dec, z[0], z[1]);
      const p = this.pixels;
      for (let i = 0; i < 784; i++) p[i] = 1 / (1 + Math.exp(-logits[i]));
      const dt = performance.now() - t0;
      this.lastZ[0] = z[0];
      this.lastZ[1] = z[1];
      this.lastDecode = { z: [z[0], z[1]], pixels: p };
      this.stats.decodes += 1;
      pushStat(this.stats.decodeMs, dt);
      this.drawDigit();
    }
    this.drawOverlay(shown);
    this.drawText(shown);
    if (this.pendingSince !== null) {
      pushStat(this.stats.frameLatencyMs, performance.now() - this.pendingSince);
      this.pendingSince = null;
    }
  }

  drawDigit() {
    const p = this.pixels, d = this.image.data;
    for (let i = 0; i < 784; i++) { // white ink on black, as MNIST is stored
      const v = Math.round(p[i] * 255);
      d[4 * i] = v; d[4 * i + 1] = v; d[4 * i + 2] = v; d[4 * i + 3] = 255;
    }
    this.smallCtx.putImageData(this.image, 0, 0);
    const ctx = this.digit.getContext("2d");
    ctx.imageSmoothingEnabled = false; // crisp 8x8 blocks per pixel, no blur
    ctx.drawImage(this.small, 0, 0, this.digit.width, this.digit.height);
  }

  drawHeatmap(ctx, hm) {
    // A map computed on the server over a grid of z (row-major, top row = highest z2), drawn under the digits:
    // n x n cells coloured through viridis between vmin and vmax, smoothed, half transparent.
    const n = hm.n, vals = hm.values, lo = hm.vmin, hi = hm.vmax;
    if (!n || !vals || vals.length !== n * n || !(hi > lo)) return;
    if (!this.heatCanvas) this.heatCanvas = document.createElement("canvas");
    const c = this.heatCanvas;
    c.width = n; c.height = n;
    const hctx = c.getContext("2d"), img = hctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const rgb = viridis((vals[i] - lo) / (hi - lo));
      img.data[4 * i] = rgb[0]; img.data[4 * i + 1] = rgb[1]; img.data[4 * i + 2] = rgb[2]; img.data[4 * i + 3] = 255;
    }
    hctx.putImageData(img, 0, 0);
    const x0 = this.zx2px(hm.x[0]), x1 = this.zx2px(hm.x[1]), y0 = this.zy2px(hm.y[1]), y1 = this.zy2px(hm.y[0]);
    const cw = (x1 - x0) / (n - 1), ch = (y1 - y0) / (n - 1); // cell centres sit on the grid codes
    ctx.save();
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = 0.6;
    ctx.drawImage(c, x0 - cw / 2, y0 - ch / 2, x1 - x0 + cw, y1 - y0 + ch);
    ctx.restore();
  }

  strokeScale() { return this.opts && this.opts.projector ? 2 : 1; }

  fontScale() { return this.opts && this.opts.projector ? 1.4 : 1; }

  drawBase() {
    const k = this.strokeScale(), kf = this.fontScale(); // projector mode: thicker, larger
    if (!this.opts || !this.size || !this.points) return;
    const ctx = this.base.getContext("2d");
    const dpr = this.dpr, S = this.size, w = this.plotW(), L = MARGIN.left, T = MARGIN.top;
    const font = getComputedStyle(this.root).fontFamily || "sans-serif";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, S, S);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, S, S);
    const v = this.view, span = v.x[1] - v.x[0];
    // about 6 ticks, fewer where their labels would touch (large type on a small plane: "\u22121.5\u22121.0...")
    ctx.font = `${Math.round(14 * kf)}px ${font}`;
    const gapPx = (st) => {
      let widest = 0;
      for (let t = Math.ceil(v.x[0] / st) * st; t <= v.x[1] + 1e-9; t += st)
        widest = Math.max(widest, ctx.measureText(fmtTick(t, st)).width);
      return (st / span) * w - widest;
    };
    let step = niceStep(span, 6);
    for (let target = 5; target >= 2 && gapPx(step) < 6 * kf; target--) step = niceStep(span, target);
    const ticksX = [], ticksY = [];
    for (let t = Math.ceil(v.x[0] / step) * step; t <= v.x[1] + 1e-9; t += step) ticksX.push(t);
    for (let t = Math.ceil(v.y[0] / step) * step; t <= v.y[1] + 1e-9; t += step) ticksY.push(t);
    // grid
    ctx.strokeStyle = "#e6e6e6";
    ctx.lineWidth = (1) * k;
    ctx.beginPath();
    for (const t of ticksX) { const x = Math.round(this.zx2px(t)) + 0.5; ctx.moveTo(x, T); ctx.lineTo(x, T + w); }
    for (const t of ticksY) { const y = Math.round(this.zy2px(t)) + 0.5; ctx.moveTo(L, y); ctx.lineTo(L + w, y); }
    ctx.stroke();
    ctx.save();
    ctx.beginPath();
    ctx.rect(L, T, w, w);
    ctx.clip();
    if (this.opts.heatmap) this.drawHeatmap(ctx, this.opts.heatmap);
    // the test digits, one path per digit class
    const pts = this.planePts || this.points, labels = this.labels, n = labels.length, px = this.px, py = this.py;
    for (let i = 0; i < n; i++) { px[i] = this.zx2px(pts[2 * i]); py[i] = this.zy2px(pts[2 * i + 1]); }
    const r = (this.opts.dot_px || (S >= 400 ? 1.9 : 1.6)) * (k > 1 ? 1.5 : 1); // dot radius, px
    ctx.globalAlpha = this.opts.dot_alpha || 0.8; // a slice's projected codes: lighter, the map shows through
    for (let d = 0; d < 10; d++) {
      ctx.fillStyle = PALETTE[d];
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (labels[i] !== d) continue;
        ctx.moveTo(px[i] + r, py[i]);
        ctx.arc(px[i], py[i], r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    // prior N(0, I): circles of radius 1, 2, 3 sigma
    const unit = w / span;
    ctx.font = `600 ${Math.round(13 * kf)}px ${font}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    let lastLabelled = -Infinity; // label a circle only when it is big enough and clear of the previous label
    for (const rad of [...(this.opts.circles || [])].sort((a, b) => a - b)) {
      ctx.strokeStyle = "#222222";
      ctx.lineWidth = (1.5) * k;
      ctx.setLineDash(rad > 1 ? [6, 4] : []);
      ctx.beginPath();
      ctx.arc(this.zx2px(0), this.zy2px(0), rad * unit, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
      const a = Math.PI / 4, rpx = rad * unit;
      if (rpx >= 18 && rpx - lastLabelled >= 22) {
        ctx.fillStyle = "#222222";
        haloText(ctx, `${rad}\u03c3`, this.zx2px(rad * Math.cos(a)) + 3, this.zy2px(rad * Math.sin(a)) - 7);
        lastLabelled = rpx;
      }
    }
    // extra ellipses: an AE's fitted Gaussian, a digit's q(z|x), ...
    for (const e of this.opts.extra_ellipses || []) {
      if (!e.x || e.x.length < 2) continue;
      ctx.strokeStyle = e.color || "#d62728";
      ctx.lineWidth = (e.width || 2) * k;
      ctx.setLineDash(e.dash ? [6, 4] : []);
      ctx.beginPath();
      ctx.moveTo(this.zx2px(e.x[0]), this.zy2px(e.y[0]));
      for (let i = 1; i < e.x.length; i++) ctx.lineTo(this.zx2px(e.x[i]), this.zy2px(e.y[i]));
      ctx.stroke();
      ctx.setLineDash([]);
      if (e.label) {
        let top = 0; // label beside the ellipse's highest point
        for (let i = 1; i < e.y.length; i++) if (e.y[i] > e.y[top]) top = i;
        ctx.fillStyle = e.color || "#d62728";
        haloText(ctx, e.label, this.zx2px(e.x[top]) + 4, this.zy2px(e.y[top]) - 9);
      }
    }
    // overlay points: e.g. draws z = mu + sigma * eps
    for (const g of this.opts.overlay_points || []) {
      ctx.strokeStyle = g.color || "#000000";
      ctx.lineWidth = (1.6) * k;
      const s = g.size || 3.5;
      ctx.beginPath();
      for (let i = 0; i < g.x.length; i++) {
        const x = this.zx2px(g.x[i]), y = this.zy2px(g.y[i]);
        ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s);
        ctx.moveTo(x - s, y + s); ctx.lineTo(x + s, y - s);
      }
      ctx.stroke();
      if (g.label && g.x.length) {
        ctx.fillStyle = g.color || "#000000";
        haloText(ctx, g.label, this.zx2px(g.x[0]) + 6, this.zy2px(g.y[0]) + 10);
      }
    }
    ctx.restore();
    // frame, ticks, labels
    ctx.strokeStyle = "#444444";
    ctx.lineWidth = (1) * k;
    ctx.strokeRect(L + 0.5, T + 0.5, w - 1, w - 1);
    ctx.fillStyle = "#262730";
    ctx.font = `${Math.round(14 * kf)}px ${font}`;
    ctx.beginPath();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticksX) {
      const x = Math.round(this.zx2px(t)) + 0.5;
      ctx.moveTo(x, T + w); ctx.lineTo(x, T + w + 5);
      ctx.fillText(fmtTick(t, step), x, T + w + 7);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of ticksY) {
      const y = Math.round(this.zy2px(t)) + 0.5;
      ctx.moveTo(L - 5, y); ctx.lineTo(L, y);
      ctx.fillText(fmtTick(t, step), L - 8, y);
    }
    ctx.stroke();
    ctx.font = `italic 600 ${Math.round(16 * kf)}px ${font}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    const axes = this.opts.axis_labels || ["z\u2081", "z\u2082"];
    ctx.fillText(axes[0], L + w / 2, S - 4);
    ctx.save();
    ctx.translate(15, T + w / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(axes[1], 0, 0);
    ctx.restore();
  }

  drawOverlay(shown) {
    const k = this.strokeScale(), kf = this.fontScale(); // projector mode: thicker, larger
    const ctx = this.over.getContext("2d");
    const S = this.size, w = this.plotW(), L = MARGIN.left, T = MARGIN.top;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, S, S);
    ctx.save();
    ctx.beginPath();
    ctx.rect(L, T, w, w);
    ctx.clip();
    // the test digit under the pointer, with its posterior's 1-sigma ellipse when the payload has logvar
    const exact = !this.proj || this.dim === 2; // a slice's drawn codes may lie far off the plane: no "nearest dot"
    this.near = (shown.source === "pointer" || shown.source === "keys") && exact ? this.nearest(shown.z) : null;
    if (this.near !== null) {
      const i = this.near, x = this.px[i], y = this.py[i];
      if (this.logvar && !this.proj) { // q(z|x) in z units: not drawn on a plane in other units
        const unit = w / (this.view.x[1] - this.view.x[0]);
        ctx.strokeStyle = PALETTE[this.labels[i]];
        ctx.lineWidth = (2) * k;
        ctx.beginPath();
        ctx.ellipse(x, y, Math.exp(0.5 * this.logvar[2 * i]) * unit, Math.exp(0.5 * this.logvar[2 * i + 1]) * unit,
                    0, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = (2) * k;
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    // pinned z: a diamond
    if (this.pinned) {
      const x = this.zx2px(this.pinned[0]), y = this.zy2px(this.pinned[1]);
      ctx.beginPath();
      ctx.moveTo(x, y - 9); ctx.lineTo(x + 9, y); ctx.lineTo(x, y + 9); ctx.lineTo(x - 9, y); ctx.closePath();
      ctx.fillStyle = "#ffb000";
      ctx.fill();
      ctx.lineWidth = (2) * k;
      ctx.strokeStyle = "#000000";
      ctx.stroke();
    }
    // crosshair at the decoded z (dashed when another plane of the group put it there)
    if (shown.source !== "pinned" && shown.source !== "centre") {
      const x = Math.round(this.zx2px(shown.z[0])) + 0.5, y = Math.round(this.zy2px(shown.z[1])) + 0.5;
      const linked = shown.source === "linked";
      for (const [color, width] of [["rgba(255,255,255,0.9)", 4], [linked ? "#6a3d9a" : "#000000", 1.5]]) {
        ctx.strokeStyle = color;
        ctx.lineWidth = (width) * k;
        ctx.setLineDash(linked && width < 3 ? [7, 5] : []);
        ctx.beginPath();
        ctx.moveTo(L, y); ctx.lineTo(L + w, y);
        ctx.moveTo(x, T); ctx.lineTo(x, T + w);
        ctx.stroke();
        ctx.beginPath();
        ctx.arc(x, y, 8, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    ctx.restore();
  }

  drawText(shown) {
    const z = shown.z;
    // a slice's (a, b) span a few units: "a, b = +0.60, +0.80", short enough for a digit-wide side in projector mode
    const slice = !!this.proj && this.dim > 2;
    const zName = this.opts.coord_label || (slice ? "a, b" : this.proj ? "(a, b)" : "z"); // the plane's coordinates
    const f2 = (v) => (v < 0 ? "\u2212" : "+") + Math.abs(v).toFixed(2);
    this.zEl.textContent = slice ? `${zName} = ${f2(z[0])}, ${f2(z[1])}`
      : `${zName} = (${fmtZ(z[0])}, ${fmtZ(z[1])})`;
    const what = { pointer: "under the pointer", keys: "moved with the keys", pinned: "pinned",
                   centre: "centre of the view", linked: `same z as ${this.linkedFrom || "the linked plane"}` };
    this.sourceEl.textContent = what[shown.source];
    this.nearEl.textContent = this.near !== null && this.near !== undefined
      ? `nearest test digit: #${this.near}, a ${this.labels[this.near]}` : "\u00a0";
    this.codeNear = this.nearestCode(z);
    if (this.codeNear) {
      const c = this.codeNear, gap = this.whiten.gap, far = this.whiten.far || 2 * gap;
      const dist = c.distance < 0.1 ? c.distance.toFixed(2) : c.distance.toFixed(1);
      // one short phrase a line (the element keeps line breaks), so a narrow side never breaks a phrase
      this.nearEl.textContent = [`nearest code: a ${this.labels[c.index]} (#${c.index})`, `${dist} code SDs away`,
        ...(gap >= 0.1 ? [`codes' own gap: ${gap.toFixed(1)}`] : []),
        ...(far && c.distance > far ? ["far outside its codes"] : [])].join("\n");
      this.nearEl.classList.toggle("lp-far", !!far && c.distance > far);
      this.nearEl.classList.add("lp-slice");
    }
    this.pinEl.textContent = this.pinned ? `pinned: (${fmtZ(this.pinned[0])}, ${fmtZ(this.pinned[1])})`
      : "click to pin a z";
  }
}

export default function (component) {
  const { parentElement, data, setStateValue, setTriggerValue } = component;
  let plane = INSTANCES.get(parentElement);
  if (!plane) {
    plane = new Plane(parentElement);
    INSTANCES.set(parentElement, plane);
  }
  plane.setStateValue = setStateValue; // the newest closures (they know the current fragment and form)
  plane.setTriggerValue = setTriggerValue;
  plane.renders += 1;
  try {
    plane.update(data);
    if (plane.stats) plane.stats.renders = plane.renders;
  } catch (err) {
    plane.showError(err);
  }
  return plane.cleanup;
}
