// The class list: one card per class with its name, sample count, thumbnails and controls.
// Rendering is from the project state; the callbacks in `on` change the state.

const MAX_THUMBS = 60;   // per card: the DOM stays small however many samples a class has

export class ClassesView {
  constructor(list, tpl, on) {
    this.list = list;
    this.tpl = tpl;
    this.on = on;          // {rename, remove, move, upload, drop, recordStart, recordStop, deleteSample}
    this.cards = new Map(); // class id -> li
  }

  /** render rebuilds the cards in order; thumbnails are redrawn only for the classes in dirty. */
  render(classes, samplesByClass, dirty = null) {
    const keep = new Set(classes.map((c) => c.id));
    for (const [id, li] of this.cards) if (!keep.has(id)) { li.remove(); this.cards.delete(id); }
    classes.forEach((c, i) => {
      let li = this.cards.get(c.id);
      const fresh = !li;
      if (fresh) { li = this.card(c); this.cards.set(c.id, li); }
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
      const name = li.querySelector('.name');
      if (document.activeElement !== name) name.value = c.name;
      const ss = samplesByClass.get(c.id) || [];
      const ready = ss.filter((s) => s.feat).length;
      li.querySelector('.count').textContent = ready === ss.length ? `${ss.length} samples` : `${ready}/${ss.length} ready`;
      li.querySelector('.up').disabled = i === 0;
      li.querySelector('.down').disabled = i === classes.length - 1;
      li.dataset.index = i;
      if (fresh || !dirty || dirty.has(c.id)) this.thumbs(li, ss);
    });
  }

  card(c) {
    const li = this.tpl.content.firstElementChild.cloneNode(true);
    li.dataset.id = c.id;
    const name = li.querySelector('.name');
    name.addEventListener('change', () => this.on.rename(c.id, name.value));
    li.querySelector('.up').addEventListener('click', () => this.on.move(c.id, -1));
    li.querySelector('.down').addEventListener('click', () => this.on.move(c.id, +1));
    const del = li.querySelector('.del');
    // Two clicks to delete a class and its samples, without a blocking dialog.
    del.addEventListener('click', () => {
      if (del.dataset.armed) { this.on.remove(c.id); return; }
      del.dataset.armed = '1';
      del.textContent = 'Delete?';
      setTimeout(() => { delete del.dataset.armed; del.textContent = '✕'; }, 3000);
    });
    li.querySelector('.upload').addEventListener('change', (e) => {
      this.on.upload(c.id, [...e.target.files]);
      e.target.value = '';
    });
    const rec = li.querySelector('.rec');
    const start = (e) => { e.preventDefault(); rec.classList.add('recording'); this.on.recordStart(c.id); };
    const stop = () => { if (rec.classList.contains('recording')) { rec.classList.remove('recording'); this.on.recordStop(c.id); } };
    rec.addEventListener('pointerdown', start);
    for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) rec.addEventListener(ev, stop);
    rec.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) start(e); });
    rec.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') stop(); });
    li.addEventListener('dragover', (e) => { e.preventDefault(); e.stopPropagation(); li.classList.add('dragover'); });
    li.addEventListener('dragleave', () => li.classList.remove('dragover'));
    li.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      li.classList.remove('dragover');
      this.on.drop(c.id, e.dataTransfer);
    });
    li.querySelector('.thumbs').addEventListener('click', (e) => {
      const x = e.target.closest('.x');
      if (x) this.on.deleteSample(x.parentElement.dataset.id);
    });
    return li;
  }

  thumbs(li, ss) {
    const box = li.querySelector('.thumbs');
    const frag = document.createDocumentFragment();
    const shown = ss.slice(-MAX_THUMBS).reverse();
    for (const s of shown) {
      const d = document.createElement('div');
      d.className = s.feat ? 'thumb' : 'thumb pending';
      d.dataset.id = s.id;
      const img = document.createElement('img');
      img.src = s.thumbURL;
      img.alt = '';
      img.loading = 'lazy';
      const x = document.createElement('button');
      x.className = 'x';
      x.title = 'Delete sample';
      x.setAttribute('aria-label', 'Delete sample');
      x.textContent = '✕';
      d.append(img, x);
      frag.append(d);
    }
    if (ss.length > shown.length) {
      const m = document.createElement('span');
      m.className = 'more';
      m.textContent = `+${ss.length - shown.length} more`;
      frag.append(m);
    }
    box.replaceChildren(frag);
  }
}
