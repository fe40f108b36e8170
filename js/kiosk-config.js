// The kiosk's configuration: public/kiosk.json (or ?config=<same-origin path>) over the defaults
// below. Every wrong field stops the kiosk with a message naming it.

import { localName, LANGUAGES } from './i18n.js';

const DEFAULTS = {
  title: { en: 'Teach the computer to see' },
  classes: [{ name: { en: 'Thing A' }, color: '#2563eb' }, { name: { en: 'Thing B' }, color: '#ea580c' }],
  languages: ['en', 'ja'], defaultLanguage: 'en', backbone: 'centernet',
  minSamples: 5, maxSamples: 30, captureRate: 6,
  train: { head: 'linear', epochs: 40, batch: 8, lr: 0.01, val: 0.2, seed: 1, early: false },
  idleResetSeconds: 60, idleWarningSeconds: 10, predictIntervalMs: 250, learnShowSeconds: 2,
  operator: { pin: '', holdSeconds: 3 },
};

/** loadConfig reads the kiosk config; every wrong field is an error naming it. */
export async function loadConfig(url, params) {
  if (url.origin !== location.origin) throw new Error(`kiosk config ${url}: must be on this site`);
  let c;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    c = await r.json();
  } catch (err) {
    throw new Error(`Cannot read the kiosk config ${url.pathname}: ${err.message}`);
  }
  c = { ...DEFAULTS, ...c, train: { ...DEFAULTS.train, ...(c.train || {}) }, operator: { ...DEFAULTS.operator, ...(c.operator || {}) } };
  const bad = (m) => { throw new Error(`kiosk config ${url.pathname}: ${m}`); };
  if (!Array.isArray(c.classes) || c.classes.length !== 2) bad('"classes" must list exactly 2 classes (the flow teaches A, then B)');
  for (const [i, k] of c.classes.entries()) if (!k || !localName(k.name, 'en')) bad(`class ${i + 1} has no name`);
  const num = (k, lo, hi) => { if (!(Number.isFinite(c[k]) && c[k] >= lo && c[k] <= hi)) bad(`"${k}" must be a number from ${lo} to ${hi}, got ${JSON.stringify(c[k])}`); };
  num('minSamples', 1, 500); num('maxSamples', 1, 500); num('captureRate', 1, 30);
  num('idleResetSeconds', 5, 86400); num('idleWarningSeconds', 0, 600); num('predictIntervalMs', 30, 10000); num('learnShowSeconds', 0, 60);
  if (c.maxSamples < c.minSamples) bad('"maxSamples" is below "minSamples"');
  if (!Array.isArray(c.languages) || !c.languages.length) bad('"languages" must list at least one language');
  for (const l of c.languages) if (!(l in LANGUAGES)) bad(`language "${l}" is not shipped (have: ${Object.keys(LANGUAGES).join(', ')})`);
  if (typeof c.operator.pin !== 'string' || !/^\d{4,12}$/.test(c.operator.pin)) bad('"operator.pin" must be a string of 4 to 12 digits');
  // Test and operator overrides: ?idle=SECONDS shortens the idle reset (never below 2 s).
  if (params.has('idle')) c.idleResetSeconds = Math.max(2, Number(params.get('idle')) || c.idleResetSeconds);
  c.idleWarningSeconds = Math.min(c.idleWarningSeconds, c.idleResetSeconds / 2);
  return c;
}
