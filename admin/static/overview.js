// Live city overview: poll GET /api/v1/status every 10 s (ETag: unchanged answers are 304).
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
            const value = field === "open" ? (office.open ? table.dataset.open : table.dataset.closed) : office[field];
            if (value !== undefined && cell.textContent !== String(value)) cell.textContent = value;
          }
        }
        if (stamp && data.server_time) stamp.textContent = new Date(data.server_time).toLocaleTimeString(
          document.documentElement.lang || "de", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
      }
    } catch (e) { /* offline for a moment: try again at the next tick */ }
  }
  setInterval(refresh, 10000);
})();
