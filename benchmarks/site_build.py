"""How long the site takes to build, how heavy a term page is, and how fast search answers.

Measures, on this machine:

* the full ``mkdocs build --strict`` (term pages and plots included), median of ``--repeat`` runs,
  and the share of it spent generating the glossary pages (the hook's own log line);
* the weight of each term page: its HTML, the site's own CSS and the page's images (the search
  index and the theme's shared JavaScript and CSS aside, reported separately);
* in headless Chromium (system ``chromium``, Playwright from PyPI), the time from the last
  keystroke of a search to the right first result on screen, median over a few queries typed
  ``--repeat`` times each;
* in the same browser, the page's search worker (the names layer around Material's worker) on
  every query of tests/site/search_queries.toml: the time to load the index, each query's time
  once it has loaded, and how many queries have their expected page first.

Goals (issue "the glossary site"): build ≤ 60 s on 2 cores; a term page ≤ 300 KB; a search
result ≤ 200 ms after the last keystroke. Issue "The site a student picks over d2l and
Wikipedia": every query answered under 100 ms once the index has loaded, 100 % first results.

Usage: ``python benchmarks/site_build.py [--repeat 3] [--out FILE.json]``
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
QUERY_FILE = REPO / "tests" / "site" / "search_queries.toml"
QUERIES = [("softmax", "softmax"), ("激活函数", "activation-function"), ("乙状结肠", "sigmoid"), ("relu", "relu")]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0].strip() if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores usable, Python {platform.python_version()}, {platform.platform()}"


def build(out: Path) -> tuple[float, float]:
    """One strict build into ``out``: (wall seconds, seconds the hook spent generating pages)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"mkdocs build failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    generated = re.search(r"generated \d+ files in ([\d.]+)s", proc.stdout + proc.stderr)
    return wall, float(generated[1]) if generated else float("nan")


def page_weights(site: Path) -> dict[str, Any]:
    own_css = sum(p.stat().st_size for p in (site / "stylesheets").glob("*.css"))
    weights = {}
    for page in sorted((site / "terms").glob("*/index.html")):
        html = page.read_text(encoding="utf-8")
        images = set(re.findall(r'<img[^>]+src="([^"]+)"', html))
        weights[page.parent.name] = (
            page.stat().st_size
            + own_css
            + sum((page.parent / s).stat().st_size for s in images if (page.parent / s).exists())
        )
    shared = sum(p.stat().st_size for p in (site / "assets").rglob("*") if p.is_file() and p.suffix in (".js", ".css"))
    index = (site / "search" / "search_index.json").stat().st_size
    return {
        "term_pages": len(weights),
        "max_bytes": max(weights.values()),
        "max_page": max(weights, key=weights.get),
        "median_bytes": statistics.median(weights.values()),
        "shared_theme_js_css_bytes": shared,
        "search_index_bytes": index,
    }


def search_latency(site: Path, repeat: int) -> dict[str, Any] | str:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    chromium = os.environ.get("DLTERMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        return f"skipped: no Chromium at {chromium}"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    latencies: dict[str, list[float]] = {q: [] for q, _ in QUERIES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        box = page.locator("input.md-search__input")
        box.click()
        page.wait_for_function("document.querySelector('.md-search-result__meta').textContent.trim() !== ''")
        page.evaluate("""() => {
            window.__t = {key: 0, shown: 0, want: ''};
            const reset = () => { window.__t.key = performance.now(); window.__t.shown = 0; };
            document.addEventListener('keyup', reset, true);
            const list = document.querySelector('.md-search-result__list');
            new MutationObserver(() => {
                const a = list.querySelector('a.md-search-result__link');
                if (a && window.__t.want && a.href.includes(window.__t.want) && !window.__t.shown)
                    window.__t.shown = performance.now();
            }).observe(list, {childList: true, subtree: true});
        }""")
        for _ in range(repeat):
            for query, term in QUERIES:
                box.fill("")
                page.evaluate(f"() => {{ window.__t.want = '/terms/{term}/'; window.__t.shown = 0; }}")
                box.press_sequentially(query, delay=40)
                if not query.isascii():
                    box.press("End")  # CJK text is typed without key events
                page.wait_for_function("window.__t.shown > 0", timeout=10_000)
                latencies[query].append(page.evaluate("window.__t.shown - window.__t.key"))
        worker = worker_queries(page)
        browser.close()
    server.shutdown()
    every = [v for vs in latencies.values() for v in vs]
    return {
        "median_ms": statistics.median(every),
        "max_ms": max(every),
        "per_query_median_ms": {q: statistics.median(v) for q, v in latencies.items()},
        "worker": worker,
    }


def worker_queries(page: Any) -> dict[str, Any]:
    """Every query of the test set through the page's search worker: index load time, query times, accuracy."""
    tables = tomllib.loads(QUERY_FILE.read_text(encoding="utf-8")).values()
    expected = {q: t for table in tables for q, t in table.items()}
    got = page.evaluate(
        """async (queries) => {
        const config = JSON.parse(document.getElementById('__config').textContent);
        const t0 = performance.now();
        const index = await (await fetch(new URL('search/search_index.json', new URL(config.base, location)))).json();
        const worker = new Worker(config.search);
        const call = (msg) => new Promise(done => { worker.onmessage = e => done(e.data); worker.postMessage(msg); });
        await call({type: 0, data: {config: index.config, docs: index.docs, options: {suggest: false}}});
        const load = performance.now() - t0, out = {};
        for (const q of queries) {
            const t = performance.now();
            const r = await call({type: 2, data: q});
            out[q] = [performance.now() - t, (r.data.items[0] || [{location: ''}])[0].location];
        }
        worker.terminate();
        return {load, out};
    }""",
        list(expected),
    )
    times = [ms for ms, _ in got["out"].values()]
    right = sum(loc.split("#")[0] == f"terms/{expected[q]}/" for q, (_, loc) in got["out"].items())
    slowest = max(got["out"], key=lambda q: got["out"][q][0])
    return {
        "queries": len(expected),
        "first_result_right": right,
        "index_load_ms": round(got["load"], 1),
        "query_median_ms": round(statistics.median(times), 2),
        "query_max_ms": round(max(times), 2),
        "slowest_query": slowest,
        "over_100_ms": sum(t > 100 for t in times),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", help="write the results as JSON to this file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [build(Path(tmp) / f"site{i}") for i in range(args.repeat)]
        site = Path(tmp) / "site0"
        same = all(
            (site / f.relative_to(Path(tmp) / "site1")).read_bytes() == f.read_bytes()
            for f in (Path(tmp) / "site1" / "terms").rglob("*.svg")
        ) if args.repeat > 1 else None  # fmt: skip
        result = {
            "machine": machine(),
            "build_runs_s": [round(w, 2) for w, _ in runs],
            "build_median_s": round(statistics.median(w for w, _ in runs), 2),
            "generate_median_s": round(statistics.median(g for _, g in runs), 2),
            "svg_identical_across_builds": same,
            "weights": page_weights(site),
            "search": search_latency(site, args.repeat),
        }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
