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
 * 4. Figures open at full size: every figure image of a chapter becomes a link to the image
 *    file (class `sb-zoom`; Sphinx's own `a.image-reference` where there is one; it works
 *    without script, in a new tab, and from the keyboard). A plain tap, click or Enter opens it
 *    in a dialog (`dialog.sb-lightbox`) at the figure's own size (the 2x PNG's pixels make it
 *    sharp when zoomed), scrollable and pinch-zoomable on a phone; Escape, the close button or
 *    a tap on the backdrop closes it and focus returns to the figure.
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

  let lightbox = null;

  function openLightbox(link) {
    if (typeof HTMLDialogElement === "undefined") return false;
    if (!lightbox) {
      lightbox = document.createElement("dialog");
      lightbox.className = "sb-lightbox";
      lightbox.setAttribute("aria-label", "Figure at full size");
      const close = document.createElement("button");
      close.type = "button";
      close.className = "sb-lightbox-close";
      close.setAttribute("aria-label", "Close");
      close.textContent = "\u00d7";
      close.addEventListener("click", function () { lightbox.close(); });
      const frame = document.createElement("div");
      frame.className = "sb-lightbox-frame";
      frame.appendChild(document.createElement("img"));
      lightbox.appendChild(close);
      lightbox.appendChild(frame);
      // A tap outside the image (on the backdrop or the frame's margin) closes the dialog.
      lightbox.addEventListener("click", function (event) {
        if (event.target === lightbox || event.target === frame) lightbox.close();
      });
      lightbox.addEventListener("close", function () {
        if (lightbox.sbOpener) lightbox.sbOpener.focus();
      });
      document.body.appendChild(lightbox);
    }
    const source = link.querySelector("img");
    const img = lightbox.querySelector("img");
    img.src = link.href;
    img.alt = source ? source.alt : "";
    // The figure's own size (a 2x PNG is shown at half its pixels), not the column's: on a
    // phone that is about twice the screen width, so its text reads at its natural size.
    const own = source && (parseFloat(source.style.width) || Number(source.getAttribute("width")));
    img.style.width = own ? own + "px" : "";
    lightbox.sbOpener = link;
    lightbox.showModal();
    lightbox.querySelector(".sb-lightbox-close").focus();
    return true;
  }

  function zoomableFigures() {
    document.querySelectorAll(".bd-article figure img, .bd-article .cell_output img").forEach(function (img) {
      if (img.closest(".sb-lightbox") || img.closest("a.sb-zoom")) return;
      // Sphinx already links an image shown below its natural size to the file
      // (a.image-reference); any other link (to elsewhere) is left alone.
      let link = img.closest("a");
      if (link && !link.classList.contains("image-reference")) return;
      if (!link) {
        link = document.createElement("a");
        link.href = img.currentSrc || img.src;
        img.parentElement.insertBefore(link, img);
        link.appendChild(img);
      }
      link.classList.add("sb-zoom");
      const figure = img.closest("figure");
      const number = figure && figure.querySelector(".caption-number");
      const what = number ? number.textContent.trim() : "figure";
      link.setAttribute("aria-label", "Open " + what + " at full size" + (img.alt ? ": " + img.alt : ""));
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        if (openLightbox(link)) event.preventDefault();
      });
    });
  }

  function init() {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    wrapBareTables();
    zoomableFigures();
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
