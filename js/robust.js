// The Robustness check panel (public/robust.html): trains three students on the demo photos in the
// trainer worker — the frozen deep-layer probe, the last blocks fine-tuned, and the same with the
// neuron-distance defence — then runs the mimicry attack (wasm/trainer/robust.go) on one photo or
// on several pairs, and shows the images, the predictions, and accuracy against attack success.
import { Trainer } from './trainer.js';
import { drawSquare, decodeBlob } from './images.js';

const SIZE = 112; // the panel's input size: a quarter of the app's 224² work per attack step
const BLOCKS = 2;
const EPOCHS = 8;

const T = {
  en: {
    title: 'Robustness check', step1: '1 · Train three students on the demo photos', train: 'Load demo photos and train',
    student: 'student', valacc: 'validation accuracy', success: 'attack success', step2: '2 · Attack one photo',
    source: 'source photo', target: 'target class', iters: 'iterations', run: 'Run attack', fsource: 'source',
    ftarget: 'target photo', fadv: 'perturbed', fpert: 'perturbation ×10', before: 'before', after: 'after',
    step3: '3 · Attack success over several pairs', pairs: 'pairs', runmany: 'Attack pairs',
    deep: 'frozen deep-layer', finetuned: 'fine-tuned last blocks', defended: 'defended (neuron distance)',
    loading: 'loading the backbone…', photos: 'decoding the demo photos…', trained: 'students trained', attacking: 'attacking…',
    intro: "A student built on a public teacher shares the teacher's frozen layers. Knowing only the teacher, an attacker can nudge a photo, invisibly, until its features at the last frozen layer mimic another class's photo: the student then sees that class. Everything runs in this tab's worker.",
    accuracy: 'accuracy', attack: 'attack success', pair: 'pair',
    short: { deep: 'frozen', finetuned: 'fine-tuned', defended: 'defended' },
  },
  ja: {
    title: '頑健性チェック', step1: '1 · デモ写真で3つの生徒モデルを学習', train: 'デモ写真を読み込んで学習',
    student: '生徒モデル', valacc: '検証精度', success: '攻撃成功率', step2: '2 · 1枚の写真を攻撃',
    source: '元の写真', target: '狙うクラス', iters: '反復回数', run: '攻撃する', fsource: '元の写真',
    ftarget: '狙う写真', fadv: '加工後', fpert: '加えた変化 ×10', before: '攻撃前', after: '攻撃後',
    step3: '3 · 複数の組での攻撃成功率', pairs: '組数', runmany: 'まとめて攻撃',
    deep: '固定した深い層', finetuned: '最後のブロックを微調整', defended: '防御あり（ニューロン距離）',
    loading: 'バックボーンを読み込み中…', photos: 'デモ写真を読み込み中…', trained: '学習完了', attacking: '攻撃中…',
    intro: '公開された教師モデルの上に作った生徒モデルは、教師の固定された層をそのまま受け継ぎます。攻撃者は教師だけを知っていれば、写真を目に見えないほど少しずつ変え、最後の固定層の特徴を別のクラスの写真に似せられます。すると生徒モデルはそのクラスだと判断します。計算はすべてこのタブのワーカー内で行います。',
    accuracy: '精度', attack: '攻撃成功率', pair: '組',
    short: { deep: '固定', finetuned: '微調整', defended: '防御あり' },
  },
};
const lang = new URLSearchParams(location.search).get('lang') || (document.documentElement.lang.startsWith('ja') ? 'ja' : 'en');
const t = T[lang] || T.en;
document.documentElement.lang = lang;
document.querySelectorAll('[data-t]').forEach((el) => { if (t[el.dataset.t]) el.textContent = t[el.dataset.t]; });
document.title = `${t.title} · finetuner`;

const $ = (id) => document.getElementById(id);
const status = (s) => { $('status').textContent = s; };
const trainer = new Trainer();
trainer.onRobust = status;
trainer.onFatal = (e) => status(`error: ${e.message}`);

const state = { labels: [], names: [], val: [], acc: {}, wins: { deep: 0, finetuned: 0, defended: 0 }, tries: 0 };
window.robust = state; // for the browser test and the console

async function loadDemo() {
  const base = new URL('../public/demo/', import.meta.url);
  const man = await (await fetch(new URL('manifest.json', base))).json();
  const items = [];
  man.classes.forEach((c, label) => c.files.forEach((f) => items.push({ url: new URL(f, base), label, name: f })));
  return { labels: man.classes.map((c) => c.name), items };
}

