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
  // Why Ebiten stopped: a browser without a usable WebGL2 context is the usual reason. The probe
  // runs only then: a throwaway context costs the shared page thread 150 ms and more at start.
  function stopped(err) {
    var gl = false;
    try { gl = !!document.createElement('canvas').getContext('webgl2'); } catch (e) { gl = false; }
    if (!gl) return fail('The plot needs WebGL2, which this browser cannot provide here (training still works).');
    fail('The plot stopped' + (err ? ': ' + err : '') + '.');
  }
  // Start-up times in ms since this frame's navigation start, for the browser tests; the Go side
  // adds main (runtime and package initialisation done) and firstDraw.
  window.plotTiming = {};
  function mark(k) { window.plotTiming[k] = Math.round(performance.now()); }
  window.addEventListener('DOMContentLoaded', function () {
    if (typeof WebAssembly !== 'object') return fail('The plot needs WebAssembly, which this browser does not offer.');
    if (typeof WebGL2RenderingContext !== 'function') return fail('The plot needs WebGL2, which this browser does not offer (training still works).');
    if (typeof Go !== 'function') return fail('build/wasm_exec.js is missing: run ./build.sh web.');
    var go = new Go();
    mark('boot');
    WebAssembly.instantiateStreaming(fetch('build/plot.wasm'), go.importObject).then(function (r) {
      mark('instantiated');
      var msg = document.getElementById('msg');
      if (msg) msg.remove();
      // The plot runs until the page goes away; its end means Ebiten gave up.
      return go.run(r.instance).then(function () { stopped(''); });
    }, function (err) { fail('The plot failed to start: ' + err); }).catch(stopped);
  });
})();
