// Live city overview: GET /api/v1/status every 10 s (ETag: unchanged answers are 304), and at once
// through /staff: a queue_updated of an office shown here sets its waiting count on arrival and
// asks for the full figures once the status cache (STATUS_CACHE_SECONDS) has moved on.
(function () {
  "use strict";
  const table = document.getElementById("city-overview");
  if (!table) return;
  const stamp = document.getElementById("overview-time");
  let etag = null;
  const lang = document.documentElement.lang || "de";
  const slotFormat = new Intl.DateTimeFormat(lang, { weekday: "short", day: "2-digit", month: "2-digit",
    hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
  function showSlot(cell, value) {
    if ((value || "") === cell.dataset.value) return;
    cell.dataset.value = value || "";
    cell.textContent = value ? slotFormat.format(new Date(value)) : table.dataset.none;
  }
  async function refresh() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const response = await fetch(table.dataset.source, { headers: headers, cache: "no-cache" });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        const data = await response.json();
        for (const office of data.offices) {
          const row = table.querySelector('tr[data-office="' + office.office.slug + '"]');
          if (!row) continue;
          for (const cell of row.querySelectorAll("[data-field]")) {
            const field = cell.dataset.field;
            if (field === "next_free_appointment") { showSlot(cell, office[field]); continue; }
            if (field === "expected_last_served") {
              const at = office[field];
              const shown = at ? at.slice(11, 16) : "\u2013";
              if (cell.textContent !== shown) cell.textContent = shown;
              continue;
            }
            let value = field === "open" ? (office.open ? table.dataset.open : table.dataset.closed) : office[field];
            if (value === null) value = "\u2013";
            if (value !== undefined && cell.textContent !== String(value)) cell.textContent = value;
          }
        }
        if (stamp && data.server_time) stamp.textContent = new Date(data.server_time).toLocaleTimeString(
          document.documentElement.lang || "de", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
      }
    } catch (e) { /* offline for a moment: try again at the next tick */ }
  }
  setInterval(refresh, 10000);

  function live() {
    if (!window.io) return;  // the polling above still runs
    const socket = window.io("/staff", { reconnectionDelay: 1000, reconnectionDelayMax: 30000, timeout: 10000 });
    let again = null;
    socket.on("connect", () => {
      const rows = table.querySelectorAll("tr[data-office]");
      let answered = 0;
      for (const row of rows) {
        // refused for offices of others; "live" once every office has answered
        socket.timeout(10000).emit("join_office", { office: row.dataset.office }, () => {
          answered += 1;
          if (answered === rows.length) table.dataset.live = "on";
        });
      }
    });
    socket.on("disconnect", () => { table.dataset.live = "off"; });
    socket.on("queue_updated", (data) => {
      const row = table.querySelector('tr[data-office="' + data.office + '"]');
      const cell = row && row.querySelector('[data-field="waiting_total"]');
      if (cell && data.waiting_total !== undefined) cell.textContent = data.waiting_total;
      if (!again) again = setTimeout(() => { again = null; refresh(); }, 6000);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", live);
  else live();
})();
