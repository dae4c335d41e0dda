// corridor's service worker: keeps the form pages and the style sheet a
// member has opened, so that a form can be opened and filled with no
// connection (offline.js queues what is sent). Everything else goes to
// the network as it would without it.
var CACHE = 'corridor-forms';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (e) { e.waitUntil(self.clients.claim()); });

self.addEventListener('fetch', function (e) {
  var r = e.request;
  if (r.method !== 'GET') return;
  var u = new URL(r.url);
  if (u.origin !== self.location.origin) return;
  var form = u.pathname.indexOf('/forms/') === 0;
  if (!form && u.pathname.indexOf('/static/') !== 0) return;
  // The network first, so that what is offered is current; the copy kept
  // when there is none. A form's "recorded" page is not kept.
  var key = form ? u.origin + u.pathname : r;
  e.respondWith(fetch(r).then(function (resp) {
    if (resp.ok && resp.type === 'basic' && u.searchParams.get('done') === null) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { return c.put(key, copy); });
    }
    return resp;
  }, function () {
    return caches.open(CACHE).then(function (c) { return c.match(key); }).then(function (m) { return m || Response.error(); });
  }));
});
