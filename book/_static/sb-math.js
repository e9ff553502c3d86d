/* Typeset the book's mathematics with the vendored KaTeX (book/_static/katex).
 *
 * Sphinx writes inline math as <span class="math">\(...\)</span> and display math as
 * <div class="math">[<span class="eqno">(n)...</span>]\[...\]</div>. Each formula is rendered in
 * place (HTML for the eye, MathML for screen readers); the equation number is kept. A formula
 * KaTeX cannot parse is shown as red source text with class "katex-error" (the browser test
 * fails on it).
 */
(function () {
  "use strict";
  function texOf(el) {
    let tex = "";
    el.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) tex += node.textContent;
    });
    tex = tex.trim();
    if (tex.startsWith("\\(") && tex.endsWith("\\)")) tex = tex.slice(2, -2);
    else if (tex.startsWith("\\[") && tex.endsWith("\\]")) tex = tex.slice(2, -2);
    return tex;
  }
  function render() {
    if (!window.katex) return;
    document.querySelectorAll("span.math, div.math").forEach(function (el) {
      if (el.dataset.sbTypeset) return;
      const display = el.tagName === "DIV";
      const tex = texOf(el);
      const out = document.createElement(display ? "div" : "span");
      out.className = "sb-formula";
      window.katex.render(tex, out, {
        displayMode: display,
        throwOnError: false,
        strict: "ignore",
        output: "htmlAndMathml",
      });
      Array.from(el.childNodes).forEach(function (node) {
        if (node.nodeType === Node.TEXT_NODE) node.remove();
      });
      el.appendChild(out);
      el.dataset.sbTypeset = "1";
    });
    document.documentElement.dataset.sbMath = "done";
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