$('train').addEventListener('click', async () => {
  $('train').disabled = true;
  try {
    await trainer.ready;
    status(t.loading);
    await trainer.call('robustSetup', { id: 'centernet', size: SIZE, blocks: BLOCKS });
    status(t.photos);
    const { labels, items } = await loadDemo();
    state.labels = labels;
    for (const it of items) {
      const bmp = await decodeBlob(await (await fetch(it.url)).blob(), it.name);
      const c = drawSquare(bmp, SIZE);
      const rgba = c.getContext('2d').getImageData(0, 0, SIZE, SIZE).data.buffer;
      await trainer.call('robustAdd', { rgba: new Uint8Array(rgba), width: SIZE, height: SIZE, label: it.label }, [rgba]);
      state.names.push(`${labels[it.label]} · ${it.name.replace(/^.*\//, '')}`);
    }
    const r = await trainer.call('robustTrain', { labels, epochs: EPOCHS });
    state.val = r.val;
    state.acc = { deep: r.deep, finetuned: r.finetuned, defended: r.defended };
    state.trained = true;
    status(`${t.trained}: ${r.train} + ${r.val.length}`);
    $('source').replaceChildren(...r.val.map((i) => new Option(state.names[i], i)));
    pickTargets();
    $('attack-step').hidden = false;
    showTable();
  } catch (e) {
    status(`error: ${e.message}`);
  } finally {
    $('train').disabled = false;
  }
});

function pickTargets() {
  const src = state.names[$('source').value] || '';
  const own = src.split(' · ')[0];
  $('target').replaceChildren(...state.labels.map((l, i) => new Option(l, i)).filter((o) => o.text !== own));
}
$('source').addEventListener('change', pickTargets);

function showTable() {
  $('acc').hidden = false;
  $('acc').tBodies[0].replaceChildren(...['deep', 'finetuned', 'defended'].map((k) => {
    const tr = document.createElement('tr');
    const rate = state.tries ? `${state.wins[k]}/${state.tries}` : '–';
    for (const v of [t[k], `${(100 * state.acc[k]).toFixed(1)}%`, rate]) tr.insertCell().textContent = v;
    return tr;
  }));
  drawChart();
}

function paint(id, bytes, size) {
  const c = $(id);
  c.width = c.height = size;
  c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(bytes), size, size), 0, 0);
}

async function attackOne(source, target) {
  const r = await trainer.call('robustAttack', { source: +source, target: +target, iters: +$('iters').value, budget: +$('budget').value });
  for (const k of ['source', 'target', 'adversarial', 'perturbation']) paint(`c-${k}`, r[k], r.size);
  $('result').hidden = false;
  $('result').tBodies[0].replaceChildren(...r.students.map((s) => {
    const tr = document.createElement('tr');
    tr.insertCell().textContent = t[s.student];
    tr.insertCell().textContent = s.before;
    const after = tr.insertCell();
    after.textContent = s.after;
    if (s.after === r.targetClass) after.className = 'ok';
    tr.insertCell().textContent = s.dssim.toFixed(4);
    return tr;
  }));
  state.tries++;
  for (const s of r.students) if (s.after === r.targetClass) state.wins[s.student]++;
  state.last = r;
  showTable();
  return r;
}

$('attack').addEventListener('click', async () => {
  $('attack').disabled = true;
  status(t.attacking);
  try { await attackOne($('source').value, $('target').value); status(''); } catch (e) { status(`error: ${e.message}`); }
  $('attack').disabled = false;
});

$('many').addEventListener('click', async () => {
  $('many').disabled = true;
  const n = +$('pairs').value;
  try {
    for (let k = 0; k < n; k++) {
      // Seeded walk over the validation photos and the other classes, so a rerun repeats the pairs.
      const src = state.val[(7 * k + state.tries) % state.val.length];
      const classes = state.labels.map((_, i) => i).filter((i) => state.labels[i] !== state.names[src].split(' · ')[0]);
      status(`${t.attacking} ${t.pair} ${k + 1}/${n}`);
      await attackOne(src, classes[k % classes.length]);
    }
    status('');
  } catch (e) {
    status(`error: ${e.message}`);
  }
  $('many').disabled = false;
});

// drawChart: validation accuracy and attack success per student, side by side: the trade-off.
function drawChart() {
  const c = $('chart');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  g.font = '13px system-ui, sans-serif';
  const keys = ['deep', 'finetuned', 'defended'];
  const x0 = 40, y0 = 180, h = 150, bw = 44, gap = 170;
  g.strokeStyle = '#9ca3af';
  g.beginPath(); g.moveTo(x0, y0); g.lineTo(c.width - 10, y0); g.moveTo(x0, y0); g.lineTo(x0, y0 - h); g.stroke();
  g.fillStyle = '#4b5563';
  g.fillText('100%', 2, y0 - h + 4);
  g.fillText('0', 24, y0 + 4);
  keys.forEach((k, i) => {
    const x = x0 + 20 + i * gap;
    const acc = state.acc[k] || 0;
    const suc = state.tries ? state.wins[k] / state.tries : 0;
    g.fillStyle = '#2563eb';
    g.fillRect(x, y0 - h * acc, bw, h * acc);
    g.fillStyle = '#dc2626';
    g.fillRect(x + bw + 4, y0 - h * suc, bw, h * suc);
    g.fillStyle = '#111827';
    g.fillText(t.short[k], x, y0 + 18);
  });
  g.fillStyle = '#2563eb'; g.fillRect(c.width - 230, 8, 12, 12);
  g.fillStyle = '#111827'; g.fillText(t.accuracy, c.width - 212, 19);
  g.fillStyle = '#dc2626'; g.fillRect(c.width - 120, 8, 12, 12);
  g.fillStyle = '#111827'; g.fillText(t.attack, c.width - 102, 19);
}
drawChart();
