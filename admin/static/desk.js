// The clerk desk: works one counter through the JSON API (fetch + X-CSRFToken, no page reloads).
//
// Live updates: Socket.IO namespace /staff (emit join_office {office}, ack {ok: true}; then
// queue_updated whenever the office's queue changes). While that is not available the desk polls
// GET /api/v1/offices/<slug>/queue every few seconds; with the socket it still refreshes now and
// then so that waiting times stay current. Built to stay open all day: one timer, one socket,
// event delegation (no listeners per row), a bounded activity log.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("desk-config").textContent);
  const T = cfg.strings;
  const LOG_LIMIT = 15;
  const REQUEST_TIMEOUT_MS = 10000;

  const $ = (id) => document.getElementById(id);
  const el = {
    counterState: $("counter-state"), connection: $("connection"),
    btnOpen: $("btn-open"), btnPause: $("btn-pause"), btnClose: $("btn-close"),
    error: $("desk-error"), notice: $("desk-notice"),
    btnNext: $("btn-next"), waitingForMe: $("waiting-for-me"),
    empty: $("current-empty"), emptyText: $("current-empty-text"), current: $("current-ticket"),
    curNumber: $("cur-number"), curStatus: $("cur-status"), curService: $("cur-service"),
    curKind: $("cur-kind"), curWait: $("cur-wait"), curRecalls: $("cur-recalls"),
    btnRecall: $("btn-recall"), btnStart: $("btn-start"), btnFinish: $("btn-finish"),
    btnTransfer: $("btn-transfer"), btnPark: $("btn-park"), btnNoShow: $("btn-no-show"),
    noShowHint: $("no-show-hint"), performed: $("performed"),
    calledActions: $("called-actions"), servingActions: $("serving-actions"),
    callForm: $("call-number-form"), callNumber: $("call-number"),
    waitingTotal: $("waiting-total"), servicesBody: $("services-body"), queueBody: $("queue-body"),
    parkedTotal: $("parked-total"), parkedList: $("parked-list"), log: $("desk-log"),
    dialog: $("transfer-dialog"), transferForm: $("transfer-form"), transferNumber: $("transfer-number"),
    transferService: $("transfer-service"), transferCounter: $("transfer-counter"),
    transferKeep: $("transfer-keep"), transferAny: $("transfer-any"), transferError: $("transfer-error"),
    transferCancel: $("transfer-cancel"), shortcutsOn: $("shortcuts-on"),
  };

  // ------------------------------------------------------------------ texts

  function t(key, values) {
    let text = T[key] || key;
    if (values) {
      text = text.replace(/%\((\w+)\)s/g, (m, name) => (name in values ? String(values[name]) : m));
    }
    return text;
  }
  const statusText = (s) => T["status." + s] || s;
  const minutesText = (m) => t("minutes", { minutes: m });
  const estimateText = (m) => (m === null || m === undefined ? t("no_estimate")
    : m <= cfg.soonMinutes ? t("soon") : t("about_minutes", { minutes: m }));
  // every service of the visit ("Personalausweis beantragen + Meldebescheinigung") and, for an
  // appointment booked for several, how many persons come
  const servicesText = (ticket, withCodes) => (ticket.services || [ticket.service])
    .map((s) => (withCodes ? s.name + " (" + s.code + ")" : s.name)).join(" + ");
  const personsText = (ticket) => (ticket.persons > 1 ? t("persons", { count: ticket.persons }) : "");
  const clockText = (iso) => (iso ? iso.substring(11, 16) : "");
  // the application's clock: the server's time (set by every answer), shown in the office's zone
  let clockOffset = cfg.serverTime ? Date.parse(cfg.serverTime) - Date.now() : 0;
  const appNow = () => new Date(Date.now() + clockOffset);
  const appClock = (date, seconds) => date.toLocaleTimeString(cfg.lang === "en" ? "en-GB" : "de-DE",
    { hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined, timeZone: cfg.timezone });

  function minutesBetween(fromIso, toIso) {
    const ms = Date.parse(toIso) - Date.parse(fromIso);
    return Number.isFinite(ms) ? Math.max(Math.floor(ms / 60000), 0) : null;
  }

  /* A button's visible label and, for screen readers, the number it acts on: the accessible
     name ("Aufrufen P003") starts with what the button shows (WCAG 2.5.3 label in name). */
  function withNumber(label, number) {
    return [label, node("span", { className: "visually-hidden", text: " " + number })];
  }

  function node(tag, attrs, children) {
    const n = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "text") n.textContent = v;
        else if (k === "className") n.className = v;
        else n.setAttribute(k, v === true ? "" : v);
      }
    }
    (children || []).forEach((c) => { if (c) n.append(c); });
    return n;
  }

  // ------------------------------------------------------------------ state

  let overview = null;     // the last GET .../queue
  let current = null;      // the ticket at this counter (staff view) or null
  let performedFor = null; // token+service the "performed" select was last defaulted for
  let busy = false;        // an action is running (no double submits)
  let generation = 0;      // bumped after each action: older refresh answers are dropped
  let live = false;        // joined the /staff room
  let offline = false;
  let pendingPress = null;    // a button pressed (click or shortcut) while an action was running
  let pressedButton = null;   // the button whose action is running
  let updatedAt = null;   // application time of the last successful refresh

  // ------------------------------------------------------------------ API

  let csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function request(method, url, body, retried) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        signal: controller.signal,
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/json",
          ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, null);
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 204) return { status: 204, data: null };
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (response.ok) return { status: response.status, data };
    if (response.status === 400 && !retried && data && data.reason === "csrf") {
      // an old page: fetch a fresh token once and try again
      const fresh = await request("GET", "/api/v1/csrf-token");
      csrfToken = fresh.data.csrf_token;
      return request(method, url, body, true);
    }
    throw new ApiError(response.status, data);
  }

  const officeUrl = (path) => cfg.api + path;
  const counterUrl = (action) => officeUrl("/counters/" + cfg.counter + "/" + action);
  const ticketUrl = (token, action) => cfg.ticketApi + encodeURIComponent(token) + "/" + action;

  // ------------------------------------------------------------------ messages

  function announce(text) {
    // clear first, so the same text twice is announced twice
    el.notice.textContent = "";
    setTimeout(() => { el.notice.textContent = text; }, 30);
    addLog(text);
  }

  function showError(text, withLogin) {
    el.notice.textContent = ""; // the last success message would only confuse now
    el.error.replaceChildren(node("p", { text }));
    addLog(text);
    if (withLogin) {
      el.error.append(node("p", {}, [node("a", { href: cfg.loginUrl, text: t("log_in_again") })]));
    }
  }

  function clearError() { el.error.replaceChildren(); }

  function addLog(text) {
    const stamp = appClock(appNow(), false);
    el.log.prepend(node("li", {}, [node("span", { className: "log-time", text: stamp }), " " + text]));
    while (el.log.children.length > LOG_LIMIT) el.log.lastElementChild.remove();
  }

  function errorText(err, ticketNumber) {
    const p = err.problem || {};
    const number = ticketNumber || "";
    if (err.status === 0) return t("error.network");
    if (err.status === 401) return t("error.session");
    if (err.status === 403) return t("error.forbidden");
    if (err.status === 400 && p.reason === "csrf") return t("error.csrf");
    if (err.status >= 500) return t("error.server");
    switch (p.reason) {
      case "counter_busy":
        return t("error.counter_busy", { counter: cfg.counterName, number: p.ticket || "" });
      case "invalid_transition":
        return t("error.invalid_transition", { number, status: statusText(p.status_now) });
      case "recall_first":
        return t("error.recall_first", { number, needed: p.recalls_needed, count: p.recall_count });
      case "not_today":
        return t("error.not_today", { number });
      case "no_such_number":
        return t("error.no_such_number", { number });
      default:
        break;
    }
    if (err.status === 404) return t("error.not_found");
    return t("error.generic", { detail: p.detail || p.title || String(err.status) });
  }

  // ------------------------------------------------------------------ rendering

  function myCounter(data) {
    return (data.counters || []).find((c) => c.number === cfg.counter) || null;
  }

  function canServe(ticket, counter) {
    if (ticket.target_counter) return ticket.target_counter.number === cfg.counter;
    return !!counter && counter.services.indexOf(ticket.service.code) !== -1;
  }

  function render(data) {
    overview = data;
    const counter = myCounter(data);
    renderCounter(counter);
    setCurrent(counter ? counter.current : null);
    renderServices(data, counter);
    renderQueue(data, counter);
    renderParked(data);
    const waiting = counter ? counter.waiting_for_counter : 0;
    el.waitingForMe.textContent = waiting ? t("waiting_for_me", { count: waiting }) : "";
    el.emptyText.textContent = waiting ? t("no_ticket_here") : t("nobody_waiting", { counter: cfg.counterName });
  }

  function renderCounter(counter) {
    const status = counter ? counter.status : "closed";
    el.counterState.textContent = T["counter." + status] || status;
    el.counterState.className = "state-" + status;
    el.btnOpen.hidden = status === "open";
    el.btnPause.hidden = status !== "open";
    const user = counter && counter.user;
    if (user && user.username !== cfg.me && status !== "closed") {
      const text = t("counter_taken", { counter: cfg.counterName, name: user.display_name || user.username });
      if (el.counterState.dataset.takenBy !== user.username) showError(text);
      el.counterState.dataset.takenBy = user.username;
    } else {
      delete el.counterState.dataset.takenBy;
    }
  }

  function setCurrent(ticket) {
    current = ticket && (ticket.status === "called" || ticket.status === "serving") ? ticket : null;
    el.empty.hidden = !!current;
    el.current.hidden = !current;
    if (!current) {
      performedFor = null;
      return;
    }
    el.curNumber.textContent = current.number;
    el.curStatus.textContent = statusText(current.status);
    el.curStatus.className = "state-" + current.status;
    el.curService.textContent = servicesText(current, true) + (current.persons > 1 ? " · " + personsText(current) : "");
    let kind = current.due_at ? t("due_at", { time: clockText(current.due_at) }) : (T["kind." + current.kind] || current.kind);
    if (current.priority) kind += " · " + t("priority");
    if (current.transferred) kind += " · " + t("transferred");
    el.curKind.textContent = kind;
    const waited = current.called_at ? minutesBetween(current.issued_at, current.called_at) : current.waiting_minutes;
    el.curWait.textContent = minutesText(waited === null ? current.waiting_minutes : waited);
    el.curRecalls.textContent = String(current.recall_count);
    const actions = current.actions || [];
    // only what fits the state: recall/start/no-show while called, finish while serving
    el.calledActions.hidden = current.status !== "called";
    el.servingActions.hidden = current.status !== "serving";
    el.btnRecall.disabled = actions.indexOf("recall") === -1;
    el.btnStart.disabled = actions.indexOf("start") === -1;
    el.btnFinish.disabled = actions.indexOf("finish") === -1;
    el.performed.disabled = el.btnFinish.disabled;
    el.btnPark.disabled = actions.indexOf("park") === -1;
    el.btnTransfer.disabled = actions.indexOf("transfer") === -1;
    const noShow = actions.indexOf("no_show") !== -1;
    el.btnNoShow.disabled = !noShow;
    if (current.status === "called") {
      el.noShowHint.textContent = noShow
        ? t("no_show_ready", { count: current.recall_count })
        : t("no_show_hint", { needed: cfg.noShowAfterRecalls, count: current.recall_count });
    } else {
      el.noShowHint.textContent = "";
    }
    const key = current.token + ":" + current.service.code;
    if (performedFor !== key) {
      el.performed.value = current.service.code;
      performedFor = key;
    }
  }

  // Redraw a list only when its data changed, and keep the keyboard focus on "the same" button.
  const signatures = {};
  function redraw(container, key, basis, build) {
    const signature = JSON.stringify(basis);
    if (signatures[key] === signature) return;
    signatures[key] = signature;
    const active = document.activeElement;
    const hadFocus = !!active && active !== document.body && container.contains(active);
    let restore = null;
    if (hadFocus && active.dataset.call) restore = '[data-call="' + CSS.escape(active.dataset.call) + '"]';
    else if (hadFocus && active.dataset.unpark) restore = '[data-unpark="' + CSS.escape(active.dataset.unpark) + '"]';
    container.replaceChildren(...build());
    if (hadFocus) {
      const again = restore && container.querySelector(restore);
      (again || el.btnNext).focus();
    }
  }

  function renderServices(data, counter) {
    redraw(el.servicesBody, "services", [data.services, counter && counter.services],
      () => serviceRows(data, counter));
    el.waitingTotal.textContent = "(" + (data.waiting_total || 0) + ")";
  }

  function serviceRows(data, counter) {
    const rows = (data.services || []).filter((s) => s.waiting > 0).map((s) => {
      const name = [node("span", { text: s.name + " (" + s.code + ")" })];
      if (counter && counter.services.indexOf(s.code) === -1) {
        name.push(node("span", { className: "muted", text: " · " + t("not_my_service") }));
      }
      return node("tr", {}, [
        node("th", { scope: "row" }, name),
        node("td", { className: "num", text: String(s.waiting) }),
        node("td", { className: "num", text: minutesText(s.longest_wait_minutes) }),
        node("td", { className: "num", text: estimateText(s.estimated_wait_minutes) }),
      ]);
    });
    if (!rows.length) {
      rows.push(node("tr", {}, [node("td", { colspan: "4", text: t("nobody_waiting_list") })]));
    }
    return rows;
  }

  function renderQueue(data, counter) {
    const states = (data.counters || []).map((c) => c.status);
    redraw(el.queueBody, "queue", [data.queue, counter && counter.services, states], () => queueRows(data, counter));
  }

  function queueRows(data, counter) {
    const rows = (data.queue || []).map((q) => {
      const mine = canServe(q, counter);
      const notes = [];
      if (q.kind === "appointment") notes.push(T["kind.appointment"] + (q.due_at ? " " + clockText(q.due_at) : ""));
      if (q.persons > 1) notes.push(personsText(q));
      if (q.priority) notes.push(t("priority"));
      if (q.target_counter) {
        const target = (data.counters || []).find((c) => c.number === q.target_counter.number);
        const state = target && target.status !== "open" ? " (" + T["counter." + target.status] + ")" : "";
        notes.push(t("for_counter", { counter: q.target_counter.name }) + state);
      }
      else if (!mine) notes.push(t("not_my_service"));
      const numberCell = node("th", { scope: "row" }, [node("span", { className: "num-big", text: q.number })]);
      if (q.priority) numberCell.append(node("span", { className: "badge warn", text: t("priority") }));
      return node("tr", { className: mine ? "mine" : "other", "data-token": q.token }, [
        numberCell,
        node("td", {}, [
          node("span", { text: servicesText(q, false) }),
          notes.length ? node("span", { className: "note", text: " · " + notes.join(" · ") }) : null,
        ]),
        node("td", { className: "nowrap", text: clockText(q.issued_at) + " · " + minutesText(q.waiting_minutes) }),
        node("td", { className: "num", text: q.people_ahead === null ? "–" : String(q.people_ahead) }),
        node("td", { className: "num", text: estimateText(q.estimated_wait_minutes) }),
        node("td", {}, [node("button", {
          type: "button", className: "secondary small", "data-call": q.token, "data-number": q.number,
        }, withNumber(t("call"), q.number))]),
      ]);
    });
    if (!rows.length) rows.push(node("tr", {}, [node("td", { colspan: "6", text: t("nobody_waiting_list") })]));
    return rows;
  }

  function renderParked(data) {
    redraw(el.parkedList, "parked", data.parked, () => parkedItems(data));
    el.parkedTotal.textContent = "(" + (data.parked || []).length + ")";
  }

  function parkedItems(data) {
    const items = (data.parked || []).map((p) => node("li", { "data-token": p.token }, [
      node("span", { className: "num-big", text: p.number }),
      node("span", { text: p.service.name + " (" + p.service.code + ")" }),
      node("span", { className: "parked-actions" }, [
        node("button", {
          type: "button", className: "secondary small", "data-unpark": p.token, "data-number": p.number,
        }, withNumber(t("unpark"), p.number)),
        node("button", {
          type: "button", className: "secondary small", "data-call": p.token, "data-number": p.number,
        }, withNumber(t("call"), p.number)),
      ]),
    ]));
    if (!items.length) items.push(node("li", { className: "muted", text: t("none_parked") }));
    return items;
  }

  function renderConnection() {
    const parts = [];
    if (offline) parts.push(t("offline"));
    else parts.push(live ? t("live") : t("polling", { seconds: cfg.pollSeconds }));
    if (updatedAt) parts.push(t("updated_at", { time: appClock(updatedAt, true) }));
    el.connection.textContent = parts.join(" · ");
    el.connection.classList.toggle("offline", offline);
  }

  // ------------------------------------------------------------------ refreshing

  let timer = null;
  let inflight = null;
  let again = false;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  function refresh() {
    if (inflight) { again = true; return inflight; }
    clearTimeout(timer);
    const started = generation;
    inflight = request("GET", officeUrl("/queue"))
      .then((res) => {
        // an action ran meanwhile: this answer may predate it (the action refreshes afterwards)
        if (busy || started !== generation) { if (!busy) again = true; return; }
        if (offline) announce(t("online_again"));
        offline = false;
        if (res.data && res.data.server_time) clockOffset = Date.parse(res.data.server_time) - Date.now();
        updatedAt = appNow();
        render(res.data);
      })
      .catch((err) => {
        const lost = err.status === 0 || err.status >= 500;
        if (lost && !offline) announce(t("offline"));  // said once, not every 5 s
        offline = lost;
        if (err.status === 401) showError(t("error.session"), true);
      })
      .finally(() => {
        inflight = null;
        renderConnection();
        if (again) { again = false; refresh(); return; }
        schedule((live && !offline ? cfg.liveSafetySeconds : cfg.pollSeconds) * 1000);
      });
    return inflight;
  }

  let soon = null;
  function refreshSoon() {
    if (soon) return;
    soon = setTimeout(() => { soon = null; refresh(); }, 150);
  }

  // Socket.IO /staff: optional; polling covers for it.
  let socket = null;
  let retryTimer = null;

  function setLive(value) {
    if (live === value) return;
    live = value;
    renderConnection();
    if (!live) schedule(cfg.pollSeconds * 1000);
  }

  function connectLive() {
    if (typeof window.io !== "function") return;
    socket = window.io("/staff", { reconnectionDelay: 1000, reconnectionDelayMax: 30000, timeout: 10000 });
    socket.on("connect", () => {
      socket.timeout(5000).emit("join_office", { office: cfg.office }, (err, ack) => {
        setLive(!err && !!ack && ack.ok === true);
        if (live) refresh();
      });
    });
    socket.on("disconnect", () => setLive(false));
    socket.on("connect_error", () => {
      setLive(false);
      // refused by the server (no /staff here, or the login ended): Socket.IO gives up; try later
      if (!socket.active && !retryTimer) {
        retryTimer = setTimeout(() => { retryTimer = null; socket.connect(); }, 60000);
      }
    });
    socket.on("queue_updated", (data) => {
      if (!data || !data.office || data.office === cfg.office) refreshSoon();
    });
  }

  // ------------------------------------------------------------------ actions

  async function act(run, focusAfter) {
    if (busy) return;
    busy = true;
    generation += 1;
    document.body.setAttribute("aria-busy", "true");
    try {
      await run();
      clearError();
    } catch (err) {
      if (!(err instanceof ApiError)) window.console.error(err);
      const ticket = err.ticketNumber || (current && current.number);
      showError(errorText(err, ticket), err.status === 401);
    } finally {
      busy = false;
      document.body.removeAttribute("aria-busy");
      generation += 1;
      await refresh();
      const target = typeof focusAfter === "function" ? focusAfter() : focusAfter;
      if (target && !target.disabled && !target.hidden && !target.closest("[hidden]")) target.focus();
      // a button pressed while this action ran (N then S in quick succession, or a click
      // during the answer) runs now; a second press of the running button is a double click
      const next = pendingPress;
      pendingPress = null;
      pressedButton = null;
      if (next) press(next);
    }
  }

  function focusForState() {
    if (!current) return el.btnNext;
    return current.status === "called" ? el.btnStart : el.btnFinish;
  }

  function applyTicket(ticket) {
    // show the answer at once; the refresh that follows brings the lists
    if (ticket && (ticket.status === "called" || ticket.status === "serving")) setCurrent(ticket);
    else setCurrent(null);
  }

  function callNext() {
    return act(async () => {
      const res = await request("POST", counterUrl("call-next"));
      if (res.status === 204) {
        applyTicket(null);
        announce(t("nobody_waiting", { counter: cfg.counterName }) + " " + t("nobody_waiting_hint"));
        return;
      }
      applyTicket(res.data);
      announce(t("called_to", { number: res.data.number, counter: cfg.counterName }));
    }, focusForState);
  }

  function callTicket(body, number) {
    return act(async () => {
      let res;
      try {
        res = await request("POST", counterUrl("call"), body);
      } catch (err) {
        err.ticketNumber = number;
        if (err.status === 422 && err.problem.field === "number") err.problem.reason = "no_such_number";
        throw err;
      }
      applyTicket(res.data);
      announce(t("called_to", { number: res.data.number, counter: cfg.counterName }));
    }, focusForState);
  }

  function ticketAction(action, body) {
    if (!current) return Promise.resolve();
    const ticket = current;
    return act(async () => {
      const res = await request("POST", ticketUrl(ticket.token, action), body);
      const view = res.data;
      applyTicket(view);
      switch (action) {
        case "recall": announce(t("recalled", { number: view.number, count: view.recall_count })); break;
        case "start": announce(t("started", { number: view.number })); break;
        case "finish": {
          const code = view.performed_service || ticket.service.code;
          const option = [...el.performed.options].find((o) => o.value === code);
          announce(t("finished", { number: view.number, service: option ? option.textContent : code }));
          break;
        }
        case "no-show": announce(t("marked_no_show", { number: view.number })); break;
        case "park": announce(t("parked", { number: view.number })); break;
        case "transfer": {
          const target = [];
          if (body.service) target.push(view.service.name);
          if (body.counter) target.push(view.target_counter ? view.target_counter.name : "#" + body.counter);
          announce(t("transferred_to", { number: view.number, target: target.join(", "),
            position: T["position." + (body.position || "back")] }));
          break;
        }
        default: break;
      }
    }, focusForState);
  }

  function unpark(token, number) {
    return act(async () => {
      let res;
      try {
        res = await request("POST", ticketUrl(token, "unpark"), { position: "front" });
      } catch (err) {
        err.ticketNumber = number;
        throw err;
      }
      announce(t("unparked", { number: res.data.number }));
    }, () => el.btnNext);
  }

  function setCounter(action) {
    return act(async () => {
      const res = await request("POST", counterUrl(action));
      const key = { open: "counter_opened", pause: "counter_paused", close: "counter_closed" }[action];
      announce(t(key, { counter: res.data.name || cfg.counterName }));
      if (action === "close") window.location.assign(cfg.chooseUrl);
    }, () => (action === "pause" ? el.btnOpen : el.btnNext));
  }

  // ------------------------------------------------------------------ transfer dialog

  let transferReturn = null;

  function openTransfer() {
    if (!current || el.btnTransfer.disabled) return;
    transferReturn = document.activeElement;
    el.transferNumber.textContent = current.number;
    el.transferKeep.textContent = t("keep_service", { service: current.service.name });
    el.transferAny.textContent = t("any_counter");
    el.transferService.value = "";
    el.transferCounter.value = "";
    el.transferForm.querySelector("#position-back").checked = true;
    el.transferError.textContent = "";
    if (overview) {
      for (const option of el.transferCounter.options) {
        const c = option.value && overview.counters.find((x) => String(x.number) === option.value);
        if (c) option.textContent = c.name + " (" + (T["counter." + c.status] || c.status) + ")";
      }
    }
    el.dialog.showModal();
    el.transferService.focus();
  }

  function closeTransfer() {
    if (el.dialog.open) el.dialog.close();
  }

  el.dialog.addEventListener("close", () => {
    const back = transferReturn && document.contains(transferReturn) && !transferReturn.disabled ? transferReturn : focusForState();
    transferReturn = null;
    if (back) back.focus();
  });

  el.transferForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const service = el.transferService.value;
    const counter = el.transferCounter.value;
    if (!service && !counter) {
      el.transferError.textContent = t("error.transfer_target");
      el.transferService.focus();
      return;
    }
    const body = { position: el.transferForm.querySelector('input[name="position"]:checked').value };
    if (service) body.service = service;
    if (counter) body.counter = Number(counter);
    closeTransfer();
    ticketAction("transfer", body);
  });
  el.transferCancel.addEventListener("click", closeTransfer);

  // ------------------------------------------------------------------ wiring

  // a press while another action runs is kept and runs after it, never silently lost
  function onPress(button, handler) {
    button.addEventListener("click", () => {
      if (busy) {
        if (button !== pressedButton) pendingPress = button;
        return;
      }
      pressedButton = button;
      handler();
    });
  }

  function press(button) {
    if (button && !button.disabled && !button.closest("[hidden]")) button.click();
  }

  onPress(el.btnNext, callNext);
  onPress(el.btnRecall, () => ticketAction("recall"));
  onPress(el.btnStart, () => ticketAction("start"));
  onPress(el.btnFinish, () => ticketAction("finish", { performed_service: el.performed.value }));
  onPress(el.btnPark, () => ticketAction("park"));
  onPress(el.btnNoShow, () => ticketAction("no-show"));
  onPress(el.btnTransfer, openTransfer);
  onPress(el.btnOpen, () => setCounter("open"));
  onPress(el.btnPause, () => setCounter("pause"));
  onPress(el.btnClose, () => setCounter("close"));

  // one listener for every row button, however often the lists are redrawn
  document.getElementById("desk").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-call], button[data-unpark]");
    if (!button) return;
    if (button.dataset.call) callTicket({ token: button.dataset.call }, button.dataset.number);
    else unpark(button.dataset.unpark, button.dataset.number);
  });

  el.callForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const number = el.callNumber.value.trim().toUpperCase();
    if (!/^[A-Z]\d{1,3}$/.test(number)) {
      showError(t("error.enter_number"));
      el.callNumber.setAttribute("aria-invalid", "true");
      el.callNumber.focus();
      return;
    }
    el.callNumber.removeAttribute("aria-invalid");
    const padded = number[0] + number.slice(1).padStart(3, "0");
    callTicket({ number: padded }, padded).then(() => { if (!el.error.textContent) el.callNumber.value = ""; });
  });

  const SHORTCUTS = {
    n: () => el.btnNext, r: () => el.btnRecall, s: () => el.btnStart, f: () => el.btnFinish,
    p: () => el.btnPark, t: () => el.btnTransfer,
  };

  const NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"];
  function typingIn(target) {
    if (!target || !target.closest) return false;
    const field = target.closest("input, select, textarea, [contenteditable=''], [contenteditable='true']");
    return !!field && !(field.tagName === "INPUT" && NOT_TYPING.indexOf(field.type) !== -1);
  }

  function pressShortcut(key) {
    const button = SHORTCUTS[key]();
    if (busy) { if (button !== pressedButton) pendingPress = button; return; }
    press(button);
  }

  // WCAG 2.1.4: single-key shortcuts can be switched off (speech input); the choice is kept
  const SHORTCUTS_KEY = "qs-desk-shortcuts";
  try { el.shortcutsOn.checked = window.localStorage.getItem(SHORTCUTS_KEY) !== "off"; } catch (err) { /* private mode */ }
  el.shortcutsOn.addEventListener("change", () => {
    try { window.localStorage.setItem(SHORTCUTS_KEY, el.shortcutsOn.checked ? "on" : "off"); } catch (err) { /* ignore */ }
  });

  document.addEventListener("keydown", (event) => {
    if (!el.shortcutsOn.checked) return;
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    if (typingIn(event.target) || el.dialog.open) return;
    const key = (event.key || "").toLowerCase();
    if (!SHORTCUTS[key]) return;
    event.preventDefault();
    pressShortcut(key);
  });

  // ------------------------------------------------------------------ start

  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });

  render(JSON.parse(document.getElementById("desk-initial").textContent));
  renderConnection();
  schedule(cfg.pollSeconds * 1000);
  connectLive();
})();
