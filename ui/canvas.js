// Drawing canvas: white ink on black, like MNIST. Mouse, pen and touch through pointer events; the drawing goes to
// Python when a stroke ends (never on every move), as a side x side uint8 image (base64) of the ink.
//
// Streamlit runs this module's default function on the first render and again on every rerun whose data changed,
// always with the same parentElement, and calls only the last returned cleanup, on unmount. So everything lives on
// one instance per parentElement (INSTANCES); a rerun only re-reads the options.
//
// Two canvases get the same strokes: the one on screen (device resolution, any size) and a hidden side x side "model"
// canvas whose pixels are what Python receives. Drawing the strokes at the model's resolution (rather than shrinking
// the screen canvas) gives the same anti-aliased image whatever the screen size or pixel ratio.
//
// data (JSON): {key, side, stroke, px, projector, restore}; restore is a drawing Python kept ({side, pixels, seq}),
// painted once into a fresh canvas (after a page switch the component is new but the session still has the drawing).
// State sent: "drawing" = {side, pixels: base64 of side * side bytes, row-major from the top-left, seq, strokes}.

const INSTANCES = new WeakMap(); // parentElement -> instance
let NEXT_UID = 1;

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function toBase64(bytes) {
  // btoa takes a binary string; build it in chunks (String.fromCharCode has an argument limit)
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x2000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

class Pad {
  constructor(parentElement) {
    this.uid = NEXT_UID++;
    this.parent = parentElement;
    this.key = null;
    this.side = 112; // model canvas side (what Python receives)
    this.stroke = 9; // pen width in model pixels
    this.px = 280; // wanted size on screen (CSS px); shrinks to fit the column
    this.size = 0; // size on screen now
    this.dpr = 1;
    this.strokes = []; // [[x, y, x, y, ...], ...] in model pixels: replayed when the screen canvas is resized
    this.background = null; // a restored drawing (ImageData at model resolution), under the strokes
    this.restoredSeq = null;
    this.active = null; // {id, pts} while a stroke is being drawn
    this.seq = 0;
    this.sent = 0;
    this.renders = 0;
    this.setStateValue = null;
    this.buildDom();
    this.listen();
  }

  buildDom() {
    const root = (this.root = el("div", "dc-root"));
    const frame = (this.frame = el("div", "dc-frame", root));
    this.screen = el("canvas", "dc-canvas", frame);
    this.screen.setAttribute("role", "img");
    this.screen.setAttribute("aria-label", "Drawing canvas: draw one digit with the mouse, a pen or a finger");
    this.hint = el("div", "dc-hint", frame, "draw a digit here");
    const bar = el("div", "dc-bar", root);
    this.clearBtn = el("button", "dc-clear", bar, "Clear");
    this.clearBtn.type = "button";
    this.status = el("span", "dc-status", bar, "");
    this.model = document.createElement("canvas");
    this.model.width = this.side;
    this.model.height = this.side;
    this.mctx = this.model.getContext("2d", { willReadFrequently: true });
    this.paintBlack(this.mctx, this.side);
    this.parent.appendChild(root);
  }

  listen() {
    this.onDown = (e) => this.down(e);
    this.onMove = (e) => this.move(e);
    this.onUp = (e) => this.up(e);
    this.onClear = () => this.clear();
    const c = this.screen;
    c.addEventListener("pointerdown", this.onDown);
    c.addEventListener("pointermove", this.onMove);
    c.addEventListener("pointerup", this.onUp);
    c.addEventListener("pointercancel", this.onUp);
    c.addEventListener("lostpointercapture", this.onUp);
    this.clearBtn.addEventListener("click", this.onClear);
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.root);
    this.cleanup = () => this.destroy();
  }

  destroy() {
    const c = this.screen;
    c.removeEventListener("pointerdown", this.onDown);
    c.removeEventListener("pointermove", this.onMove);
    c.removeEventListener("pointerup", this.onUp);
    c.removeEventListener("pointercancel", this.onUp);
    c.removeEventListener("lostpointercapture", this.onUp);
    this.clearBtn.removeEventListener("click", this.onClear);
    this.resizer.disconnect();
    this.root.remove();
    INSTANCES.delete(this.parent);
    const hooks = window.__drawCanvas;
    if (hooks && this.key !== null && hooks[this.key] && hooks[this.key].uid === this.uid) delete hooks[this.key];
  }

  // ----- options ------------------------------------------------------------------------------------------------

  update(data) {
    if (!data || typeof data !== "object") throw new Error("expected the canvas options as JSON");
    this.setKey(String(data.key));
    const side = Number(data.side) | 0;
    if (side >= 28 && side <= 1024 && side !== this.side) {
      this.side = side;
      this.model.width = side;
      this.model.height = side;
      this.strokes = [];
      this.background = null;
      this.paintBlack(this.mctx, side);
    }
    if (Number.isFinite(data.stroke) && data.stroke > 0) this.stroke = data.stroke;
    if (Number.isFinite(data.px) && data.px > 0) this.px = data.px;
    this.root.classList.toggle("dc-projector", !!data.projector);
    this.restore(data.restore);
    this.layout();
  }

  restore(r) {
    // Only into a canvas nobody has drawn on, once: a rerun after the user's own stroke never repaints.
    if (!r || this.strokes.length || this.background || this.active || this.restoredSeq !== null) return;
    if (r.side !== this.side || typeof r.pixels !== "string") return;
    let bytes;
    try {
      bytes = fromBase64(r.pixels);
    } catch (err) {
      return;
    }
    if (bytes.length !== this.side * this.side) return;
    const img = this.mctx.createImageData(this.side, this.side);
    for (let i = 0; i < bytes.length; i++) {
      const v = bytes[i];
      img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
    }
    this.background = img;
    this.restoredSeq = r.seq;
    this.seq = Math.max(this.seq, Number(r.seq) || 0);
    this.mctx.putImageData(img, 0, 0);
    this.hint.hidden = true;
  }

  setKey(key) {
    if (key === this.key) return;
    this.key = key;
    const self = this;
    const hooks = (window.__drawCanvas = window.__drawCanvas || {});
    hooks[key] = { // test hooks
      uid: this.uid,
      get seq() { return self.seq; },
      get sent() { return self.sent; },
      get strokes() { return self.strokes.length; },
      get renders() { return self.renders; },
      get side() { return self.side; },
      rect: () => { const r = self.screen.getBoundingClientRect(); return { left: r.left, top: r.top,
                                                                            width: r.width, height: r.height }; },
      pixels: () => Array.from(self.modelPixels()),
    };
  }

  // ----- layout and painting ------------------------------------------------------------------------------------

  layout() {
    // The screen canvas at the wanted size, or the column's width when that is narrower; repainted when it changes
    const avail = this.root.clientWidth || this.px;
    const size = Math.round(Math.max(120, Math.min(this.px, avail - 8)));
    const dpr = window.devicePixelRatio || 1;
    if (size === this.size && dpr === this.dpr) return;
    this.size = size;
    this.dpr = dpr;
    this.frame.style.width = `${size}px`;
    this.frame.style.height = `${size}px`;
    this.screen.style.width = `${size}px`;
    this.screen.style.height = `${size}px`;
    this.screen.width = Math.round(size * dpr);
    this.screen.height = Math.round(size * dpr);
    this.repaintScreen();
  }

  paintBlack(ctx, side) {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000000";
    ctx.fillRect(0, 0, side, side);
  }

  screenCtx() {
    const ctx = this.screen.getContext("2d");
    const k = this.screen.width / this.side; // model pixels -> device pixels
    ctx.setTransform(k, 0, 0, k, 0, 0);
    return ctx;
  }

  repaintScreen() {
    const ctx = this.screen.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000000";
    ctx.fillRect(0, 0, this.screen.width, this.screen.height);
    if (this.background) {
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.model, 0, 0, this.screen.width, this.screen.height); // the model holds the restored image
      // strokes drawn since the restore are in the model too, so nothing else to replay
      return;
    }
    const sctx = this.screenCtx();
    for (const pts of this.strokes) this.paintStroke(sctx, pts, 0);
    if (this.active) this.paintStroke(sctx, this.active.pts, 0);
  }

  style(ctx) {
    ctx.strokeStyle = "#ffffff";
    ctx.fillStyle = "#ffffff";
    ctx.lineWidth = this.stroke;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  paintStroke(ctx, pts, from) {
    // Segments of pts (flat x, y list) from point index `from`; a single point is a round dot.
    this.style(ctx);
    const n = pts.length / 2;
    if (n === 1) {
      ctx.beginPath();
      ctx.arc(pts[0], pts[1], this.stroke / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    const i0 = Math.max(0, from - 1);
    ctx.moveTo(pts[2 * i0], pts[2 * i0 + 1]);
    for (let i = i0 + 1; i < n; i++) ctx.lineTo(pts[2 * i], pts[2 * i + 1]);
    ctx.stroke();
  }

  // ----- pointer ------------------------------------------------------------------------------------------------

  point(e) {
    const r = this.screen.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * this.side;
    const y = ((e.clientY - r.top) / r.height) * this.side;
    return [Math.min(this.side, Math.max(0, x)), Math.min(this.side, Math.max(0, y))];
  }

  down(e) {
    if (this.active || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    try { this.screen.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events have no capture */ }
    const [x, y] = this.point(e);
    this.active = { id: e.pointerId, pts: [x, y] };
    this.hint.hidden = true;
    this.paintStroke(this.mctx, this.active.pts, 0);
    this.paintStroke(this.screenCtx(), this.active.pts, 0);
  }

  move(e) {
    if (!this.active || e.pointerId !== this.active.id) return;
    e.preventDefault();
    const pts = this.active.pts;
    const from = pts.length / 2;
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const [x, y] = this.point(ev);
      const lx = pts[pts.length - 2], ly = pts[pts.length - 1];
      if ((x - lx) ** 2 + (y - ly) ** 2 < 0.04) continue; // under 0.2 model px: nothing to draw
      pts.push(x, y);
    }
    if (pts.length / 2 > from) {
      this.paintStroke(this.mctx, pts, from);
      this.paintStroke(this.screenCtx(), pts, from);
    }
  }

  up(e) {
    if (!this.active || e.pointerId !== this.active.id) return;
    const pts = this.active.pts;
    this.active = null;
    try { this.screen.releasePointerCapture(e.pointerId); } catch (err) { /* already released */ }
    this.strokes.push(pts);
    this.send();
  }

  clear() {
    this.active = null;
    this.strokes = [];
    this.background = null;
    this.paintBlack(this.mctx, this.side);
    this.repaintScreen();
    this.hint.hidden = false;
    this.send();
  }

  modelPixels() {
    // The ink: the red channel of the model canvas (white ink on black, so R = G = B)
    const rgba = this.mctx.getImageData(0, 0, this.side, this.side).data;
    const out = new Uint8Array(this.side * this.side);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i];
    return out;
  }

  send() {
    this.seq = Math.max(Date.now(), this.seq + 1); // unique across page visits: Python compares it for "new"
    const drawing = { side: this.side, pixels: toBase64(this.modelPixels()), seq: this.seq,
                      strokes: this.strokes.length };
    this.sent += 1;
    this.status.textContent = this.strokes.length || this.background ? "sent \u2713" : "cleared";
    if (this.setStateValue) this.setStateValue("drawing", drawing);
  }
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  let pad = INSTANCES.get(parentElement);
  if (!pad) {
    pad = new Pad(parentElement);
    INSTANCES.set(parentElement, pad);
  }
  pad.setStateValue = setStateValue; // the newest closure (it knows the current fragment and form)
  pad.renders += 1;
  try {
    pad.update(data);
  } catch (err) {
    pad.status.textContent = `canvas error: ${err.message}`;
  }
  return pad.cleanup;
}
