// The docs page's own script: it uses only embed.js's public API (DOM events and div.finetuner)
// to show both trainers' numbers side by side, live.
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  ['deep', 'mid'].forEach(function (name) {
    var div = document.getElementById(name);
    var live = document.getElementById(name + '-live');
    var set = function (k, v) { document.getElementById(name + '-' + k).textContent = v; };
    div.addEventListener('finetuner:ready', function (e) {
      set('dim', e.detail.dim + ' numbers');
      live.textContent = e.detail.rows + ' photos, ' + e.detail.classes.join(', ');
    });
    div.addEventListener('finetuner:epoch', function (e) {
      var d = e.detail;
      live.textContent = 'epoch ' + d.epoch + '/' + d.epochs + ' · loss ' + d.trainLoss.toFixed(3) +
        (d.valAcc != null ? ' · val acc ' + (100 * d.valAcc).toFixed(1) + '%' : '');
      set('epochs', d.epoch);
      set('loss', d.trainLoss.toFixed(3));
    });
    div.addEventListener('finetuner:done', function (e) {
      set('acc', (100 * e.detail.valAcc).toFixed(1) + '%');
      live.textContent += ' · done in ' + e.detail.ms + ' ms';
    });
    // A reset clears the embed's plot; the caption and the table must not keep the old run.
    div.addEventListener('finetuner:reset', function () {
      live.textContent = 'reset: press Train to run again';
      ['epochs', 'loss', 'acc'].forEach(function (k) { set(k, '–'); });
    });
    div.addEventListener('finetuner:prediction', function (e) {
      live.textContent = 'your image: ' + e.detail.label + ' (' + Math.round(100 * e.detail.probs[e.detail.label]) + '%)';
    });
    div.addEventListener('finetuner:error', function (e) { live.textContent = 'error: ' + e.detail.error; });
  });
  function both(params) {
    ['deep', 'mid'].forEach(function (n) { document.getElementById(n).finetuner.train(params); });
  }
  document.getElementById('both-mlp').addEventListener('click', function () { both({ head: 'mlp', epochs: 60 }); });
  document.getElementById('both-linear').addEventListener('click', function () { both({ head: 'linear', epochs: 40 }); });
});
