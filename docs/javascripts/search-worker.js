/*
 * dlterms search worker: Material's search worker, with a names layer in front of it.
 *
 * The page's config points the search box here (dlterms/site/theme/main.html), with Material's own
 * worker in the "material" query parameter. This file loads that worker in this one and answers
 * its messages (0 setup, 1 ready, 2 query, 3 result) itself:
 *
 * - on setup it reads, from the term pages' entries of the search index, the "term_names" that the
 *   build wrote (dlterms/site/searchnames.py): every name of a term with its rank, 0 for the name
 *   itself, 1 for another name of the same concept (alias, variant, the seed's wording), 2 for a
 *   related name (a concept the page explains but does not name);
 * - on a query it asks Material's worker (lunr) as before, and puts first the term pages whose names
 *   the query matches: an exact name, then a name the query begins (a prefix), then a name one edit
 *   away (a letter missing, extra, changed, or two swapped); the query as typed before a form of it
 *   (below); among exact names, by rank, then the shorter name; among prefixes, the shorter name
 *   (the nearest completion: "conv" → "conv2d"), then rank. A name matches after normalising both: Unicode NFKC, lower case, spaces, hyphens,
 *   underscores and brackets dropped ("many to one" = "many-to-one"); a call's arguments are
 *   dropped ("σ(x)" → "σ") and a dotted path is also tried by its last part ("nn.Conv2d" → "conv2d");
 * - on every result it gives back the last character of a Chinese query term. Material's worker
 *   segments each run of Han characters in the query by the index's tokens (its segment(), in
 *   integrations/search/query/segment), but its loop tries only slices that end before the run's
 *   last character, so the run's last segment comes back one character short ("激活函数" →
 *   "激活函*"). Lunr still finds the pages through the wildcard, but the terms of each result, which
 *   Material puts in the link's ?h= for highlighting the page, read "激活函". The layer puts the
 *   character back: a term that is a run of the query less its last character becomes the run.
 *
 * Nothing here is fetched: the names arrive with the index that Material already loaded.
 */
"use strict";

