// index.html?kiosk opens the kiosk (public/kiosk.html) and index.html?embed the docs embed
// (public/embed.html), keeping the other parameters, before the app starts loading. A classic
// script in <head> so it runs first; the app's CSP allows no inline script.
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var to = q.has('kiosk') ? 'public/kiosk.html' : q.has('embed') ? 'public/embed.html' : '';
  if (!to) return;
  q.delete('kiosk');
  q.delete('embed');
  var rest = q.toString();
  location.replace(to + (rest ? '?' + rest : '') + location.hash);
})();
