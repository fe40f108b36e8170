// The kiosk's operator menu: hold the top-left corner for operator.holdSeconds, type the PIN
// from the config, and the menu shows uptime, visits, JS heap and DOM size and offers a reset,
// the full app, and leaving kiosk mode.

const $ = (id) => document.getElementById(id);

/**
 * setupOperator wires the corner, the PIN pad and the menu. kiosk is {config, t(key, vars) in
 * the current language, reset(reason), touch(), stats(), sessions(), started, showError(msg)}.
 */
export function setupOperator(kiosk) {
  const cfg = kiosk.config;
  let pinEntry = '';
  let timer = null;
  const cancel = () => { clearTimeout(timer); timer = null; };
  const resetting = () => kiosk.reset('operator').catch((err) => kiosk.showError(err.message));

  function openPin() {
    pinEntry = '';
    $('pin-dots').textContent = '';
    $('pin-msg').textContent = '';
    $('pin').hidden = false;
  }

  async function openOperator() {
    const s = await kiosk.stats();
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    const up = Math.round((Date.now() - kiosk.started) / 60000);
    $('op-stats').textContent = kiosk.t('kiosk.stats', { sessions: kiosk.sessions(), uptime: `${Math.floor(up / 60)}h${String(up % 60).padStart(2, '0')}`, heap: mb(s.jsHeap), nodes: s.domNodes });
    $('operator').hidden = false;
  }

  function pinKey(k) {
    if (k === 'clear') pinEntry = '';
    else if (k === 'ok') {
      if (pinEntry === cfg.operator.pin) {
        $('pin').hidden = true;
        openOperator();
      } else {
        $('pin-msg').textContent = kiosk.t('kiosk.pinWrong');
        pinEntry = '';
      }
    } else if (pinEntry.length < 12) pinEntry += k;
    $('pin-dots').textContent = '•'.repeat(pinEntry.length);
  }

  $('corner').addEventListener('pointerdown', (e) => {
    e.preventDefault();
    cancel();
    timer = setTimeout(openPin, cfg.operator.holdSeconds * 1000);
  });
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) $('corner').addEventListener(ev, cancel);
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'ok'];
  $('pad').replaceChildren(...keys.map((k) => {
    const b = document.createElement('button');
    b.dataset.key = k;
    if (k === 'clear' || k === 'ok') b.dataset.i18n = `kiosk.${k}`;
    b.textContent = k === 'clear' || k === 'ok' ? kiosk.t(`kiosk.${k}`) : k;
    b.addEventListener('click', () => pinKey(k));
    return b;
  }));
  $('pin-cancel').addEventListener('click', () => { $('pin').hidden = true; });
  $('op-back').addEventListener('click', () => { $('operator').hidden = true; kiosk.touch(); });
  $('op-reset').addEventListener('click', () => { $('operator').hidden = true; resetting(); });
  $('op-app').addEventListener('click', async () => { await kiosk.reset('operator'); location.href = new URL('../index.html', location.href).href; });
  // A window Chromium opened from its command line (one history entry) may close itself, which
  // ends a --kiosk browser; anywhere else the full app opens instead.
  $('op-exit').addEventListener('click', async () => {
    await kiosk.reset('operator');
    window.close();
    setTimeout(() => { location.href = new URL('../index.html', location.href).href; }, 300);
  });
}

/**
 * soakStats is the kiosk's soak gauge: the page's JS heap, the trainer's wasm memory, the DOM
 * nodes of the page and its plot frame, and the visit counts of state {sessions, resets}.
 */
export async function soakStats(trainer, frame, state) {
  let frameNodes = 0;
  try { frameNodes = frame.contentDocument.getElementsByTagName('*').length; } catch { /* cross-origin: not counted */ }
  const mem = await trainer.memory().catch(() => ({ wasmBytes: 0 }));
  return {
    jsHeap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    wasmBytes: mem.wasmBytes,
    domNodes: document.getElementsByTagName('*').length + frameNodes,
    sessions: state.sessions, resets: state.resets,
  };
}
