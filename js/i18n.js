// Translatable UI text: public/i18n/<lang>.json holds flat key → text maps; English is the
// fallback for any key a language lacks. Text may hold {name} placeholders. Elements carry
// data-i18n="key" (text), data-i18n-aria="key" (aria-label) or data-i18n-title="key" (title).

export const LANGUAGES = { en: 'English', ja: '日本語' };

const cache = new Map();
const base = new URL('../public/i18n/', import.meta.url);

async function table(lang) {
  if (!cache.has(lang)) {
    cache.set(lang, fetch(new URL(`${lang}.json`, base)).then((r) => {
      if (!r.ok) throw new Error(`no translation file for language "${lang}" (public/i18n/${lang}.json: HTTP ${r.status})`);
      return r.json();
    }).catch((err) => { cache.delete(lang); throw err; }));
  }
  return cache.get(lang);
}

/** pickLanguage returns the first of the wanted languages that ships, else "en". */
export function pickLanguage(...wanted) {
  for (const w of wanted) {
    if (!w) continue;
    const l = String(w).toLowerCase().split(/[-_]/)[0];
    if (l in LANGUAGES) return l;
  }
  return 'en';
}

/**
 * loadI18n returns {lang, t, prefixed}: t(key, vars) gives the text in lang, falling back to
 * English, and to the key itself (so a missing string is visible, never blank); prefixed(p) gives
 * every text whose key starts with p, keyed without p (the plot frame's texts are "plot.*").
 */
export async function loadI18n(lang) {
  lang = pickLanguage(lang);
  const en = await table('en');
  const own = lang === 'en' ? en : await table(lang);
  const t = (key, vars) => {
    let s = own[key] ?? en[key] ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  };
  const prefixed = (p) => Object.fromEntries(Object.keys({ ...en, ...own })
    .filter((k) => k.startsWith(p)).map((k) => [k.slice(p.length), t(k)]));
  return { lang, t, prefixed };
}

/** applyI18n fills every data-i18n* element under root and sets the document language. */
export function applyI18n(root, { lang, t }) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  if (root === document || root === document.documentElement) document.documentElement.lang = lang;
}

/** localName picks a name for lang from a string or an {en, ja, ...} map. */
export function localName(name, lang) {
  if (name && typeof name === 'object') return name[lang] ?? name.en ?? Object.values(name)[0] ?? '';
  return String(name ?? '');
}
