/* The touch kiosk: issue a ticket per tap, show it with its QR code, print it, reset.
 *
 * One tap = one request with a fresh Idempotency-Key; taps while a request is on its way are
 * ignored, and retries (network errors, "Try again") reuse the key, so the server hands out one
 * ticket. Navigation only happens once the server answers, so the kiosk never ends up on a
 * browser error page. See docs/kiosk.md.
 */
(function () {
  "use strict";

  var root = document.getElementById("kiosk");
  if (!root) return;
  var cfg = root.dataset;
  var texts = JSON.parse(document.getElementById("kiosk-texts").textContent);
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var screens = {};
  ["start", "busy", "ticket", "message", "checkin"].forEach(function (name) {
    screens[name] = document.getElementById("screen-" + name);
  });
  var current = "start";
  var lastTouch = Date.now();
  var loadedAt = Date.now();
  var ticketUntil = 0;
  var busy = false;
  var pending = null; // the request a "Try again" repeats: {url, body, key, kind}
  var retryMode = null; // "resend" (same request, same key) or "checkin" (type the code again)
  var navigating = false;

  // ------------------------------------------------------------------ helpers

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, name) { return values[name] == null ? "" : values[name]; });
  }

  function formatWhen(iso) {
    if (!iso) return null;
    try {
      return new Intl.DateTimeFormat(cfg.lang + "-u-nu-latn", {
        weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
        timeZone: cfg.timezone,
      }).format(new Date(iso));
    } catch (e) { return iso; }
  }

  function withQuery(path, params) {
    var query = Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    return query ? path + (path.indexOf("?") < 0 ? "?" : "&") + query : path;
  }

  function show(name) {
    Object.keys(screens).forEach(function (key) {
      if (screens[key]) screens[key].hidden = key !== name;
    });
    current = name;
    root.dataset.screen = name;
    var target = screens[name] && screens[name].querySelector("h1, .kiosk-ticket-number");
    if (target && name !== "checkin") {
      target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }

  // ------------------------------------------------------------------ navigation and reset

  function go(url) {
    if (navigating) return;
    navigating = true;
    fetch("/healthz", { cache: "no-store", credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("server not ready");
      window.location.assign(url);
    }).catch(function () {
      navigating = false;
      showMessage("network");
      lastTouch = Date.now() - (Number(cfg.idle) - 10) * 1000; // try again in about 10 s
    });
  }

  function reset() { go(cfg.startUrl); }

  function pristine() {
    var code = document.getElementById("checkin-code");
    return cfg.pristine === "1" && current === "start" && !(code && code.value);
  }

  function tick() {
    var now = Date.now();
    var idleFor = (now - lastTouch) / 1000;
    if (current === "busy") return;
    if (current === "ticket") {
      if (now >= ticketUntil) reset();
      return;
    }
    if (pristine()) {
      // an untouched start page reloads now and then: opening state, caps, waiting times
      if (idleFor >= Number(cfg.refresh) && (now - loadedAt) / 1000 >= Number(cfg.refresh)) go(window.location.href);
      return;
    }
    if (idleFor >= Number(cfg.idle)) reset();
  }

  ["pointerdown", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () {
      lastTouch = Date.now();
      if (current === "ticket") ticketUntil = Math.max(ticketUntil, lastTouch + 10000);
    }, { passive: true, capture: true });
  });
  setInterval(tick, 1000);

  // ------------------------------------------------------------------ requests

  function refreshCsrf() {
    return fetch(cfg.csrfUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (body) { csrf = body.csrf_token; });
  }

  function post(url, body, key) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 10000);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrf, "Idempotency-Key": key },
      body: JSON.stringify(body),
      signal: controller.signal,
    }).finally(function () { clearTimeout(timer); });
  }

  async function send(request) {
    // network failures are retried with the same key: the server answers with the same ticket
    var csrfRenewed = false;
    for (var attempt = 0; ; attempt++) {
      try {
        var response = await post(request.url, request.body, request.key);
        if (response.status === 400 && !csrfRenewed) {
          var problem = await response.clone().json().catch(function () { return {}; });
          if (problem.reason === "csrf") {
            csrfRenewed = true;
            await refreshCsrf();
            continue;
          }
        }
        return response;
      } catch (error) {
        if (attempt >= 2) throw error;
        await sleep(600 * (attempt + 1));
      }
    }
  }

  async function submit(request) {
    if (busy) return; // a second tap while the first is on its way: still one ticket
    busy = true;
    pending = request;
    root.classList.add("is-busy");
    var busyTimer = setTimeout(function () { show("busy"); }, 250);
    try {
      var response = await send(request);
      clearTimeout(busyTimer);
      // a repeated check-in answers 200 with the same ticket: shown (and printed) again
      if (response.status === 201 || (request.kind === "checkin" && response.status === 200)) {
        await showTicket(await response.json());
      } else {
        await showRefusal(response, request);
      }
    } catch (error) {
      clearTimeout(busyTimer);
      showMessage("network", { retry: "resend" });
    } finally {
      busy = false;
      root.classList.remove("is-busy");
    }
  }

  function issue(service) {
    submit({ kind: "walkin", url: cfg.issueUrl, key: newKey(),
             body: { service: service, lang: cfg.lang, paper: cfg.paper } });
  }

  function checkIn(code) {
    code = (code || "").trim();
    if (!code) return;
    submit({ kind: "checkin", url: cfg.checkinUrl, key: newKey(), body: { code: code, lang: cfg.lang } });
  }

  // ------------------------------------------------------------------ ticket screen and printing

  async function showTicket(ticket) {
    var content = document.getElementById("ticket-content");
    var url = withQuery(cfg.ticketUrl.replace("TOKEN", encodeURIComponent(ticket.token)),
                        { lang: cfg.lang === "de" ? "" : cfg.lang, again: ticket.already_checked_in ? "1" : "" });
    var html = null;
    try {
      var response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) html = await response.text();
    } catch (error) { html = null; }
    if (html) {
      content.innerHTML = html;
    } else {
      // the ticket exists; show at least its number (the QR code needs the server)
      content.textContent = "";
      var number = document.createElement("p");
      number.className = "kiosk-ticket-number";
      number.id = "ticket-number";
      number.dir = "ltr";
      number.textContent = ticket.number;
      content.appendChild(number);
    }
    root.dataset.ticket = ticket.number;
    ticketUntil = Date.now() + Number(cfg.ticketSeconds) * 1000;
    show("ticket");
    var note = document.getElementById("ticket-print");
    if (note) note.textContent = note.dataset.printingText || "";
    if (ticket.printing !== "server" && cfg.serverPrinting !== "1") printTicket(ticket);
  }

  function printTicket(ticket) {
    var frame = document.getElementById("print-frame");
    if (!frame || !ticket.pdf_url) return;
    // same origin as this page, whatever PUBLIC_BASE_URL says, so the frame may be printed
    var path = new URL(ticket.pdf_url, window.location.href).pathname;
    var src = withQuery(path, { paper: cfg.paper, lang: cfg.lang, large: cfg.large });
    frame.onload = function () {
      try {
        frame.contentWindow.focus();
        // silent with chromium --kiosk-printing; the browser tests replace this (window.kioskPrint),
        // as headless Chromium has no printer and its print preview takes the page down
        (window.kioskPrint || function (f) { f.contentWindow.print(); })(frame);
        root.dataset.printed = String(Number(root.dataset.printed || 0) + 1);
      } catch (error) {
        root.dataset.printError = String(error);
      }
    };
    // let the ticket screen paint first: the number is on screen before the printer starts
    requestAnimationFrame(function () { setTimeout(function () { frame.src = src; }, 0); });
  }

  // ------------------------------------------------------------------ refusals and messages

  function showMessage(key, options) {
    options = options || {};
    var entry = texts[key] || texts.error;
    var text = entry[1];
    if (options.values && options.values.when === null && entry[2]) text = entry[2];
    if (options.values && options.values.office === null && entry[2]) text = entry[2];
    document.getElementById("message-title").textContent = entry[0];
    document.getElementById("message-text").textContent = fill(text, options.values || {});
    retryMode = options.retry || null;
    document.getElementById("message-retry").hidden = !retryMode;
    document.getElementById("message-walkin").hidden = !(options.walkin && cfg.state === "open");
    root.dataset.message = key;
    show("message");
  }

  async function showRefusal(response, request) {
    var problem = await response.json().catch(function () { return {}; });
    var reason = problem.reason || "";
    var status = response.status;
    if (status === 429) return showMessage("rate_limited");
    if (status === 401 || status === 403) return showMessage("out_of_service");
    if (request.kind === "checkin") return showCheckinRefusal(status, reason, problem);
    if (reason === "closed") return showMessage("closed");
    if (reason === "outside_walkin_hours") {
      return showMessage("outside_walkin_hours", { values: { when: formatWhen(problem.next_walkin_window) } });
    }
    if (reason === "cap_reached" || reason === "numbers_exhausted") return showMessage("cap_reached");
    if (reason === "walkins_closed") return showMessage("walkins_closed");
    // the counters cannot serve another walk-in today: the start page says so with its
    // alternatives (next free appointment, QR code to book or join the waitlist)
    if (reason === "served_out") return go(window.location.href);
    if (reason === "service_not_offered" || reason === "walkin_not_allowed") return showMessage(reason);
    return showMessage("error", { retry: status >= 500 ? "resend" : null });
  }

  function showCheckinRefusal(status, reason, problem) {
    if (reason === "too_early") {
      return showMessage("too_early", { values: { when: formatWhen(problem.opens_at) } });
    }
    if (reason === "too_late") return showMessage("too_late", { walkin: true });
    if (reason === "wrong_office") {
      return showMessage("wrong_office", { values: { office: problem.office_name || null } });
    }
    if (reason === "unknown" || reason === "unknown_code") return showMessage("unknown", { walkin: true, retry: "checkin" });
    if (reason === "already_checked_in" || reason === "invalid_transition") return showMessage("already_checked_in");
    if (status === 422) return showMessage("invalid_code", { retry: "checkin" });
    if (status === 404) return showMessage("checkin_unavailable");
    return showMessage("error", { retry: status >= 500 ? "resend" : null });
  }

  // ------------------------------------------------------------------ check-in screen

  var codeInput = document.getElementById("checkin-code");

  function openCheckin(prefill) {
    if (!screens.checkin) return;
    codeInput.value = prefill || "";
    document.getElementById("checkin-error").textContent = "";
    show("checkin");
    codeInput.focus();
  }

  if (screens.checkin) {
    document.getElementById("checkin-form").addEventListener("submit", function (event) {
      event.preventDefault();
      checkIn(codeInput.value);
    });
    screens.checkin.querySelector(".kiosk-keypad").addEventListener("click", function (event) {
      var key = event.target.closest("[data-key]");
      if (!key) return;
      if (key.dataset.key === "back") codeInput.value = codeInput.value.slice(0, -1);
      else codeInput.value += key.dataset.key;
      codeInput.focus(); // a USB scanner types into the focused field
    });
  }

  // a USB scanner on the start page: it types the booking code and presses Enter
  var scanned = "";
  var scannedAt = 0;
  document.addEventListener("keydown", function (event) {
    if (!screens.checkin || current !== "start" || event.target === codeInput) return;
    var now = Date.now();
    if (now - scannedAt > 500) scanned = "";
    scannedAt = now;
    if (event.key === "Enter" && scanned.length >= 4) {
      event.preventDefault();
      openCheckin(scanned);
      checkIn(scanned);
      scanned = "";
    } else if (event.key.length === 1) {
      scanned += event.key;
    }
  });

  // ------------------------------------------------------------------ wiring

  root.addEventListener("click", function (event) {
    var service = event.target.closest("[data-service]");
    if (service && !service.disabled) { issue(service.dataset.service); return; }
    if (event.target.closest("[data-open-checkin]")) { openCheckin(""); return; }
    if (event.target.closest("#message-retry")) {
      if (retryMode === "checkin") openCheckin(pending ? pending.body.code : "");
      else if (pending) submit(pending);
      return;
    }
    if (event.target.closest("[data-reset]")) reset();
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-nav]");
    if (!link) return;
    event.preventDefault();
    go(link.href);
  });

  document.documentElement.lang = cfg.lang;
  root.dataset.ready = "1";
})();
