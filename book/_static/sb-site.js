/* The book's small fixes to the theme (book/_ext/offline_assets.py adds this file to every page).
 *
 * 1. Table-of-contents buttons: both theme scripts bind their click handler to the FIRST
 *    `.primary-toggle` / `.secondary-toggle`, which sits in the hidden top navbar. Every other
 *    such button forwards its click to that first one, so the visible buttons open the drawer
 *    (narrow screens) or collapse the sidebar (wide screens).
 * 2. Scroll cues: a display equation, table, code cell or output wider than its column scrolls
 *    inside its own frame; the frame gets the class `sb-scrolls` (a visible scroll bar and a
 *    shadow on the side where more content hides) and `sb-at-end` once scrolled to the end.
 * 3. Accessibility: buttons whose visible text differs from their aria-label are named by the
 *    text they show; the sidebar's expand arrows get a name; the bibliography's citation list
 *    drops a list role whose children are not list items.
 */
(function () {
  "use strict";

  function forwardToggles(selector) {
    const all = Array.from(document.querySelectorAll(selector));
    if (all.length < 2) return;
    const bound = all[0];
    all.slice(1).forEach(function (button) {
      button.addEventListener(
        "click",
        function (event) {
          event.preventDefault();
          event.stopImmediatePropagation();
          bound.click();
        },
        true,
      );
    });
  }

  const FRAMES = "div.math, .pst-scrollable-table-container, div.highlight > pre, .sb-table-frame";

  function markScrollable(el) {
    const overflows = el.scrollWidth > el.clientWidth + 1;
    el.classList.toggle("sb-scrolls", overflows);
    el.classList.toggle("sb-at-end", overflows && el.scrollLeft + el.clientWidth >= el.scrollWidth - 1);
    if (overflows && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0"); // reachable by keyboard, so it can be scrolled
    }
  }

  function markAll() {
    document.querySelectorAll(FRAMES).forEach(markScrollable);
  }

  function wrapBareTables() {
    // Tables that the theme did not wrap in its scrollable container (e.g. HTML output cells).
    document.querySelectorAll("article table").forEach(function (table) {
      const parent = table.parentElement;
      if (parent.classList.contains("pst-scrollable-table-container") || parent.classList.contains("sb-table-frame")) return;
      const frame = document.createElement("div");
      frame.className = "sb-table-frame";
      parent.insertBefore(frame, table);
      frame.appendChild(table);
    });
  }

  function fixNames() {
    document.querySelectorAll("button[aria-label]").forEach(function (button) {
      const text = (button.innerText || "").replace(/\s+/g, " ").trim();
      const label = button.getAttribute("aria-label");
      if (text && !label.toLowerCase().includes(text.toLowerCase())) {
        button.setAttribute("aria-label", text);
      }
    });
    document.querySelectorAll("nav summary").forEach(function (summary) {
      if ((summary.textContent || "").trim() || summary.hasAttribute("aria-label")) return;
      const link = summary.parentElement && summary.parentElement.parentElement &&
        summary.parentElement.parentElement.querySelector(":scope > a");
      const name = link ? link.textContent.trim() : "this chapter";
      summary.setAttribute("aria-label", "Show or hide the sections of " + name);
    });
    document.querySelectorAll('.citation-list[role="list"]').forEach(function (list) {
      list.removeAttribute("role");
    });
  }

  function init() {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    wrapBareTables();
    fixNames();
    markAll();
    document.addEventListener(
      "scroll",
      function (event) {
        if (event.target instanceof Element && event.target.matches(FRAMES)) markScrollable(event.target);
      },
      true,
    );
    window.addEventListener("resize", markAll);
    window.addEventListener("load", markAll);
    // KaTeX renders after this script; measure again once it has.
    new MutationObserver(markAll).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-sb-math"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
