/* The turn alert of the visitor's status page (web/_turn_alert.html, docs/notify.md): when at most
   N people are ahead (N chosen by the visitor and stored on the server), the page shows a banner,
   announces it to screen readers, vibrates, rings and notifies where the browser allows, once
   each time the position comes down to N. It follows the views js/ticket.js receives live
   ("ticket:view" events). The form is posted with fetch so that the tap which asked for
   notification permission also unlocks sound on this page. */
(function () {
  "use strict";

  var source = document.getElementById("turn-alert-config");
  if (!source) return;  // the ticket can no longer be called: no alert box
  var cfg = JSON.parse(source.textContent);
  var S = cfg.strings;
  var section = document.querySelector('[data-role="turn-alert"]');
  var state = { ahead: cfg.ahead, fired: false, view: { status: cfg.status, people_ahead: cfg.peopleAhead }, log: [] };
  window.queueTurnAlert = state;  // diagnostics, tests

  function el(role) { return section.querySelector('[data-role="' + role + '"]'); }
  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (m, k) { return vars && k in vars ? vars[k] : m; });
  }
  var firedKey = "turn-alert-fired:" + cfg.token;
  function firedBefore() {
    try { return window.sessionStorage.getItem(firedKey) === String(state.ahead); } catch (e) { return false; }
  }
  function remember(value) {
    try {
      if (value) window.sessionStorage.setItem(firedKey, value); else window.sessionStorage.removeItem(firedKey);
    } catch (e) { /* private mode: alerts may repeat after a reload */ }
  }

  function notify(text) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var options = { body: text, tag: "turn-alert", renotify: true, data: { url: window.location.pathname } };
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then(function (reg) { reg.showNotification(S.title, options); });
    } else {
      try { new Notification(S.title, options); } catch (e) { /* phones need the worker */ }
    }
  }

  function fire(ahead, quiet) {
    var text = ahead === 0 ? S.next : fill(S.soon, { n: ahead });
    el("turn-alert-text").textContent = text;
    var banner = el("turn-alert-banner");
    banner.hidden = false;
    if (banner.scrollIntoView) banner.scrollIntoView({ block: "center" });
    state.fired = true;
    if (quiet) return;  // shown again after a reload: no second ring
    state.log.push({ at: Date.now(), ahead: ahead, text: text });
    el("turn-alert-live").textContent = text;
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    var ticket = window.queueTicket;
    if (ticket && ticket.announcer) ticket.announcer.announce([{ lang: cfg.lang, text: text }]);
    notify(text);
    remember(String(state.ahead));
  }

  function check() {
    var view = state.view;
    var open = view.status === "waiting" || view.status === "parked";
    section.hidden = !open;
    var near = state.ahead && view.status === "waiting" && view.people_ahead != null && view.people_ahead <= state.ahead;
    if (!near) {
      if (state.fired) el("turn-alert-banner").hidden = true;
      if (state.fired && view.status === "waiting") remember(null);  // moved back: may alert again
      state.fired = false;
      return;
    }
    if (!state.fired) fire(view.people_ahead, firedBefore());
    else el("turn-alert-text").textContent = view.people_ahead === 0 ? S.next : fill(S.soon, { n: view.people_ahead });
  }

  document.addEventListener("ticket:view", function (event) {
    state.view = event.detail;
    check();
  });
  el("turn-alert-ok").addEventListener("click", function () { el("turn-alert-banner").hidden = true; });

  // ------------------------------------------------------------------ the form

  var form = el("turn-alert-form");
  function askPermission() {
    var ticket = window.queueTicket;
    if (ticket && ticket.announcer) ticket.announcer.unlock();  // the tap allows sound later
    if (navigator.serviceWorker) navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" }).catch(function () {});
    if ("Notification" in window && Notification.permission === "default") {
      return Notification.requestPermission().catch(function () { return "denied"; });
    }
    return Promise.resolve("Notification" in window ? Notification.permission : "unsupported");
  }

  function saved(data, permission) {
    state.ahead = data.ahead;
    var text = data.message;
    if (data.ahead && permission === "denied") text += " " + S.blocked;
    el("turn-alert-state").textContent = text;
    el("turn-alert-remove").hidden = !data.ahead;
    state.fired = false;
    remember(null);
    if (form.elements.email) form.elements.email.value = "";
    if (form.elements.consent) form.elements.consent.checked = false;
    check();
  }

  if (window.fetch && window.FormData) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      var removing = data.get("remove");
      el("turn-alert-error").textContent = "";
      var permission = removing ? Promise.resolve("unsupported") : askPermission();
      permission.then(function (granted) {
        return window.fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json" },
          credentials: "same-origin" })
          .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
          .then(function (answer) {
            if (!answer.ok) {
              el("turn-alert-error").textContent = answer.body.message || S.failed;
              var field = answer.body.field && form.elements[answer.body.field];
              if (field && field.focus) field.focus();
              return;
            }
            saved(answer.body, granted);
          });
      }).catch(function () { el("turn-alert-error").textContent = S.failed; });
    });
  }

  check();
})();
