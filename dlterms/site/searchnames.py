"""The ``names`` field of the search index: every name of a term, weighted, on the term's page.

Material's search (lunr) matches each query word as a prefix, adds up the matches, and does not
normalise by length, so a page that merely mentions a name often outranks the page *of* that
name. The site's config declares a search field ``names`` with a high boost; after the search
plugin has written ``search/search_index.json``, the hook fills it in the entry of each term page
(the section under the title) with:

* the tokens of the English and Chinese names, aliases, variants and the seed's wording, each
  token repeated more the fewer words its name has (a one-word name is the term, a word of a
  five-word alias is a hint), counting the best name a token comes from, never summing, so
  a term with many aliases gains nothing from their number;
* for each Chinese word, the word without its last character: Material segments a Chinese query
  with the words it finds in the index, leaving the last character to its trailing wildcard, so
  ``梯度下降`` is searched as ``梯度下*``; with that token present it matches the term whose
  name it is, not every page that mentions ``梯度``.

The field is searched but never shown. Chinese text is segmented with the search plugin's own
jieba segmentation, so names and page text are cut the same way.

Each term page's entry also gets ``term_names`` (:func:`term_names`): every name of the term with
its rank (0 its name, 1 another name, 2 a related concept's name), read by the site's search
worker (docs/javascripts/search-worker.js), which puts the pages whose names a query matches
(exactly, as a prefix, or one edit away) before lunr's results; lunr cannot match a typo, a
symbol that its trimmer drops (σ, η), or a whole name against a longer one. And pages outside
the glossary whose text repeats every function name (the API reference) get a lower document
boost (:data:`PAGE_BOOSTS`), so that a term's name finds the term's page before them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from dlterms.files import atomic_write_text
from dlterms.glossary import Term

FIELD = "names"
NAMES_KEY = "term_names"  # read by docs/javascripts/search-worker.js
NAME, OTHER_NAME, RELATED_NAME = 0, 1, 2  # the ranks of term_names (the worker sorts by them)
# Location prefix -> lunr document boost (term pages have 2). The API reference titles each section
# with a function name (title boost 1000): at 0.001 such a title weighs what one mention in a
# term page's text does, so the pages that mention sigmoid come before the API entry of sigmoid.
PAGE_BOOSTS = {"api/reference/": 0.001}
_PARTS = re.compile(r"\s+/\s+|\s*[(（]\s*|\s*[)）]\s*")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_FULL_WEIGHT = 12  # repetitions of a one-word name; a name of k words gives each word ceil(12 / k)


def search_names(term: Term, separator: re.Pattern[str], segment: Callable[[str], str]) -> str:
    """The ``names`` text of one term (see the module docstring)."""
    weight: dict[str, int] = {}
    for name in term.search_words():
        tokens = [t.lower() for t in separator.split(segment(name)) if t and t.strip()]
        for token in tokens:
            weight[token] = max(weight.get(token, 0), math.ceil(_FULL_WEIGHT / len(tokens)))
        for run in _HAN.findall(name):
            if len(run) > 2:
                weight.setdefault(run[:-1], 1)  # once: it only has to exist (see the module docstring)
    # A word and its variant (gradient / gradients, activation / Activationn): a query for the word
    # would match both, counting the page twice; the variant stays findable in the page text.
    for token in [t for t in weight if t.isascii()]:
        if any(len(s) >= 3 and token != s and token.startswith(s) and len(token) - len(s) <= 2 for s in weight):
            del weight[token]
    return " ".join(" ".join([token] * n) for token, n in weight.items())


def term_names(term: Term) -> list[tuple[str, int]]:
    """Every name of ``term`` with its rank, each name once at its best rank.

    A name written ``A (B)`` or ``A / B`` also gives its parts, as other names: "recurrent neural
    network (RNN)" is found as "RNN", "forward pass / backward pass" as "backward pass".
    """
    out: dict[str, int] = {}

    def put(name: str, rank: int) -> None:
        for n in [name, *_PARTS.split(name)]:
            if n.strip() and rank < out.get(n.strip(), RELATED_NAME + 1):
                out[n.strip()] = rank

    for name in (term.en.name, term.zh.name):
        out[name] = NAME  # the whole name; its parts are other names ("反向传播" is backpropagation's name,
        # a part of forward-pass's "前向传播 / 反向传播")
        put(name, OTHER_NAME)
    for name in term.search_words():
        put(name, OTHER_NAME)
    for name in term.related_words():
        put(name, RELATED_NAME)
    return list(out.items())


def add_names(index_path: Path, terms: dict[str, Term], segment: Callable[[str], str]) -> int:
    """Fill the ``names`` field of each term page's entry in the built index; return how many."""
    index = json.loads(index_path.read_text(encoding="utf-8"))
    if FIELD not in index["config"]["fields"]:
        return 0
    separator = re.compile(index["config"]["separator"])
    done = 0
    for doc in index["docs"]:
        m = re.fullmatch(r"terms/([a-z0-9-]+)/", doc["location"])
        if m and m[1] in terms:
            doc[FIELD] = search_names(terms[m[1]], separator, segment)
            doc[NAMES_KEY] = term_names(terms[m[1]])
            done += 1
        for prefix, boost in PAGE_BOOSTS.items():
            if doc["location"].startswith(prefix):
                doc["boost"] = boost
    atomic_write_text(index_path, json.dumps(index, ensure_ascii=False, separators=(",", ":")))
    return done
