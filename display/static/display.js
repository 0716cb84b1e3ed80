/* The waiting-room display. Protocol: docs/realtime-protocol.md.
   - On every (re)connect: join_office -> display_state (the full snapshot, with the office's seq);
     after the first, with since = the seq in hand, preceded by display_replay (the calls missed).
   - Every event names the seqs it stands for (a queue_updated may stand for several changes).
     Events from several server processes may arrive out of order: a missing seq is waited for
     REORDER_MS before it counts as lost and makes us resync.
   - A heartbeat (sync) every pollSeconds compares seqs, so a lost event is found even when no
     later event comes: a seq the server reported that has still not arrived by the next
     heartbeat was lost (a busy server commits seconds before its events arrive, so REORDER_MS
     is too short here); while the socket is down the snapshot is fetched over HTTP instead,
     with since after the first (its replay brings the calls missed, as over the socket).
   - A call is shown and announced once per call_id, whatever path it arrives by.
   Runs for days: every list is bounded and the same few timers are reused. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("display-config").textContent);
  var root = document.querySelector(".screen");
  var langs = cfg.languages;
  var S = cfg.strings;
  var HISTORY = Math.max(cfg.rows, 10);
  var SEEN_MAX = 300;          // call ids remembered (so a repeated event never shows twice)
  var NEW_MS = 10000;          // how long a new call stays highlighted
  var ANNOUNCE_LATE_MS = 60000;  // a call found by a resync is still announced if this recent
  var REORDER_MS = 2000;       // a missing seq is waited for this long before we resync

  var state = {
    seq: -1, ahead: new Map(), queueSeq: -1, synced: false, online: false, calls: [], services: [], counters: [], messages: {},
    open: true, walkinOpen: true, closedReason: null, clockOffset: 0, lastData: null,
    resyncing: false, resyncs: 0, heartbeatMisses: 0, tickerKey: "", reported: -1
  };
  var seen = new Map();
  var announcer = new window.Announcer({ gong: cfg.gong, speech: cfg.speech });
  var timers = { poll: null, highlight: null, gap: null };
  window.queueDisplay = { state: state, announcer: announcer, seen: seen };  // diagnostics, tests

  function el(role) { return document.querySelector('[data-role="' + role + '"]'); }
  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (m, k) { return vars && k in vars ? vars[k] : m; });
  }
  function label(key, vars) {
    var texts = [];
    langs.forEach(function (l) {
      var t = fill(S[l][key], vars);
      if (texts.indexOf(t) < 0) texts.push(t);
    });
    return texts.join(" · ");
  }
  function first(key, vars) { return fill(S[langs[0]][key], vars); }
  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text != null) n.textContent = text;
    return n;
  }
  function serverNow() { return Date.now() + state.clockOffset; }
  function remember(id) {
    seen.set(id, true);
    while (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value);
  }

  // ------------------------------------------------------------------ rendering

  function counterText(call) {
    if (call.counter == null) return "";
    if (langs.indexOf("de") >= 0) return call.counter_name || ("Platz " + call.counter);
    var standard = "Platz " + call.counter;
    return call.counter_name && call.counter_name !== standard ? call.counter_name : first("counter_n", { n: call.counter });
  }

  /* The calls shown: those called now first (the newest is the large line), then the calls of
     the last cfg.callMinutes whose visitor came to the counter. A number sent away (no-show,
     parked, transferred) is gone already (call_withdrawn, or left out of the snapshot). */
  function shownCalls() {
    var oldest = serverNow() - cfg.callMinutes * 60000;
    var recent = state.calls.filter(function (c) { return c.active || Date.parse(c.called_at) >= oldest; });
    return recent.filter(function (c) { return c.active; }).concat(recent.filter(function (c) { return !c.active; }));
  }

  function renderCalls() {
    var now = Date.now();
    var shown = shownCalls();
    var items = shown.slice(0, cfg.rows).map(function (c) {
      var li = node("li", "call" + (c.active ? "" : " is-past") + (c.active && c.newUntil > now ? " is-new" : ""));
      li.dataset.callId = c.call_id;
      li.appendChild(node("span", "number", c.number));
      var arrow = node("span", "arrow", "→");
      arrow.setAttribute("aria-hidden", "true");
      li.appendChild(arrow);
      li.appendChild(node("span", "counter", counterText(c)));
      return li;
    });
    el("calls").replaceChildren.apply(el("calls"), items);
    el("no-calls").hidden = shown.length > 0;
    scheduleHighlightEnd();
  }

  function scheduleHighlightEnd() {
    window.clearTimeout(timers.highlight);
    var now = Date.now();
    var next = state.calls.reduce(function (m, c) { return c.newUntil > now ? Math.min(m, c.newUntil) : m; }, Infinity);
    // a past call leaves the list once it is older than cfg.callMinutes
    var oldest = state.calls.reduce(function (m, c) {
      return c.active ? m : Math.min(m, Date.parse(c.called_at) + cfg.callMinutes * 60000 - serverNow() + now);
    }, Infinity);
    next = Math.min(next, oldest);
    if (next !== Infinity) timers.highlight = window.setTimeout(render, Math.max(next - now, 0) + 50);
  }

  function renderWaiting() {
    var rows = state.services.filter(function (s) { return s.waiting > 0; });
    var total = rows.reduce(function (n, s) { return n + s.waiting; }, 0);
    var totalLine = el("waiting-total");
    totalLine.replaceChildren(document.createTextNode(label("waiting_total") + ": "), node("strong", null, String(total)));
    var body = el("services");
    if (!rows.length) {
      var empty = node("tr", "waiting-empty");
      var cell = node("td", null, label("nobody_waiting"));
      cell.colSpan = 3;
      empty.appendChild(cell);
      body.replaceChildren(empty);
    } else body.replaceChildren.apply(body, rows.slice(0, 12).map(function (s) {
      var tr = node("tr");
      var name = node("td", "service");
      name.appendChild(node("span", null, s.name[langs[0]] || s.name.de));
      tr.appendChild(name);
      tr.appendChild(node("td", "num count", String(s.waiting)));
      var minutes = s.estimated_wait_minutes;
      tr.appendChild(node("td", "num", minutes == null ? "–" : first("minutes", { n: minutes })));
      return tr;
    }));
    var open = state.counters.filter(function (c) { return c.status === "open"; }).length;
    el("open-counters").textContent = label("open_counters") + ": " + open;
  }

  function renderCounters() {
    var now = Date.now();
    var fresh = {};
    state.calls.forEach(function (c) { if (c.newUntil > now) fresh[c.call_id] = true; });
    var tiles = state.counters.filter(function (c) { return c.status === "open" || c.current; }).map(function (c) {
      var li = node("li", "counter-tile" + (c.current && fresh[c.current.call_id] ? " is-new" : ""));
      li.appendChild(node("span", "name", counterText({ counter: c.number, counter_name: c.name })));
      li.appendChild(node("span", "number", c.current ? c.current.number : "–"));
      return li;
    });
    el("counters").replaceChildren.apply(el("counters"), tiles);
  }

  function renderNote() {
    var note = "";
    if (state.closedReason) note = label("closed") + ": " + state.closedReason;
    else if (!state.walkinOpen) note = label("no_walkins");
    el("office-note").textContent = note;
  }

  function renderTicker() {
    var now = serverNow();
    var texts = [];
    var ids = [];
    Object.keys(state.messages).forEach(function (id) {
      var m = state.messages[id];
      var from = Date.parse(m.active_from);
      var until = m.active_until ? Date.parse(m.active_until) : Infinity;
      if (!m.active || from > now || until <= now) return;
      ids.push(id);
      var parts = [];
      langs.forEach(function (l) {
        var t = l === "en" ? (m.text_en || m.text_de) : m.text_de;
        if (parts.indexOf(t) < 0) parts.push(t);
      });
      texts.push(parts.join(" — "));
    });
    var key = ids.join(",") + "|" + texts.join("|");
    if (key === state.tickerKey) return;
    state.tickerKey = key;
    var ticker = el("ticker");
    var line = el("ticker-text");
    ticker.hidden = texts.length === 0;
    line.textContent = texts.join("   +++   ");
    ticker.classList.add("fits");  // measured without the scrolling padding
    if (!ticker.hidden && line.scrollWidth > ticker.clientWidth) ticker.classList.remove("fits");
    line.style.setProperty("--ticker-seconds", Math.max(15, Math.round(line.textContent.length * 0.28)) + "s");
  }

  function renderClock() {
    var clock = el("clock");
    var now = new Date(serverNow());
    clock.textContent = now.toLocaleTimeString(langs[0] === "de" ? "de-DE" : "en-GB",
      { hour: "2-digit", minute: "2-digit", timeZone: cfg.timezone });
    clock.dateTime = now.toISOString();
  }

  function renderConnection() {
    root.dataset.connection = state.online ? "online" : "offline";
    el("offline").hidden = state.online;
    if (!state.online) {
      var asOf = state.lastData ? new Date(state.lastData).toLocaleTimeString(
        langs[0] === "de" ? "de-DE" : "en-GB", { timeZone: cfg.timezone }) : "–";
      var text = el("offline-text");
      text.replaceChildren(document.createTextNode(label("offline")),
        node("small", null, first("offline_detail", { n: cfg.pollSeconds }) + " · " + first("as_of", { time: asOf })));
    }
  }

  function render() {
    renderCalls();
    renderWaiting();
    renderCounters();
    renderNote();
    renderTicker();
  }

  // ------------------------------------------------------------------ state

  function noteData(serverTime) {
    if (serverTime) state.clockOffset = Date.parse(serverTime) - Date.now();
    state.lastData = serverNow();
  }

  function applyQueue(d) {
    if (d.stale) return;  // the server could not read the queue; the next event or sync will
    // from another process a queue read older than the one shown may arrive late: keep ours
    if (d.seq < state.queueSeq) return;
    state.queueSeq = d.seq;
    state.services = d.services || [];
    state.counters = d.counters || [];
    state.open = d.open;
    state.walkinOpen = d.walkin_open;
    state.closedReason = d.closed_reason;
    markActive();
  }

  /* A call is "called now" while its counter still has that number called (not yet serving,
     finished, parked, transferred or a no-show): queue_updated tells after every change. */
  function markActive() {
    var called = {};
    state.counters.forEach(function (c) {
      if (c.current && c.current.status === "called") called[c.current.number] = c.number;
    });
    state.calls.forEach(function (c) { c.active = called[c.number] === c.counter; });
  }

  function withdrawCall(d) {
    state.calls = state.calls.filter(function (c) { return c.number !== d.number; });
    state.counters.forEach(function (c) { if (c.current && c.current.number === d.number) c.current = null; });
  }

  function announce(call) {
    var texts = langs.map(function (l) {
      return { lang: l, text: fill(S[l].say_call, { number: window.Announcer.spokenNumber(call.number), counter: call.counter }) };
    });
    el("announce").textContent = texts.map(function (t) { return t.text; }).join(" ");
    announcer.announce(texts);
  }

  function addCall(call, shouldAnnounce) {
    if (seen.has(call.call_id)) return;
    remember(call.call_id);
    var newer = !(call.seq <= state.queueSeq);  // else the counters shown already know it
    var entry = {
      call_id: call.call_id, number: call.number, counter: call.counter, counter_name: call.counter_name,
      service: call.service, recall_count: call.recall_count, called_at: call.called_at, newUntil: Date.now() + NEW_MS,
      active: true
    };
    state.calls = [entry].concat(state.calls.filter(function (c) { return c.number !== call.number; })).slice(0, HISTORY);
    if (newer) state.counters.forEach(function (c) {
      if (c.number === call.counter) c.current = { number: call.number, call_id: call.call_id, status: "called" };
      else if (c.current && c.current.number === call.number) c.current = null;
    });
    // called now is what the counters say: whoever the counter called before is not any more,
    // and a call whose queue read came first (another process) may be served already
    markActive();
    if (shouldAnnounce) announce(call);
  }

  function applySnapshot(s) {
    var initial = !state.synced;
    state.synced = true;
    state.seq = s.seq;
    var stale = Date.now() - REORDER_MS;  // long overdue gaps are not waited for again
    state.ahead.forEach(function (at, seq) { if (seq <= s.seq || at < stale) state.ahead.delete(seq); });
    advance();
    state.queueSeq = -1;  // the snapshot's queue is the one to show
    noteData(s.server_time);
    applyQueue(s);
    state.messages = {};
    (s.messages || []).slice(0, 50).forEach(function (m) { state.messages[m.id] = m; });
    var now = Date.now();
    var previous = {};
    state.calls.forEach(function (c) { previous[c.call_id] = c.newUntil; });
    var late = [];
    state.calls = (s.calls || []).slice(0, HISTORY).map(function (c) {
      var entry = Object.assign({}, c, { newUntil: previous[c.call_id] || 0 });
      if (!seen.has(c.call_id)) {
        remember(c.call_id);
        if (!initial && serverNow() - Date.parse(c.called_at) < ANNOUNCE_LATE_MS) {
          entry.newUntil = now + NEW_MS;
          late.push(c);
        }
      }
      return entry;
    });
    late.reverse().forEach(announce);  // oldest first
    render();
    checkSound();
  }

  /* The calls missed since state.seq, sent just before the snapshot of a resync: each is taken
     once by call_id (also those that have left the snapshot's last calls), and announced, oldest
     first, if still recent; a number sent away since is taken off again. */
  function applyReplay(r) {
    if (!state.synced || !r || !Array.isArray(r.events)) return;
    r.events.forEach(function (e) {
      var d = e.data || {};
      if (e.event === "call_withdrawn") withdrawCall(d);
      else if (e.event === "ticket_called" && d.call_id) {
        addCall(d, serverNow() - Date.parse(d.called_at) < ANNOUNCE_LATE_MS);
      }
    });
  }

  /* state.seq: every seq up to it has arrived (or is in the snapshot); state.ahead: seqs above
     it that arrived early, with the time they came. */
  function advance() {
    while (state.ahead.has(state.seq + 1)) {
      state.ahead.delete(state.seq + 1);
      state.seq += 1;
    }
    window.clearTimeout(timers.gap);
    timers.gap = null;
    if (!state.ahead.size) return;
    var oldest = Infinity;
    state.ahead.forEach(function (at) { oldest = Math.min(oldest, at); });
    timers.gap = window.setTimeout(function () {
      timers.gap = null;
      if (state.ahead.size) resync();  // a seq below them did not come: it was lost
    }, Math.max(0, oldest + REORDER_MS - Date.now()));
  }

  function onEvent(name, d, apply) {
    if (!state.synced || typeof d.seq !== "number") return;  // the snapshot on its way has it
    var seqs = (d.seqs || [d.seq]).filter(function (s) { return s > state.seq && !state.ahead.has(s); });
    if (!seqs.length && !(name === "queue_updated" && d.seq > state.queueSeq)) return;  // known
    apply(d);
    noteData(d.server_time);
    render();
    var now = Date.now();
    seqs.forEach(function (s) { state.ahead.set(s, now); });
    advance();
    // a stale queue_updated: the server could not read the queue after the change; fetch it all
    if (d.stale) resync();
  }

  // ------------------------------------------------------------------ connection

  var socket = window.io("/display", { reconnectionDelay: 1000, reconnectionDelayMax: 5000, timeout: 8000 });

  function join() {
    state.resyncing = true;
    var ask = { office: cfg.office };
    if (state.synced) ask.since = state.seq;  // every call after it comes first (display_replay)
    socket.timeout(8000).emit("join_office", ask, function (err, ack) {
      state.resyncing = false;
      if (err || !ack || !ack.ok) fetchSnapshot();
    });
  }

  function resync() {
    if (state.resyncing) return;
    state.resyncs += 1;
    if (socket.connected) join();
    else fetchSnapshot();
  }

  /* The HTTP snapshot (the socket is down or its join failed); after the first, with since = the
     seq in hand, so that the answer's replay brings the calls missed, as join_office does. */
  function fetchSnapshot() {
    state.resyncing = true;
    var url = cfg.stateUrl + (state.synced ? "?since=" + state.seq : "");
    return window.fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (body) {
        if (body.replay) applyReplay(body.replay);
        applySnapshot(body);
      })
      .catch(function () { renderConnection(); })
      .then(function () { state.resyncing = false; });
  }

  function setOnline(online) {
    state.online = online;
    if (online) {
      window.clearInterval(timers.poll);
      timers.poll = null;
      state.heartbeatMisses = 0;
    } else if (!timers.poll) {
      fetchSnapshot();
      timers.poll = window.setInterval(fetchSnapshot, cfg.pollSeconds * 1000);
    }
    renderConnection();
  }

  socket.on("connect", function () { setOnline(true); join(); });
  socket.on("disconnect", function () { setOnline(false); });
  socket.on("connect_error", function () { setOnline(false); });
  socket.on("display_replay", applyReplay);
  socket.on("display_state", applySnapshot);
  var handlers = {
    ticket_called: function (d) { onEvent("ticket_called", d, function () { addCall(d, true); }); },
    queue_updated: function (d) { onEvent("queue_updated", d, applyQueue); },
    call_withdrawn: function (d) { onEvent("call_withdrawn", d, withdrawCall); },
    office_message: function (d) {
      onEvent("office_message", d, function () {
        if (d.active) state.messages[d.id] = d;
        else delete state.messages[d.id];
        state.tickerKey = "";
      });
    }
  };
  Object.keys(handlers).forEach(function (name) { socket.on(name, handlers[name]); });
  window.queueDisplay.receive = function (name, d) { handlers[name](d); };  // tests

  /* The heartbeat: the server's seq for this office (its database's: committed, perhaps not yet
     sent). A seq it reported that has still not arrived by the next heartbeat, a whole
     pollSeconds later, was lost (e.g. Redis was down, or a process died between its commit and
     its push): resync. Events merely slow to arrive (a busy server sends seconds after the
     commit) cost nothing. */
  function heartbeat() {
    if (!socket.connected) return;
    if (state.synced && state.seq < state.reported) resync();
    state.reported = -1;
    var before = state.seq;  // the server's answer is at least this unless its data was reset
    socket.timeout(5000).emit("sync", { office: cfg.office }, function (err, ack) {
      if (err || !ack || !ack.ok) {
        state.heartbeatMisses += 1;
        if (state.heartbeatMisses >= 2) setOnline(false);  // connected on paper, but not answering
        return;
      }
      if (!state.online) setOnline(true);
      state.heartbeatMisses = 0;
      noteData(ack.server_time);
      if (ack.seq < before) resync();
      else if (ack.seq > state.seq) state.reported = ack.seq;  // checked at the next heartbeat
    });
  }

  // ------------------------------------------------------------------ sound

  var soundAsked = false;
  function checkSound() {
    if (soundAsked || !(cfg.gong || cfg.speech)) return;
    soundAsked = true;
    announcer.canPlay();  // tries to resume; the browser decides
    window.setTimeout(function () {
      if (announcer.canPlay()) return;
      var banner = el("sound-overlay");
      var events = ["pointerdown", "keydown", "touchstart", "click"];
      banner.textContent = label("enable_sound");
      banner.hidden = false;
      banner.focus();
      // any click, tap or key anywhere switches the sound on and removes the banner at once
      function enable() {
        banner.hidden = true;
        events.forEach(function (name) { document.removeEventListener(name, enable, true); });
        try { announcer.unlock(); } catch (e) { /* no speech in this browser: the gong still works */ }
      }
      events.forEach(function (name) { document.addEventListener(name, enable, true); });
    }, 1000);
  }

  // ------------------------------------------------------------------ start

  Array.prototype.forEach.call(document.querySelectorAll("[data-label]"), function (n) {
    n.textContent = label(n.dataset.label);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-first]"), function (n) {
    n.textContent = first(n.dataset.first);  // narrow table headers: the first language only
  });
  el("no-calls").textContent = label("no_calls");
  window.setInterval(function () { renderClock(); renderTicker(); }, 1000);
  window.setInterval(heartbeat, cfg.pollSeconds * 1000);
  renderClock();
  window.setTimeout(function () { if (!state.online) setOnline(false); }, 4000);
})();
