"""Tests for tinygrad_cnn.report: page content, escaping, and loading in headless Chromium."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import browser, console_errors, file_url, open_page, requested_urls

from tinygrad_cnn import Tensor, plots
from tinygrad_cnn.report import write_report
from tinygrad_cnn.viz import GraphvizNotFoundError, draw_graph, render_graph

# ----- a report built from real plots of synthetic arrays -------------------------------------


def _build_report(out: Path, self_contained: bool = False) -> tuple[Path, int]:
    """Write every plot, a graph and report.html into `out`; return the page and its image count."""
    rng = np.random.default_rng(0)
    history = {
        "step_loss": (2.3 * np.exp(-np.arange(40) / 10) + 0.05).tolist(),
        "epoch": [1, 2], "train_acc": [0.9, 0.96], "test_acc": [0.93, 0.97],
    }
    weights = [rng.normal(size=(4, 1, 3, 3)) * (1 + e) for e in range(2)]
    labels = rng.integers(0, 10, 100)
    probabilities = rng.dirichlet(np.ones(10), size=100)
    images = [
        ("Loss and accuracy", plots.plot_history(history, out / "history.png")),
        ("conv1 kernels, epoch 2", plots.plot_kernels(weights[1], out / "plots" / "kernels.png")),
        ("conv1 kernels across epochs", plots.kernels_gif(weights, out / "plots" / "kernels.gif")),
        ("Feature maps", plots.plot_feature_maps(
            rng.random((28, 28)), [("conv1", rng.random((4, 26, 26))), ("fc", rng.random(10))],
            out / "feature maps.png")),  # a space in the name must survive URL encoding
        ("Confusion matrix", plots.plot_confusion_matrix(
            labels, np.argmax(probabilities, axis=1), out / "confusion.png")),
        ("Most confident mistakes", plots.plot_most_confident_wrong(
            rng.random((100, 28, 28)), labels, probabilities, out / "wrong.png", k=4)),
    ]
    x = Tensor(rng.normal(size=(2, 3)), requires_grad=True, name="x")
    w = Tensor(rng.normal(size=(3, 1)), requires_grad=True, name="w")
    loss = (x @ w).relu().sum()
    loss.backward()
    try:
        graph = render_graph(draw_graph(loss), out / "graph.svg")
    except GraphvizNotFoundError as missing:
        graph = missing.dot_path
    page = write_report(
        out,
        config={"lr": 0.01, "batch_size": 64, "optimizer": "Adam <beta1=0.9>"},
        epochs=[{"epoch": 1, "train_acc": 0.9, "test_acc": 0.93},
                {"epoch": 2, "train_acc": 0.96, "test_acc": np.float32(0.97)}],
        profile_table="op       calls  ms\nConv2d   10     5.0",
        graph_svg=graph.name,
        images=[(title, path.relative_to(out)) for title, path in images],
        health={"conv1": {"grad_norm": 0.12, "update_ratio": 1e-3}},
        self_contained=self_contained,
    )
    return page, len(images) + (graph.suffix == ".svg")


class _StructureChecker(HTMLParser):
    """Fails on a closing tag that does not match the open one; collects <img> sources."""

    VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def _parse(page: Path) -> _StructureChecker:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    checker = _StructureChecker()
    checker.feed(text)
    checker.close()
    assert checker.stack == [], f"unclosed elements: {checker.stack}"
    return checker


def test_report_has_every_section_and_linked_images(tmp_path):
    page, n_images = _build_report(tmp_path)
    assert page == tmp_path / "report.html"
    text = page.read_text(encoding="utf-8")
    for section in ("config", "epochs", "profile", "graph", "health", "plots"):
        assert f'<section id="{section}">' in text
    assert "<td>97.00%</td>" in text  # np.float32 accuracy shown as a percentage
    assert "<td>0.001</td>" in text
    assert "Conv2d   10     5.0" in text
    sources = _parse(page).sources
    assert len(sources) == n_images
    assert "feature%20maps.png" in sources
    for src in sources:
        assert not src.startswith(("/", "file:", "http")), src  # relative links only
        assert (tmp_path / src.replace("%20", " ")).is_file()


def test_report_escapes_all_text(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG fake")
    page = write_report(
        tmp_path,
        config={"<b>key</b>": "<script>alert(1)</script>"},
        epochs=[{"note & <i>": "x\"y"}],
        profile_table="</pre><script>bad()</script>",
        images=[('"><script>img()</script>', "a.png")],
        title="run <1>",
    )
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "<b>" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;/pre&gt;&lt;script&gt;bad()" in text
    assert "<title>run &lt;1&gt;</title>" in text
    assert 'alt="&quot;&gt;&lt;script&gt;img()&lt;/script&gt;"' in text
    _parse(page)


def test_self_contained_report_inlines_every_image(tmp_path):
    page, n_images = _build_report(tmp_path, self_contained=True)
    sources = _parse(page).sources
    assert len(sources) == n_images
    files = {p.read_bytes() for p in tmp_path.rglob("*") if p.suffix in (".png", ".gif", ".svg")}
    for src in sources:
        match = re.fullmatch(r"data:image/(png|gif|svg\+xml);base64,([A-Za-z0-9+/=]+)", src)
        assert match, src[:60]
        assert base64.b64decode(match.group(2)) in files


def test_missing_image_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="report image not found: .*nope.png"):
        write_report(tmp_path, {}, [], images=[("gone", "nope.png")])


def test_dot_source_is_shown_when_graphviz_is_missing(tmp_path):
    (tmp_path / "graph.dot").write_text('digraph { a -> b [label="<x>"] }')
    page = write_report(tmp_path, {}, [], graph_svg="graph.dot")
    text = page.read_text(encoding="utf-8")
    assert "digraph { a -&gt; b [label=&quot;&lt;x&gt;&quot;] }" in text
    assert "apt-get install graphviz" in text
    assert "<img" not in text


def test_empty_report_is_still_valid(tmp_path):
    text = write_report(tmp_path, {}, []).read_text(encoding="utf-8")
    assert "No configuration recorded." in text and "Nothing recorded." in text
    _parse(tmp_path / "report.html")


# ----- headless Chromium (selenium and Debian's chromium-driver; tests/browser.py) -------------


def _load(driver, page: Path) -> dict:
    """Open `page` from disk; return its console errors, images and requested URLs."""
    open_page(driver, file_url(page))
    images = driver.execute_script(
        "return Array.from(document.images, i => [i.src.slice(0, 80), i.complete, i.naturalWidth])")
    return {"errors": console_errors(driver), "images": images,
            "requests": requested_urls(driver)}


@pytest.fixture(scope="module")
def chromium():
    with browser() as driver:
        yield driver


@pytest.mark.parametrize("self_contained", [False, True], ids=["linked", "self-contained"])
def test_report_loads_in_headless_chromium(tmp_path, chromium, self_contained):
    page, n_images = _build_report(tmp_path, self_contained)
    loaded = _load(chromium, page)
    assert loaded["errors"] == []
    assert len(loaded["images"]) == n_images
    for src, complete, natural_width in loaded["images"]:
        assert complete and natural_width > 0, f"image not loaded: {src}"
    # no network: the page and its images come from disk (or are inlined)
    assert loaded["requests"], "no request seen: the Network domain is not reporting"
    for url in loaded["requests"]:
        assert url.startswith(("file://", "data:")), url


def test_chromium_check_sees_console_errors_and_broken_images(tmp_path, chromium):
    """The check above must be able to fail: a broken page is reported as broken."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>b</title>'
                    '</head><body><img src="missing.png" alt="x">'
                    '<script>console.error("boom"); null.x;</script></body></html>')
    loaded = _load(chromium, page)
    assert len(loaded["errors"]) == 3
    assert any("ERR_FILE_NOT_FOUND" in e for e in loaded["errors"])
    assert any(e.endswith('"boom"') for e in loaded["errors"])
    assert any("TypeError" in e for e in loaded["errors"])
    assert loaded["images"][0][2] == 0
