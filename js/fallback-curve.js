// A light stand-in for the plot while its Ebiten frame starts: the embed draws the trainer's epochs
// on a 2-D canvas at once (the first visit compiles a 12 MB module before the plot can draw), then
// hides it when the plot has drawn the run. Two panels like the plot's: training and validation
// loss, validation accuracy, in the plot's colours for the theme.

const COLOURS = {
  light: { bg: '#ffffff', axis: '#9ca3af', text: '#6b7280', train: '#2563eb', val: '#ea580c', acc: '#16a34a' },
  dark: { bg: '#111827', axis: '#6b7280', text: '#9ca3af', train: '#60a5fa', val: '#fb923c', acc: '#4ade80' },
};

export class FallbackCurve {
  constructor(canvas, theme) {
    this.canvas = canvas;
    this.c = COLOURS[theme] || COLOURS.light;
    this.points = []; // {epoch, trainLoss, valLoss, valAcc}
    this.epochs = 0;
    this.pending = false;
    this.onDrawn = null; // called once with performance.now() after the first points are drawn
  }

  /** reset starts a new run of the given planned epochs (0: unknown) and shows the canvas. */
  reset(epochs) {
    this.points = [];
    this.epochs = epochs;
    this.canvas.hidden = false;
    this.schedule();
  }

  /** events takes the trainer's progress events; epoch and trial events are drawn. */
  events(evs) {
    for (const e of evs) {
      if (e.kind !== 'epoch' && e.kind !== 'trial') continue;
      this.points.push({ epoch: e.epoch, trainLoss: e.kind === 'epoch' ? e.trainLoss : NaN, valLoss: e.hasVal ? e.valLoss : NaN, valAcc: e.hasVal ? e.valAcc : NaN });
      if (e.epochs) this.epochs = e.epochs;
    }
    // The first points are drawn at once: under load the next animation frame can be late, and the
    // canvas reaches the screen with the next frame either way.
    if (this.onDrawn && this.points.length && !this.canvas.hidden) this.draw();
    else this.schedule();
  }

  /** hide gives the place back to the plot. */
  hide() { this.canvas.hidden = true; }

  schedule() {
    if (this.pending || this.canvas.hidden) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const cv = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = cv.clientWidth, h = cv.clientHeight;
    if (!w || !h) return;
    cv.width = Math.round(w * dpr);
    cv.height = Math.round(h * dpr);
    const g = cv.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = this.c.bg;
    g.fillRect(0, 0, w, h);
    const pad = 10, gap = 14, top = 34;
    const pw = (w - 2 * pad - gap) / 2, ph = h - top - pad - 16;
    const xmax = Math.max(1, this.epochs, ...this.points.map((p) => p.epoch));
    const losses = this.points.flatMap((p) => [p.trainLoss, p.valLoss]).filter(Number.isFinite);
    const lmax = losses.length ? Math.max(...losses) * 1.05 : 1;
    this.panel(g, pad, top, pw, ph, 'Loss', xmax, lmax, [['trainLoss', this.c.train], ['valLoss', this.c.val]]);
    this.panel(g, pad + pw + gap, top, pw, ph, 'Accuracy', xmax, 1, [['valAcc', this.c.acc]]);
    if (this.points.length && this.onDrawn) {
      const f = this.onDrawn;
      this.onDrawn = null;
      f(performance.now());
    }
  }

  panel(g, x, y, w, h, title, xmax, ymax, series) {
    g.fillStyle = this.c.text;
    g.font = '12px system-ui, sans-serif';
    g.fillText(title, x, y - 8);
    g.strokeStyle = this.c.axis;
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(x + 0.5, y);
    g.lineTo(x + 0.5, y + h + 0.5);
    g.lineTo(x + w, y + h + 0.5);
    g.stroke();
    g.fillText('epoch', x + w - 34, y + h + 14);
    g.lineWidth = 2;
    for (const [key, colour] of series) {
      g.strokeStyle = colour;
      g.beginPath();
      let first = true;
      for (const p of this.points) {
        const v = p[key];
        if (!Number.isFinite(v)) continue;
        const px = x + (p.epoch / xmax) * w, py = y + h - (Math.min(v, ymax) / ymax) * h;
        if (first) g.moveTo(px, py); else g.lineTo(px, py);
        first = false;
        // Dots show the first epochs, when a line has too few points to be seen.
        if (this.points.length < 30) {
          g.fillStyle = colour;
          g.fillRect(px - 2, py - 2, 4, 4);
        }
      }
      g.stroke();
    }
  }
}
