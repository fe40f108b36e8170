// Starts the Ebiten plot (build/plot.wasm) inside the app's iframe, or explains why it cannot run.
(function () {
  'use strict';
  function fail(text) {
    // Kept for a page that starts listening after this (js/plot.js looks, same origin only).
    window.plotBootError = text;
    var msg = document.getElementById('msg');
    if (msg) msg.textContent = text;
    if (window.parent !== window) window.parent.postMessage(JSON.stringify({ type: 'plot-error', error: text }), '*');
  }
  window.addEventListener('DOMContentLoaded', function () {
    if (typeof WebAssembly !== 'object') return fail('The plot needs WebAssembly, which this browser does not offer.');
    var probe = document.createElement('canvas');
    if (!probe.getContext('webgl2')) return fail('The plot needs WebGL2, which this browser does not offer (training still works).');
    if (typeof Go !== 'function') return fail('build/wasm_exec.js is missing: run ./build.sh web.');
    var go = new Go();
    WebAssembly.instantiateStreaming(fetch('build/plot.wasm'), go.importObject).then(function (r) {
      var msg = document.getElementById('msg');
      if (msg) msg.remove();
      return go.run(r.instance);
    }).catch(function (err) { fail('The plot failed to start: ' + err); });
  });
})();
