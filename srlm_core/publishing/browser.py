"""The built book in a real browser: every page checked in headless Chromium, and the PDF.

The book must read the way a reader on a train (or an archive copy in ten years) reads it:
from ``file://``, with no network.  :func:`check_site` opens every page of a built site that
way, in Debian's Chromium driven by Playwright (no browser is downloaded: the binary is
:func:`find_chromium`'s), with every request outside the site aborted, and reports a page
(:class:`PageReport`) that

* shows **raw TeX** in its text (``\\(``, ``\\[``, ``$$``, ``\\begin{``, or ``$...$`` around TeX)
  outside code;
* has a **math element MathJax did not typeset**, or one it typeset as an error;
* has an **image that did not load**;
* logs a **console error** or throws an uncaught exception, or fails to load a file;
* **requests anything outside the site** (another scheme, host or folder), or links to a
  file of the site that is not there (a page, a download, the PDF);
* shows a glyph that needs a **colour-emoji font**, which neither the site nor a plain system
  ships (it renders as an empty box).

It saves a full-page screenshot of each page (``--screenshots``) for a person to look at.
:func:`print_pdf` prints the single-page build to PDF once MathJax has typeset it, after the
same checks.  Command line (used by ``nox -s browser`` and ``nox -s book``)::

    python -m srlm_core.publishing.browser check book/_build/html \\
        --screenshots book/_build/screenshots
    python -m srlm_core.publishing.browser pdf book/_build/singlehtml \\
        book/_build/html/srlm-compendium.pdf
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variable naming the Chromium binary (default: the first of CHROMIUM_NAMES on
#: the PATH).
CHROMIUM_ENV = "SRLM_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
#: Chromium switches: no background traffic (updates, sync, field trials) and no name
#: resolution at all, so nothing can leave the machine even past the request filter.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
#: The browser window, in CSS pixels.
VIEWPORT = {"width": 1280, "height": 900}
#: Pages whose screenshot is their first screen (:data:`VIEWPORT`), not the whole page: the
#: highlighted source listings and the API reference, machine-made pages many screens long
#: whose full screenshots took most of the check's time (a 60,000-pixel PNG takes 9 s to
#: encode).  Every page is still checked whole.
FIRST_SCREEN_ONLY = ("_modules/", "api/")
#: Folders of a built Sphinx site that hold assets, not pages.
ASSET_FOLDERS = {"_static", "_sources", "_images", "_downloads"}
#: Seconds a page may take to load and typeset.
PAGE_TIMEOUT_S = 60.0
#: Seconds the single-page build (the whole book) may take to load, typeset and print.
PRINT_TIMEOUT_S = 600.0

# Runs in the page once it has loaded: waits for MathJax and the images, then returns the
# problems it sees as [kind, detail] pairs.
_CHECK_JS = r"""
async () => {
  const problems = [];
  const short = (s) => (s || "").replace(/\s+/g, " ").trim().slice(0, 120);
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    try { await mj.startup.promise; } catch (e) { problems.push(["mathjax", String(e)]); }
  }
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done); img.addEventListener("error", done);
    setTimeout(done, 10000);
  })));
  for (const img of images) {
    if (!img.complete || img.naturalWidth === 0) {
      problems.push(["image", img.getAttribute("src") || "(no src)"]);
    }
  }
  for (const el of document.querySelectorAll(".math")) {
    if (!el.querySelector("mjx-container")) problems.push(["math", short(el.textContent)]);
  }
  for (const el of document.querySelectorAll("mjx-merror, [data-mjx-error]")) {
    const message = el.getAttribute("data-mjx-error") || el.getAttribute("title");
    problems.push(["math-error", short(message || el.textContent)]);
  }
  // Code shows TeX on purpose; so do the Python literals of an API signature (.sig).
  const skip = "script, style, noscript, template, textarea, pre, code, kbd, samp, "
             + ".highlight, .sig, mjx-container";
  const delimiters = /\\\(|\\\[|\$\$|\\begin\{/;
  // $...$ around TeX: a command, a sub- or superscript, braces, or a lone letter ($n$);
  // "$5 and $10" is not TeX (a space inside a delimiter).
  const dollars = /\$([^$\n]{1,200}?)\$/g;
  const texLike = (inner) => inner.trim() === inner
    && (/\\[A-Za-z]|[_^{}]/.test(inner) || /^[A-Za-z]$/.test(inner));
  const rawTex = (text) => delimiters.test(text)
    || Array.from(text.matchAll(dollars)).some((m) => texLike(m[1]));
  const emoji = /\p{Emoji_Presentation}/u;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seenTex = new Set(), seenEmoji = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style, noscript, template")) continue;
    const text = node.nodeValue;
    const glyph = text.match(emoji);
    if (glyph && !seenEmoji.has(glyph[0])) {
      seenEmoji.add(glyph[0]);
      problems.push(["glyph", glyph[0] + " (U+" + glyph[0].codePointAt(0).toString(16)
                     .toUpperCase() + ") needs a colour-emoji font: " + short(text)]);
    }
    if (parent.closest(skip)) continue;
    if (rawTex(text) && !seenTex.has(text)) {
      seenTex.add(text);
      problems.push(["raw-tex", short(text)]);
    }
  }
  return problems;
}
"""

_OPEN_FOR_PRINT_JS = r"""
() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((el) => el.classList.remove("toggle-hidden"));
}
"""


#: The problems that stop the PDF: what would show on paper, and any request off the site.
PRINT_CHECKS = {"raw-tex", "math", "math-error", "mathjax", "image", "glyph", "outside-request",
                "load", "redirect"}

_REFRESH = re.compile(
    r"<meta[^>]+http-equiv=[\"']?refresh[\"']?[^>]+content=[\"'][^\"';]*;\s*url=([^\"'>]+)",
    re.IGNORECASE,
)


class BrowserMissing(RuntimeError):
    """No Chromium binary could be found."""


@dataclass
class PageReport:
    """What one page showed: ``problems`` as ``kind: detail`` lines (empty: the page passed)."""

    page: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium() -> str:
    """The Chromium binary: ``$SRLM_CHROMIUM``, else the first of CHROMIUM_NAMES on the PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        if not Path(named).is_file():
            raise BrowserMissing(f"{CHROMIUM_ENV}={named} is not a file")
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(
        "no Chromium found: install Debian's package (apt-get install chromium) or name the "
        f"binary in {CHROMIUM_ENV}"
    )


