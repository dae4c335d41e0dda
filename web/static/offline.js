// corridor: forms that work without a connection. Every page works
// without this script; with it, a form sent while the link is down is
// kept in this browser (IndexedDB), shown as waiting, and sent when the
// link returns. The server makes a record's id from what is signed, so a
// form sent twice is one record: a retry is always safe.
(function () {
  'use strict';
  if (!window.indexedDB || !window.fetch || !window.FormData) return;
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(function () {});
  }
  var box = document.getElementById('outbox');
  if (!box) return;
  var msg = box.dataset;

  function open() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open('corridor-outbox', 1);
      r.onupgradeneeded = function () { r.result.createObjectStore('forms', {keyPath: 'id', autoIncrement: true}); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  // run does one request on the store and resolves with its result once
  // the transaction is committed.
  function run(mode, f) {
    return open().then(function (db) {
      return new Promise(function (ok, fail) {
        var t = db.transaction('forms', mode);
        var req = f(t.objectStore('forms'));
        t.oncomplete = function () { db.close(); ok(req && req.result); };
        t.onerror = function () { db.close(); fail(t.error); };
      });
    });
  }
  function all() { return run('readonly', function (s) { return s.getAll(); }); }
  function put(e) { return run('readwrite', function (s) { return s.put(e); }); }
  function remove(id) { return run('readwrite', function (s) { return s.delete(id); }); }

  function fill(m, n) { return String(m).replace('{0}', n); }
  // problems reads the errors a form page answered with: those at the
  // top, and each field's with its label.
  function problems(html) {
    var d = new DOMParser().parseFromString(html, 'text/html');
    var parts = [];
    d.querySelectorAll('.errors .error').forEach(function (el) { parts.push(el.textContent.trim()); });
    d.querySelectorAll('form .has-error').forEach(function (f) {
      var label = f.querySelector('label, legend'), err = f.querySelector('.error');
      if (err) parts.push((label ? label.textContent.replace('*', '').trim() + ': ' : '') + err.textContent.trim());
    });
    return parts.join(' · ');
  }

  function show(note) {
    return all().then(function (list) {
      box.textContent = '';
      var waiting = list.filter(function (e) { return e.state === 'waiting'; }).length;
      if (note) {
        var p = document.createElement('p');
        p.className = 'note';
        p.textContent = note;
        box.appendChild(p);
      }
      if (waiting) {
        var w = document.createElement('p');
        w.className = 'waiting';
        w.dataset.count = String(waiting);
        w.textContent = fill(msg.waiting, waiting);
        box.appendChild(w);
      }
      list.filter(function (e) { return e.state === 'refused'; }).forEach(function (e) {
        var r = document.createElement('div');
        r.className = 'refused';
        r.setAttribute('role', 'alert');
        var p = document.createElement('p');
        p.textContent = fill(msg.refused, e.title) + ' ' + e.error;
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = msg.open;
        b.addEventListener('click', function () {
          // The server's answer: the form with each error beside its
          // field and what was typed kept, to correct and send again.
          remove(e.id).then(function () {
            document.open();
            document.write(e.html);
            document.close();
          });
        });
        r.appendChild(p);
        r.appendChild(b);
        box.appendChild(r);
      });
      box.hidden = box.childNodes.length === 0;
      return waiting;
    });
  }

  function body(fields) {
    var fd = new FormData();
    fields.forEach(function (kv) { fd.append(kv[0], kv[1]); });
    return fd;
  }
  function post(action, fields) {
    return fetch(action, {method: 'POST', body: body(fields), credentials: 'same-origin', redirect: 'follow'});
  }

  // flush sends every waiting form, oldest first, and stops at the first
  // that cannot reach the server (the link is still down).
  var flushing = false;
  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    var sent = 0;
    return all().then(function (list) {
      var waiting = list.filter(function (e) { return e.state === 'waiting'; });
      return waiting.reduce(function (p, e) {
        return p.then(function (go) {
          if (!go) return false;
          return post(e.action, e.fields).then(function (resp) {
            if (resp.ok) { sent++; return remove(e.id).then(function () { return true; }); }
            return resp.text().then(function (html) {
              if (resp.status === 403) return false; // signed out: kept until signed in again
              e.state = 'refused';
              e.html = html;
              e.error = problems(html) || resp.status + ' ' + resp.statusText;
              return put(e).then(function () { return true; });
            });
          }, function () { return false; });
        });
      }, Promise.resolve(true));
    }).then(function () {
      flushing = false;
      return show(sent ? fill(msg.sent, sent) : '');
    }, function () { flushing = false; });
  }

  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f.matches || !f.matches('form.form') || (f.method || '').toLowerCase() !== 'post') return;
    ev.preventDefault();
    var fields = [];
    new FormData(f).forEach(function (v, k) { fields.push([k, v]); });
    var title = (document.querySelector('main h1') || {}).textContent || f.action;
    post(f.action, fields).then(function (resp) {
      if (resp.redirected) { location.assign(resp.url); return; }
      return resp.text().then(function (html) {
        document.open();
        document.write(html);
        document.close();
      });
    }, function () {
      // No connection: keep the form as it was filled, files included.
      return put({action: f.action, title: title.trim(), fields: fields, queued: new Date().toISOString(), state: 'waiting'}).then(function () {
        f.reset();
        return show(msg.queued);
      });
    });
  });
  document.addEventListener('submit', function (ev) {
    // Signing out ends what this browser keeps of the forms' pages.
    if (ev.target.matches && ev.target.matches('form.signout') && window.caches) caches.delete('corridor-forms');
  }, true);

  window.addEventListener('online', flush);
  setInterval(function () { all().then(function (l) { if (l.some(function (e) { return e.state === 'waiting'; })) flush(); }); }, 15000);
  show('').then(function (n) { if (n && navigator.onLine) flush(); });
})();