(function () {
  const SETUP = 0;
  const QUERY = 2;
  const RESULT = 3;
  const FIELD = "term_names";
  const MIN_FUZZY = 4; // shorter queries are too close to too many names ("rnn" / "cnn")

  const materialUrl = new URL(self.location.href).searchParams.get("material");
  if (!materialUrl) throw new Error("dlterms search worker: no ?material=<Material's worker URL>");

  /* Material's worker registers one "message" listener and answers with postMessage; take both. */
  const realPost = self.postMessage.bind(self);
  const realImport = self.importScripts.bind(self);
  const realListen = self.addEventListener.bind(self);
  let material = null;
  let answer = null;
  self.addEventListener = function (type, fn, options) {
    if (type === "message" && material === null) material = fn;
    else realListen(type, fn, options);
  };
  self.postMessage = function (message) {
    if (answer) {
      const done = answer;
      answer = null;
      done(message);
    } else realPost(message);
  };
  /* Material loads its language files relative to its own URL, not this file's. */
  self.importScripts = (...urls) => realImport(...urls.map((u) => new URL(u, materialUrl).href));
  realImport(materialUrl);
  if (material === null) throw new Error("dlterms search worker: Material's worker registered no listener");
  const ask = (message) =>
    new Promise((resolve) => {
      answer = resolve;
      material({ data: message });
    });

  /* --- the names layer -------------------------------------------------------------------- */

  const DROP = /[\s\-_‐-―·・,，、;；:："'“”‘’()（）[\]{}【】《》<>!?！？]+/g;
  const norm = (s) => s.normalize("NFKC").toLowerCase().replace(DROP, "");

  /** The forms of a query that are looked up: as typed, without a call's arguments, a dotted path's last part. */
  function forms(query) {
    const out = [norm(query)];
    const call = query.replace(/\s*[(（][^)）]*[)）]?\s*$/, "");
    if (call && call !== query) out.push(norm(call));
    const path = call.trim();
    if (/^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$/.test(path)) out.push(norm(path.split(".").pop()));
    return [...new Set(out.filter((f) => f))];
  }

  /** At most one edit (insert, delete, change, swap of neighbours) between a and b. */
  function oneEdit(a, b) {
    if (a === b) return true;
    const [m, n] = [a.length, b.length];
    if (Math.abs(m - n) > 1) return false;
    let i = 0;
    while (i < m && i < n && a[i] === b[i]) i++;
    if (m === n) {
      if (a.slice(i + 1) === b.slice(i + 1)) return true; // changed
      return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // swapped
    }
    return m > n ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
  }

  let names = []; // [{key, rank, location, order}]
  let docs = new Map(); // location -> document

  function setup(data) {
    names = [];
    docs = new Map();
    data.docs.forEach((doc, order) => {
      docs.set(doc.location, doc);
      for (const [name, rank] of doc[FIELD] || []) {
        const key = norm(name);
        if (key) names.push({ key, rank, location: doc.location, order });
      }
    });
  }

  /** Term pages whose names the query matches, best first. */
  function lookup(query) {
    const best = new Map(); // location -> [kind, form, rank or length, length or rank, order]
    const all = forms(query);
    for (let f = 0; f < all.length; f++) {
      const form = all[f];
      const chars = [...form].length;
      for (const n of names) {
        let kind = -1;
        if (n.key === form) kind = 0;
        else if (n.key.startsWith(form)) kind = 1;
        else if (chars >= MIN_FUZZY && oneEdit(form, n.key)) kind = 2;
        else if (form.includes(".") && n.key.endsWith("." + form)) kind = 1;
        if (kind < 0) continue;
        // An exact name: the name itself before another name; a prefix: the shortest completion first.
        const [first, second] = kind === 1 ? [n.key.length, n.rank] : [n.rank, n.key.length];
        const score = [kind, f, first, second, n.order];
        const old = best.get(n.location);
        if (!old || compare(score, old) < 0) best.set(n.location, score);
      }
    }
    return [...best.entries()].sort((a, b) => compare(a[1], b[1])).map(([location]) => location);
  }

  const compare = (a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  };

  /** A result's terms with every Han run of the query that Material cut short ("激活函") made whole ("激活函数"). */
  function wholeTerms(query, terms) {
    const runs = query.match(/\p{sc=Han}+/gu) || [];
    const out = {};
    for (const [term, matched] of Object.entries(terms || {})) {
      const run = runs.find((r) => r.length > term.length && r.slice(0, -1).endsWith(term));
      const whole = run ? term + run.slice(-1) : term;
      out[whole] = out[whole] || matched;
    }
    return out;
  }

  const strip = (query) => (item) => {
    const { [FIELD]: _, ...rest } = item;
    return { ...rest, terms: wholeTerms(query, rest.terms) };
  };

  /** Material's groups, with the term pages that the names layer found moved (or added) to the top. */
  function merge(query, result) {
    const groups = result.items || [];
    const article = (group) => {
      const first = group[0].location;
      return first.includes("#") ? first.split("#")[0] : first;
    };
    const byPage = new Map(groups.map((g) => [article(g), g]));
    const top = lookup(query).map((location) => {
      const group = byPage.get(location);
      if (group) {
        byPage.delete(location);
        return group;
      }
      return [{ ...docs.get(location), score: 0, terms: {} }];
    });
    const rest = groups.filter((g) => byPage.has(article(g)));
    return { ...result, items: [...top, ...rest].map((g) => g.map(strip(query))) };
  }

  /* One message at a time, in order. */
  let queue = Promise.resolve();
  realListen("message", (ev) => {
    const message = ev.data;
    queue = queue.then(async () => {
      if (message.type === SETUP) setup(message.data);
      const reply = await ask(message);
      if (message.type === QUERY && reply.type === RESULT) realPost({ ...reply, data: merge(message.data, reply.data) });
      else realPost(reply);
    });
  });

  /* For tests and benchmarks: the names layer alone. */
  self.dltermsLookup = lookup;
  self.dltermsWholeTerms = wholeTerms;
})();