def site_pages(root: Path) -> list[Path]:
    """Every HTML page of a built site (asset folders excluded), sorted."""
    root = Path(root)
    return sorted(
        page for page in root.rglob("*.html")
        if not ASSET_FOLDERS & set(page.relative_to(root).parts[:-1])
    )


def inside(url: str, root: Path) -> bool:
    """True when ``url`` is a file of the site at ``root`` (or an inline ``data:``/``blob:``/
    ``about:`` resource)."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    base = Path(root).resolve().as_uri().rstrip("/") + "/"
    return url.startswith(base)


@contextlib.contextmanager
def browser_context(root: Path, chromium: str | None = None) -> Iterator[tuple]:
    """A headless Chromium context whose every request outside ``root`` is aborted; yields
    ``(context, blocked)`` where ``blocked`` collects the aborted addresses."""
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    blocked: list[str] = []

    def gate(route):
        url = route.request.url
        if inside(url, root):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            context = browser.new_context(
                viewport=VIEWPORT, service_workers="block", java_script_enabled=True
            )
            context.route("**/*", gate)
            yield context, blocked
        finally:
            browser.close()


class _Recorder:
    """Console errors, page errors, failed and outside requests of one page's visit."""

    def __init__(self, page, root: Path):
        self.root = root
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"page-error: {err}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            suffix = f" ({where})" if where else ""
            self.problems.append(f"console-error: {message.text}{suffix}")

    def _request(self, request) -> None:
        if not inside(request.url, self.root):
            self.problems.append(f"outside-request: {request.url}")

    def _failed(self, request) -> None:
        if inside(request.url, self.root):
            self.problems.append(f"failed-load: {request.url} ({request.failure})")


def redirect_target(path: Path) -> str | None:
    """The address a redirect page (``<meta http-equiv="refresh">``) sends the reader to."""
    head = Path(path).read_text(encoding="utf-8", errors="replace")[:4000]
    match = _REFRESH.search(head)
    return match.group(1).strip() if match else None


