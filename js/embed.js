// embed.js: one <script> tag turns every <div data-finetuner="..."> on a page into a live
// fine-tuner (public/embed.html in an iframe), created only when it scrolls near the viewport.
//
//   <script src="/js/embed.js" defer></script>
//   <div data-finetuner="level=mid&autoplay=1&height=360"></div>
//
// data-finetuner holds the embed's URL parameters (see js/embed-page.js); height= sets the frame's
// height in CSS pixels (default 380). Each div gets a `finetuner` property with send(command),
// train(params), reset(), setParams(params), predict(url), and receives the embed's events as
// DOM events "finetuner:ready", "finetuner:epoch", "finetuner:done", "finetuner:prediction",
// "finetuner:reset", "finetuner:error" (event.detail is the message). Several embeds on a page are told apart by an id.
(function () {
  'use strict';
  var script = document.currentScript;
  var base = new URL('../public/embed.html', script ? script.src : location.href);
  var frames = new Map(); // contentWindow → div
  var count = 0;

  function load(div) {
    if (div.dataset.finetunerLoaded) return;
    div.dataset.finetunerLoaded = '1';
    var q = new URLSearchParams(div.getAttribute('data-finetuner') || '');
    var height = Math.max(200, Math.min(2000, Number(q.get('height')) || 380));
    q.delete('height');
    q.set('id', div.id || 'finetuner-' + count);
    if (!q.has('lang') && document.documentElement.lang) q.set('lang', document.documentElement.lang);
    var f = document.createElement('iframe');
    f.src = base.href + '?' + q.toString();
    f.title = div.getAttribute('aria-label') || 'Interactive fine-tuner';
    f.loading = 'lazy';
    // The frame never takes focus or scrolls the page by itself: no autofocus, and tabindex
    // keeps it in reading order only when the reader tabs into it.
    f.setAttribute('allow', 'camera \'none\'; microphone \'none\'');
    f.style.cssText = 'display:block;width:100%;border:1px solid #e5e7eb;border-radius:8px;height:' + height + 'px';
    div.style.minHeight = height + 'px';
    div.replaceChildren(f);
    frames.set(f.contentWindow, div);
    f.addEventListener('load', function () {
      frames.set(f.contentWindow, div);
      var q2 = div._finetunerQueue || [];
      div._finetunerQueue = null;
      div._finetunerLoaded = true;
      q2.forEach(function (m) { f.contentWindow.postMessage(m, base.origin === 'null' ? '*' : base.origin); });
    });
  }

  function api(div) {
    function send(m) {
      m = Object.assign({ source: 'finetuner-host' }, m);
      var f = div.querySelector('iframe');
      if (!f || !div._finetunerLoaded) {
        (div._finetunerQueue = div._finetunerQueue || []).push(m);
        load(div);
        return;
      }
      // Commands go only to the embed's own origin (under file:// that origin is "null").
      f.contentWindow.postMessage(m, base.origin === 'null' ? '*' : base.origin);
    }
    return {
      send: send,
      train: function (params) { send({ type: 'train', params: params }); },
      reset: function () { send({ type: 'reset' }); },
      setParams: function (params) { send({ type: 'setParams', params: params }); },
      predict: function (url) { send({ type: 'predict', url: new URL(url, location.href).href }); },
    };
  }

  window.addEventListener('message', function (e) {
    var div = frames.get(e.source);
    if (!div || !e.data || e.data.source !== 'finetuner') return;
    div.dispatchEvent(new CustomEvent('finetuner:' + e.data.type, { detail: e.data, bubbles: true }));
  });

  function init() {
    var divs = document.querySelectorAll('div[data-finetuner]:not([data-finetuner-init])');
    var io = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting) { io.unobserve(en.target); load(en.target); }
      });
    }, { rootMargin: '200px 0px' }) : null;
    divs.forEach(function (div) {
      div.setAttribute('data-finetuner-init', '');
      count++;
      if (!div.id) div.id = 'finetuner-' + count;
      div.finetuner = api(div);
      var q = new URLSearchParams(div.getAttribute('data-finetuner') || '');
      div.style.minHeight = Math.max(200, Math.min(2000, Number(q.get('height')) || 380)) + 'px';
      if (io) io.observe(div); else load(div);
    });
  }
  window.finetunerEmbeds = { init: init };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
