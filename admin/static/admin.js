// Staff area: move the focus to the error summary after a failed submit, so keyboard and
// screen-reader users land on the list of problems (each links to its field).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
});