def check_page(page, url: str, root: Path, recorder: _Recorder,
               timeout_s: float = PAGE_TIMEOUT_S) -> list[str]:
    """Load ``url`` in ``page`` and return its problems (``kind: detail`` lines).  A redirect
    page is followed to its target, which is checked."""
    from urllib.parse import urljoin, urlsplit

    recorder.problems = []
    page.set_default_timeout(timeout_s * 1000)
    local = Path(urlsplit(url).path) if url.startswith("file:") else None
    target = redirect_target(local) if local and local.is_file() else None
    try:
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        if target is not None:
            destination = urljoin(url, target)
            if not inside(destination, root) or not Path(urlsplit(destination).path).is_file():
                return [*recorder.problems, f"redirect: to {target}, which is not in the site"]
            landing = destination.split("#")[0]
            page.wait_for_url(lambda now: now.split("#")[0] == landing, wait_until="load",
                              timeout=timeout_s * 1000)
        found = page.evaluate(_CHECK_JS)
    except Exception as err:  # a timeout or a crashed page is a failure of that page
        return [*recorder.problems, f"load: {type(err).__name__}: {str(err).splitlines()[0]}"]
    problems = list(recorder.problems) + [f"{kind}: {detail}" for kind, detail in found]
    return list(dict.fromkeys(problems))


_HREF = re.compile(r"<a\s[^>]*?\bhref\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def broken_links(page: Path, root: Path) -> list[str]:
    """Links of ``page`` to files of the site that are not there (or that leave the site):
    a page, a download, the PDF.  Links with a scheme (``https:``, ``mailto:``) and anchors
    within the page are not checked."""
    from urllib.parse import unquote

    page, root = Path(page).resolve(), Path(root).resolve()
    html = page.read_text(encoding="utf-8", errors="replace")
    broken = []
    for href in dict.fromkeys(_HREF.findall(html)):
        target = unquote(href.split("#", 1)[0].split("?", 1)[0])
        if not target or _SCHEME.match(href) or href.startswith("//"):
            continue
        path = (page.parent / target).resolve()
        if target.endswith("/"):
            path = path / "index.html"
        if not path.is_relative_to(root) or not path.exists():
            broken.append(href)
    return broken


def check_site(root: Path, screenshots: Path | None = None, pages: list[Path] | None = None,
               chromium: str | None = None, echo=print, workers: int = 1) -> list[PageReport]:
    """Open every page of the site at ``root`` (or ``pages``) and check it; screenshot each
    (the whole page, or its first screen for :data:`FIRST_SCREEN_ONLY`).
    With ``workers`` > 1 the pages are dealt round-robin to that many processes, each with its
    own Chromium; the reports come back in the pages' order."""
    root = Path(root).resolve()
    pages = [Path(p).resolve() for p in pages] if pages is not None else site_pages(root)
    if not pages:
        raise FileNotFoundError(f"no HTML pages under {root} (build the book first)")
    workers = max(1, min(workers, len(pages)))
    if workers == 1:
        return _check_pages(root, screenshots, pages, chromium, echo)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_check_pages, [root] * workers, [screenshots] * workers,
                         [pages[i::workers] for i in range(workers)], [chromium] * workers)
        done = {report.page: report for part in parts for report in part}
    reports = [done[path.relative_to(root).as_posix()] for path in pages]
    for report in reports:
        _echo(report, echo)
    return reports


def _echo(report: PageReport, echo) -> None:
    if echo:
        echo(f"{'ok  ' if report.ok else 'FAIL'}  {report.page}  ({report.seconds:.1f} s)")
        for problem in report.problems:
            echo(f"        {problem}")


def _check_pages(root: Path, screenshots: Path | None, pages: list[Path],
                 chromium: str | None = None, echo=None) -> list[PageReport]:
    """:func:`check_site` on ``pages`` in one Chromium."""
    reports = []
    with browser_context(root, chromium) as (context, _blocked):
        page = context.new_page()
        recorder = _Recorder(page, root)
        for path in pages:
            start = time.perf_counter()
            name = path.relative_to(root).as_posix()
            problems = check_page(page, path.as_uri(), root, recorder)
            problems += [f"broken-link: {href}" for href in broken_links(path, root)]
            report = PageReport(name, problems)
            if screenshots is not None:
                shot = Path(screenshots) / Path(name).with_suffix(".png")
                shot.parent.mkdir(parents=True, exist_ok=True)
                try:
                    whole = not name.startswith(FIRST_SCREEN_ONLY)
                    page.screenshot(path=str(shot), full_page=whole,
                                    timeout=PAGE_TIMEOUT_S * 1000)
                    report.screenshot = shot
                except Exception as err:
                    report.problems.append(f"screenshot: {str(err).splitlines()[0]}")
            report.seconds = time.perf_counter() - start
            reports.append(report)
            _echo(report, echo)
    return reports


