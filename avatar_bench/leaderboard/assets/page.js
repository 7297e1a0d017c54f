(function () {
  "use strict";

  function valueOf(row, col) {
    var cell = row.querySelector('[data-col="' + col + '"]');
    return cell ? cell.getAttribute("data-value") : "";
  }

  function sortBy(th) {
    var table = th.closest("table");
    var col = th.getAttribute("data-col");
    var numeric = th.getAttribute("data-type") === "num";
    var now = th.getAttribute("aria-sort");
    var dir = now === "descending" ? "ascending"
      : now === "ascending" ? "descending" : th.getAttribute("data-first");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var va = valueOf(a, col), vb = valueOf(b, col);
      var tie = Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
      if (va === "" || vb === "") { return va === vb ? tie : (va === "" ? 1 : -1); }
      var c = numeric ? parseFloat(va) - parseFloat(vb) : va.localeCompare(vb);
      if (c === 0) { return tie; }
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.querySelectorAll("th[data-col]").forEach(function (h) {
      h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir);
    var status = document.getElementById(table.getAttribute("data-status"));
    if (status) {
      status.textContent = "Sorted by " + th.getAttribute("data-label") + ", " + dir + ".";
    }
  }

  document.querySelectorAll("table.board-table th[data-col] button").forEach(function (btn) {
    btn.addEventListener("click", function () { sortBy(btn.closest("th")); });
  });

  var select = document.getElementById("board-select");
  if (select) {
    select.addEventListener("change", function () {
      document.querySelectorAll("section.board").forEach(function (s) {
        s.hidden = select.value !== "all" && s.id !== select.value;
      });
    });
  }
}());
