/*
 * dlterms: pictures whose boxes are links (backpropagation's computational graph, graph-*.svg, written
 * by dlterms/site/plots/graph.py) are put inline in the page, so that their links work: an SVG shown
 * by <img> is an image, and its <a> elements cannot be followed. The file is the one the page already
 * names (nothing else is fetched); without this script the picture still shows, as an image.
 * Only these SVGs are inlined: their ids are unique on a page, matplotlib's are not.
 */
"use strict";

(function () {
  const WANTED = /(^|\/)graph-[^/]*\.svg$/;

  async function inline(img) {
    const response = await fetch(img.src);
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg" || doc.querySelector("parsererror")) return;
    svg.classList.add("dl-inline-svg");
    if (img.alt && !svg.hasAttribute("aria-labelledby")) svg.setAttribute("aria-label", img.alt);
    img.replaceWith(document.importNode(svg, true));
  }

  function run() {
    for (const img of document.querySelectorAll(".dl-plot img")) {
      if (WANTED.test(new URL(img.src, document.baseURI).pathname)) inline(img);
    }
  }

  if (typeof window.document$ !== "undefined") window.document$.subscribe(run);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
