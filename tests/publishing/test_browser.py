"""The browser check of a built site, on hand-made pages (headless Chromium, network blocked).

A page passes only when its math is typeset by the MathJax the site ships, its images load,
its console stays clean and it requests nothing outside the site.  Each kind of failure has
a page here that shows it.  The tests need Debian's Chromium; outside CI they are skipped
where it is missing (the ``chromium`` fixture of conftest.py; CI installs it, and there a
missing browser fails them).
"""

import shutil

import pytest

from srlm_core.publishing import browser
from srlm_core.publishing.offline import MATHJAX_COMPONENT, mathjax_source

TYPESET = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>
<script>window.MathJax = {{tex: {{macros: {{R: "\\\\mathbb{{R}}"}},
  packages: {{"[-]": ["noundefined"]}}}},
  options: {{processHtmlClass: "math", ignoreHtmlClass: "page"}}}};</script>
<script defer src="_static/{MATHJAX_COMPONENT}"></script></head>
<body class="page"><p>Inline <span class="math notranslate nohighlight">\\(\\R^d\\)</span>.</p>
<div class="math notranslate nohighlight">\\[ r_t = \\alpha r^\\star + (1-\\alpha) \\beta \\]</div>
{{extra}}</body></html>
"""


def page(extra: str = "") -> str:
    return TYPESET.replace("{extra}", extra)


@pytest.fixture(scope="module")
def mathjax_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mathjax") / "mathjax"
    shutil.copytree(mathjax_source(), folder)
    return folder


@pytest.fixture
def site(tmp_path, mathjax_copy, chromium):
    root = tmp_path / "html"
    (root / "_static").mkdir(parents=True)
    (root / "_static" / "mathjax").symlink_to(mathjax_copy, target_is_directory=True)
    return root


def check(root, *names, screenshots=None):
    pages = [root / name for name in names]
    reports = browser.check_site(root, screenshots=screenshots, pages=pages, echo=None)
    return {report.page: report for report in reports}


def kinds(report) -> set[str]:
    return {problem.split(":", 1)[0] for problem in report.problems}


# -- without a browser -------------------------------------------------------------------------


def test_site_pages_leave_out_asset_folders(tmp_path):
    for name in ["index.html", "chapters/a.html", "_static/x.html", "_sources/y.html"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<html></html>")
    assert [p.relative_to(tmp_path).as_posix() for p in browser.site_pages(tmp_path)] == [
        "chapters/a.html", "index.html"
    ]


def test_inside_the_site(tmp_path):
    root = tmp_path / "html"
    assert browser.inside((root / "a.html").as_uri(), root)
    assert browser.inside((root / "_static" / "x.js").as_uri() + "?v=1", root)
    assert browser.inside("data:image/png;base64,AAAA", root)
    assert not browser.inside((tmp_path / "other" / "a.html").as_uri(), root)
    assert not browser.inside((tmp_path / "html2" / "a.html").as_uri(), root)
    assert not browser.inside("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js", root)


def test_redirect_target_and_single_page(tmp_path):
    redirect = '<meta http-equiv="Refresh" content="0; url=intro.html" />'
    (tmp_path / "index.html").write_text(redirect)
    (tmp_path / "intro.html").write_text("<html><body>the book</body></html>")
    (tmp_path / "genindex.html").write_text("<html></html>")
    assert browser.redirect_target(tmp_path / "index.html") == "intro.html"
    assert browser.redirect_target(tmp_path / "intro.html") is None
    assert browser.single_page(tmp_path) == tmp_path / "intro.html"


def test_broken_links(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "book.pdf").write_bytes(b"%PDF")
    (tmp_path / "chapters" / "a.html").write_text(
        '<a href="../book.pdf">PDF</a> <a href="b.html#s">b</a> <a href="#top">top</a> '
        '<a href="https://arxiv.org/abs/2601.22513">paper</a> <a href="mailto:x@y.z">mail</a> '
        '<a href="../gone.pdf">gone</a> <a href="../../outside.html">out</a> '
        "<a href='c.html?x=1'>c</a>"
    )
    (tmp_path / "chapters" / "b.html").write_text("")
    assert browser.broken_links(tmp_path / "chapters" / "a.html", tmp_path) == [
        "../gone.pdf", "../../outside.html", "c.html?x=1"
    ]


def test_missing_chromium_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    with pytest.raises(browser.BrowserMissing, match="SRLM_CHROMIUM"):
        browser.find_chromium()


# -- in headless Chromium ----------------------------------------------------------------------


def test_a_typeset_page_passes_and_is_screenshot(site, tmp_path):
    (site / "good.html").write_text(page())
    shots = tmp_path / "shots"
    report = check(site, "good.html", screenshots=shots)["good.html"]
    assert report.ok, report.problems
    assert report.screenshot == shots / "good.png" and report.screenshot.stat().st_size > 1000


def test_a_long_page_is_shot_whole_and_a_source_listing_by_its_first_screen(site, tmp_path):
    from PIL import Image

    from srlm_core.publishing.browser import VIEWPORT

    tall = page('<div style="height: 3000px">a long chapter</div>')
    (site / "long.html").write_text(tall)
    (site / "_modules").mkdir()
    (site / "_modules" / "listing.html").write_text(tall.replace('src="_static/',
                                                                 'src="../_static/'))
    shots = tmp_path / "shots"
    reports = check(site, "long.html", "_modules/listing.html", screenshots=shots)
    assert all(report.ok for report in reports.values()), reports
    heights = {name: Image.open(report.screenshot).height for name, report in reports.items()}
    assert heights["long.html"] > 3000
    assert heights["_modules/listing.html"] == VIEWPORT["height"]


def test_a_page_with_an_unrendered_formula_fails(site):
    """No MathJax on the page: the TeX stays raw and the math elements untypeset."""
    script = f'<script defer src="_static/{MATHJAX_COMPONENT}"></script>'
    (site / "raw.html").write_text(page().replace(script, ""))
    (site / "dollars.html").write_text(page("<p>The bound $\\tilde O(1/\\sqrt{n})$ holds.</p>"))
    (site / "table.html").write_text(page("<table><tr><th>$e_0$</th><th>$n$</th></tr></table>"))
    (site / "money.html").write_text(page("<p>It costs $5 and $10, or 5$ and $ 10.</p>"))
    reports = check(site, "raw.html", "dollars.html", "table.html", "money.html")
    raw = reports["raw.html"]
    assert not raw.ok and {"raw-tex", "math"} <= kinds(raw)
    assert any("\\(\\R^d\\)" in problem for problem in raw.problems)
    assert kinds(reports["dollars.html"]) == {"raw-tex"}
    assert reports["table.html"].problems == ["raw-tex: $e_0$", "raw-tex: $n$"]
    assert reports["money.html"].ok, reports["money.html"].problems


def test_a_tex_error_and_an_undefined_macro_fail(site):
    (site / "error.html").write_text(page('<span class="math">\\(x^\\)</span>'))
    (site / "macro.html").write_text(page('<span class="math">\\(\\nosuchmacro\\)</span>'))
    reports = check(site, "error.html", "macro.html")
    assert kinds(reports["error.html"]) == {"math-error"}
    assert kinds(reports["macro.html"]) == {"math-error"}
    assert "nosuchmacro" in reports["macro.html"].problems[0]


def test_a_broken_image_a_console_error_and_an_outside_request_fail(site, tmp_path):
    (site / "image.html").write_text(page('<img src="_images/missing.png" alt="x">'))
    (site / "console.html").write_text(page('<script>console.error("boom")</script>'))
    (site / "remote.html").write_text(
        page('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>')
    )
    (tmp_path / "secret.css").write_text("body {}")
    (site / "outside.html").write_text(page('<link rel="stylesheet" href="../secret.css">'))
    reports = check(site, "image.html", "console.html", "remote.html", "outside.html")
    assert "image" in kinds(reports["image.html"])
    assert "console-error" in kinds(reports["console.html"])
    assert "outside-request" in kinds(reports["remote.html"])
    assert any("cdn.jsdelivr.net" in p for p in reports["remote.html"].problems)
    assert "outside-request" in kinds(reports["outside.html"])


def test_two_workers_give_the_same_reports_in_the_pages_order(site, tmp_path):
    """Pages dealt to two Chromium processes: the same verdicts, in the given order, and each
    page's screenshot."""
    (site / "good.html").write_text(page())
    (site / "console.html").write_text(page('<script>console.error("boom")</script>'))
    (site / "also.html").write_text(page())
    pages = [site / name for name in ("good.html", "console.html", "also.html")]
    shots = tmp_path / "shots"
    reports = browser.check_site(site, screenshots=shots, pages=pages, echo=None, workers=2)
    assert [r.page for r in reports] == ["good.html", "console.html", "also.html"]
    assert [r.ok for r in reports] == [True, False, True]
    assert all((shots / name).with_suffix(".png").is_file() for name in
               ("good.html", "console.html", "also.html"))