def single_page(site: Path) -> Path:
    """The page of a single-page build (``index.html``, or its one other page)."""
    site = Path(site)
    if site.is_file():
        return site
    if (site / "index.html").is_file() and "http-equiv" not in (site / "index.html").read_text(
        encoding="utf-8", errors="replace"
    )[:2000]:
        return site / "index.html"
    candidates = [p for p in site_pages(site) if p.parent == site
                  and p.name not in {"genindex.html", "search.html", "py-modindex.html"}
                  and "http-equiv" not in p.read_text(encoding="utf-8", errors="replace")[:2000]]
    if len(candidates) != 1:
        raise FileNotFoundError(f"no single page in {site}: {[p.name for p in candidates]}")
    return candidates[0]


def print_pdf(site: Path, pdf: Path, chromium: str | None = None) -> int:
    """Print the single-page build ``site`` to ``pdf`` once MathJax has typeset it.  The page
    must pass the checks of :func:`check_site` that concern what is printed
    (:data:`PRINT_CHECKS`: its search script, which a single-page build lacks, does not
    count).  Returns the size in bytes."""
    page_path = single_page(site).resolve()
    root = page_path.parent
    with browser_context(root, chromium) as (context, _blocked):
        page = context.new_page()
        recorder = _Recorder(page, root)
        problems = [
            problem for problem in
            check_page(page, page_path.as_uri(), root, recorder, timeout_s=PRINT_TIMEOUT_S)
            if problem.split(":", 1)[0] in PRINT_CHECKS
        ]
        if problems:
            raise RuntimeError(f"{page_path} does not render cleanly:\n  " + "\n  ".join(problems))
        page.evaluate(_OPEN_FOR_PRINT_JS)
        page.emulate_media(media="print")
        pdf = Path(pdf)
        pdf.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(
            path=str(pdf), format="A4", print_background=True, outline=True, tagged=True,
            margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            display_header_footer=True, header_template="<span></span>",
            footer_template=(
                '<div style="font-size:8px;width:100%;text-align:center;color:#666">'
                '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
            ),
        )
    return pdf.stat().st_size


def _check(args) -> int:
    pages = [Path(args.site) / p for p in args.page] if args.page else None
    if args.screenshots and Path(args.screenshots).exists() and not args.page:
        shutil.rmtree(args.screenshots)
    start = time.perf_counter()
    reports = check_site(Path(args.site), Path(args.screenshots) if args.screenshots else None,
                         pages, workers=args.workers)
    failed = [r for r in reports if not r.ok]
    wall = time.perf_counter() - start
    print(f"\n{len(reports)} page(s) in {wall:.0f} s; screenshots in {args.screenshots}"
          if args.screenshots else f"\n{len(reports)} page(s) in {wall:.0f} s")
    for report in failed:
        print(f"FAILED {report.page}: {len(report.problems)} problem(s)")
    print(f"browser: {len(reports) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _pdf(args) -> int:
    if args.if_chromium:
        try:
            find_chromium()
        except BrowserMissing as err:
            print(f"browser: no PDF written: {err}")
            return 0
    start = time.perf_counter()
    size = print_pdf(Path(args.site), Path(args.pdf))
    print(f"wrote {args.pdf} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m srlm_core.publishing.browser",
        description="Check a built book in headless Chromium (network blocked); print its PDF.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="open every page and check it")
    check.add_argument("site", help="the built HTML site, e.g. book/_build/html")
    check.add_argument("--screenshots", default=None, help="folder for one PNG per page")
    check.add_argument("--page", action="append", default=[],
                       help="only this page (relative to the site; repeatable)")
    check.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="Chromium processes at a time (default: the cores)")
    check.set_defaults(handler=_check)
    pdf = actions.add_parser("pdf", help="print the single-page build to PDF")
    pdf.add_argument("site", help="the single-page build folder (or its page)")
    pdf.add_argument("pdf", help="the PDF to write")
    pdf.add_argument("--if-chromium", action="store_true",
                     help="without a Chromium, say so and succeed (instead of failing)")
    pdf.set_defaults(handler=_pdf)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (BrowserMissing, FileNotFoundError, RuntimeError) as err:
        print(f"browser: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
