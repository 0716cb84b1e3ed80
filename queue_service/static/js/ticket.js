/* The visitor's status page, live through its ticket's own room (docs/realtime-protocol.md):
   join_ticket -> ticket_state, then ticket_updated on every change and new position. While the
   socket is down the status is fetched over HTTP every pollSeconds. When the number is called
   (or called again) the page goes full screen, vibrates, rings and notifies, once per call. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("ticket-config").textContent);
  var S = cfg.strings;
  var section = document.querySelector(".ticket-status");
  var state = { status: cfg.status, online: false, alerted: null, poll: null, notifying: false };
  var announcer = new window.Announcer({ gong: true, speech: false });
  window.queueTicket = { state: state, announcer: announcer };  // diagnostics, tests

  function el(role) { return document.querySelector('[data-role="' + role + '"]'); }
  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (m, k) { return vars && k in vars ? vars[k] : m; });
  }
  function counterText(counter) {
    if (!counter) return "";
    if (cfg.lang === "de" || counter.name !== "Platz " + counter.number) return counter.name;
    return fill(S.counter_n, { n: counter.number });
  }
  function callKey(view) {
    return view.status === "called" ? [view.counter && view.counter.number, view.called_at, view.recall_count].join("|") : null;
  }

  function clock(iso, withDay) {
    if (!iso) return "";
    var options = { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" };
    if (withDay) { options.weekday = "long"; options.day = "numeric"; options.month = "long"; }
    try { return new Intl.DateTimeFormat(cfg.lang, options).format(new Date(iso)); }
    catch (e) { return iso.slice(11, 16); }
  }

  // the walk-in forecast's warning: shown while the number may not be reached before closing
  function showServedOut(alt) {
    var box = el("served-out");
    box.hidden = !alt;
    section.dataset.servedOut = alt ? "1" : "0";
    if (!alt) return;
    el("served-out-text").textContent = fill(S.warn_text, { time: clock(alt.service_ends, false) });
    el("served-out-next-free").textContent = alt.next_free_appointment
      ? fill(S.warn_next_free, { when: clock(alt.next_free_appointment, true) }) : S.warn_none_free;
    el("served-out-book").href = alt.book_url || "";
    el("served-out-book").hidden = !alt.book_url;
    el("served-out-waitlist").href = alt.waitlist_url || "";
    el("served-out-waitlist").hidden = !alt.waitlist_url;
  }

  function apply(view) {
    var label = S.labels[view.status] || view.status;
    if (state.status && state.status !== view.status) el("status-live").textContent = label;
    state.status = view.status;
    section.dataset.status = view.status;
    el("status").textContent = label;
    el("counter").textContent = counterText(view.counter);
    el("counter-fact").hidden = !view.counter;
    var waiting = view.status === "waiting";
    el("ahead-fact").hidden = !waiting;
    el("estimate-fact").hidden = !waiting;
    if (waiting) {
      el("ahead").textContent = view.people_ahead == null ? "–" : String(view.people_ahead);
      var minutes = view.estimated_wait_minutes;
      el("estimate").textContent = minutes == null ? S.no_estimate
        : minutes <= cfg.soonMinutes ? S.soon : fill(S.about_minutes, { n: minutes });
    }
    // a push without the forecast (a single ticket's change) leaves the warning as it was
    if (!waiting) showServedOut(null);
    else if ("may_not_be_served" in view) showServedOut(view.may_not_be_served ? view.alternatives : null);
    var open = cfg.cancellable.indexOf(view.status) >= 0;
    el("cancel").hidden = !open;
    el("notify").hidden = !open || state.notifying;
    var key = callKey(view);
    if (key && key !== state.alerted) {
      state.alerted = key;
      alertCalled(view);
    }
    if (view.status !== "called") el("called").hidden = true;
    // other parts of the page (js/turn-alert.js) follow every new view
    document.dispatchEvent(new CustomEvent("ticket:view", { detail: view }));
  }

  function alertCalled(view) {
    var where = fill(S.go_to, { counter: counterText(view.counter) });
    el("called-where").textContent = where;
    el("called").hidden = false;
    el("called-ok").focus();
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 800]);
    announcer.announce([{ lang: cfg.lang, text: where }]);
    notify(view.number + ": " + where);
  }

  function notify(text) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var options = { body: text, tag: "ticket-call", renotify: true, requireInteraction: true,
      data: { url: window.location.pathname } };
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then(function (reg) { reg.showNotification(S.your_turn, options); });
    } else {
      try { new Notification(S.your_turn, options); } catch (e) { /* phones need the worker */ }
    }
  }

  // ------------------------------------------------------------------ connection

  function fetchStatus() {
    return window.fetch(cfg.stateUrl + "?lang=" + encodeURIComponent(cfg.lang),
      { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(apply)
      .catch(function () {});
  }

  function setOnline(online) {
    state.online = online;
    var line = el("connection");
    line.textContent = online ? S.live : fill(S.offline, { n: cfg.pollSeconds });
    line.classList.toggle("offline", !online);
    if (online) {
      window.clearInterval(state.poll);
      state.poll = null;
    } else if (!state.poll) {
      fetchStatus();
      state.poll = window.setInterval(fetchStatus, cfg.pollSeconds * 1000);
    }
  }

  var socket = window.io("/display", { reconnectionDelay: 1000, reconnectionDelayMax: 5000, timeout: 8000 });
  function join() {
    socket.timeout(8000).emit("join_ticket", { token: cfg.token, lang: cfg.lang }, function (err, ack) {
      if (err || !ack || !ack.ok) fetchStatus();
    });
  }
  socket.on("connect", function () { setOnline(true); join(); });
  socket.on("disconnect", function () { setOnline(false); });
  socket.on("connect_error", function () { setOnline(false); });
  socket.on("ticket_state", apply);
  socket.on("ticket_updated", apply);
  // a lost push must not leave the page wrong for long: re-read now and then while connected
  window.setInterval(function () { if (socket.connected) join(); }, 6 * cfg.pollSeconds * 1000);

  // ------------------------------------------------------------------ alerts

  el("called-ok").addEventListener("click", function () { el("called").hidden = true; });
  var notifyButton = el("notify");
  notifyButton.hidden = cfg.cancellable.indexOf(cfg.status) < 0;
  notifyButton.addEventListener("click", function () {
    state.notifying = true;
    announcer.unlock();  // the tap allows sound later
    if (navigator.serviceWorker) navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" }).catch(function () {});
    var done = function (permission) {
      el("notify-note").textContent = permission === "denied" ? S.notify_blocked : S.notify_on;
      notifyButton.hidden = true;
    };
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().then(done, function () { done("denied"); });
    } else done("Notification" in window ? Notification.permission : "unsupported");
  });

  showServedOut(cfg.status === "waiting" ? cfg.alternatives : null);
  var opened = { status: cfg.status, counter: cfg.counter, called_at: cfg.calledAt, recall_count: cfg.recallCount,
                 number: document.querySelector(".ticket-number").textContent };
  if (callKey(opened)) {  // opened while called: show it at once
    state.alerted = callKey(opened);
    alertCalled(opened);
  }
  window.setTimeout(function () { if (!state.online) setOnline(false); }, 4000);
})();