def test_an_emoji_glyph_fails(site):
    (site / "emoji.html").write_text(page("<table><tr><td>\u2705</td></tr></table>"))
    assert kinds(check(site, "emoji.html")["emoji.html"]) == {"glyph"}


def test_a_redirect_is_followed(site):
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=good.html" />')
    (site / "good.html").write_text(page())
    (site / "lost.html").write_text('<meta http-equiv="Refresh" content="0; url=gone.html" />')
    reports = check(site, "index.html", "lost.html")
    assert reports["index.html"].ok, reports["index.html"].problems
    assert kinds(reports["lost.html"]) == {"redirect"}


def test_print_pdf_after_typesetting_and_refuses_raw_tex(site, tmp_path):
    (site / "index.html").write_text(page("<details><p>folded</p></details>"))
    pdf = tmp_path / "book.pdf"
    assert browser.print_pdf(site, pdf) > 1000
    assert pdf.read_bytes().startswith(b"%PDF")
    (site / "index.html").write_text(page().replace("_static/mathjax", "_static/nothing"))
    with pytest.raises(RuntimeError, match="does not render cleanly"):
        browser.print_pdf(site, tmp_path / "raw.pdf")
    assert not (tmp_path / "raw.pdf").exists()


def test_command_line_exit_codes(site, capsys):
    (site / "good.html").write_text(page())
    assert browser.main(["check", str(site)]) == 0
    assert "browser: 1 passed, 0 failed" in capsys.readouterr().out
    (site / "bad.html").write_text(page().replace("_static/mathjax", "_static/nothing"))
    assert browser.main(["check", str(site)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  bad.html" in out and "browser: 1 passed, 1 failed" in out


def test_pdf_without_chromium_fails_or_is_skipped_on_request(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    (tmp_path / "index.html").write_text("<html></html>")
    assert browser.main(["pdf", str(tmp_path), str(tmp_path / "book.pdf")]) == 2
    assert "SRLM_CHROMIUM" in capsys.readouterr().err
    assert browser.main(["pdf", str(tmp_path), str(tmp_path / "book.pdf"), "--if-chromium"]) == 0
    assert "no PDF written" in capsys.readouterr().out
    assert not (tmp_path / "book.pdf").exists()
