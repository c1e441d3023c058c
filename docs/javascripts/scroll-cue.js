/*
 * dlterms: a visible cue on a formula or a table that is wider than its column.
 *
 * Display formulas (.dlterms-math) and Material's table wrappers (.md-typeset__scrollwrap) scroll
 * sideways (overflow-x: auto, in docs/stylesheets/dlterms.css). This marks each one that has
 * more to show with data-dl-more="left", "right" or "left right", kept up to date as it scrolls
 * or changes size (a window resize, a language tab opened); the stylesheet fades that edge.
 */
"use strict";

(function () {
  const SELECTOR = ".dlterms-math, .md-typeset__scrollwrap";

  function mark(el) {
    const more = [];
    if (el.scrollLeft > 1) more.push("left");
    if (el.scrollLeft + el.clientWidth < el.scrollWidth - 1) more.push("right");
    if (more.length) el.setAttribute("data-dl-more", more.join(" "));
    else el.removeAttribute("data-dl-more");
  }

  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) mark(entry.target.closest(SELECTOR) || entry.target);
  });

  function setup() {
    for (const el of document.querySelectorAll(SELECTOR)) {
      if (el.hasAttribute("data-dl-cue")) continue;
      el.setAttribute("data-dl-cue", "");
      el.addEventListener("scroll", () => mark(el), { passive: true });
      resized.observe(el);
      if (el.firstElementChild) resized.observe(el.firstElementChild);
      mark(el);
    }
  }

  if (typeof document$ !== "undefined") document$.subscribe(setup);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
