"""The explorer page in headless Chromium: digits drawn as strokes predict what `models/mnist.py
predict` says, the conv-cell numbers and the saliency equal the engine's, the graph tab steps
through the engine's backward, the static page opens from file:// with no network."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from browser import browser, console_errors, file_url, open_page, requested_urls, wait_for
from explorer_digits import ROOT, mnist, sample_digits, trained_seed_model

import tinygrad_cnn as tg
from tinygrad_cnn.data import Normalize
from tinygrad_cnn.datasets.preprocess import load_digit_image
from tinygrad_cnn.explorer import ExplorerApp, conv_cell, make_server, record_backprop, trace
from tinygrad_cnn.explorer.page import grad_graph_svg, graph_svg

SCREENSHOTS = ROOT / "docs" / "img"


@pytest.fixture(scope="module")
def chromium():
    with browser(1280, 1150) as driver:
        yield driver


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A trained seed model, its checkpoint, 10 test digits and the server, on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("explorer")
    model = trained_seed_model()
    checkpoint = folder / "checkpoint.npz"
    kernels = {"0": model[0].weight.data * 0.5, "1": model[0].weight.data}
    tg.save({"model_name": "seed", "model": model.state_dict(), "config": json.dumps({}),
             "kernels": kernels}, checkpoint)
    images, labels, source = sample_digits(10)
    blank = np.zeros((28, 28), np.uint8)
    backprop = record_backprop(model, blank, 0)
    app = ExplorerApp(model, images, labels, list(kernels.values()), graph_svg(backprop),
                      grad_graph_svg=grad_graph_svg(backprop))
    httpd = make_server(app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"model": model, "checkpoint": checkpoint, "images": images, "labels": labels,
           "source": source, "url": f"http://127.0.0.1:{httpd.server_address[1]}/",
           "folder": folder}
    httpd.shutdown()
    httpd.server_close()


def _ready(driver) -> None:
    wait_for(driver, lambda: driver.execute_script(
        "return !!(window.tgExplorer && tgExplorer.ready && tgExplorer.idle() "
        "&& tgExplorer.shown.rows)"))


def _idle_with(driver, script: str) -> None:
    """Wait until the page has no request in flight and `script` (a JS condition) holds."""
    wait_for(driver, lambda: driver.execute_script(f"return tgExplorer.idle() && ({script})"))


def _strokes(image: np.ndarray, scale: int = 10) -> list[tuple[int, int, int, int]]:
    """The digit as horizontal strokes: one per run of ink in each pixel row, canvas coords."""
    strokes = []
    for y, row in enumerate(image > 100):
        x = 0
        while x < 28:
            if row[x]:
                start = x
                while x < 28 and row[x]:
                    x += 1
                strokes.append((start * scale + 5, y * scale + 5, (x - 1) * scale + 5,
                                y * scale + 5))
            x += 1
    return strokes


def _draw(driver, image: np.ndarray) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "tg-clear").click()
    canvas = driver.find_element(By.ID, "tg-draw")
    actions = ActionChains(driver, duration=0)
    for x0, y0, x1, y1 in _strokes(image):  # offsets are from the canvas's centre
        actions.move_to_element_with_offset(canvas, x0 - 140, y0 - 140).click_and_hold()
        actions.move_to_element_with_offset(canvas, x1 - 140, y1 - 140).release()
    actions.perform()


def test_drawn_digits_predict_what_mnist_predict_says(chromium, setup, capsys):
    open_page(chromium, setup["url"])
    _ready(chromium)
    agreed = 0
    for k, image in enumerate(setup["images"]):
        _draw(chromium, image)
        png = chromium.execute_script("return document.getElementById('tg-draw').toDataURL()")
        _idle_with(chromium, f"tgExplorer.lastRequest.png === {json.dumps(png)}")
        shown = int(chromium.find_element("id", "tg-prediction").get_attribute("data-class"))
        seen = np.frombuffer(base64.b64decode(chromium.execute_script(
            "return tgExplorer.lastTrace.raw.image")), np.uint8).reshape(28, 28)
        path = setup["folder"] / f"drawn_{k}.png"
        path.write_bytes(base64.b64decode(png.split(",", 1)[1]))
        np.testing.assert_array_equal(seen, load_digit_image(path))  # the same 28x28 image
        capsys.readouterr()
        assert mnist.main(["predict", str(setup["checkpoint"]), str(path)]) == 0
        predicted = int(capsys.readouterr().out.split(": ", 1)[1].split()[0])
        assert shown == predicted, f"digit {k}: page {shown}, predict {predicted}"
        agreed += int(predicted == setup["labels"][k])
    errors = console_errors(chromium)
    print(errors)
    assert errors == []
    print(f"10 drawn {setup['source']}: page == predict for all; {agreed}/10 match the label")


def _pick_test(driver, index: int) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "tg-tests")).select_by_value(str(index))
    _idle_with(driver, f"tgExplorer.lastRequest.test === {index}")


def test_clicking_a_conv_cell_shows_the_python_numbers(chromium, setup):
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(chromium, setup["url"])
    _ready(chromium)
    _pick_test(chromium, 2)
    expected_trace = trace(setup["model"], setup["images"][2])
    canvas = chromium.find_element("css selector", 'canvas.map[data-layer="0"][data-channel="1"]')
    scale = canvas.size["width"] / 26
    for row, col in ((5, 9), (0, 25), (13, 13)):
        ActionChains(chromium, duration=0).move_to_element_with_offset(
            canvas, (col + 0.5) * scale - canvas.size["width"] / 2,
            (row + 0.5) * scale - canvas.size["height"] / 2).click().perform()
        expected = conv_cell(expected_trace, 0, 1, row, col)
        panel = chromium.find_element("id", "tg-cell")
        assert f"channel 1, cell ({row}, {col})" in panel.text
        for name in ("window", "kernel", "products"):
            cells = panel.find_elements("css selector", f"table.{name} td")
            np.testing.assert_allclose([float(c.text) for c in cells], expected[name].ravel(),
                                       atol=1e-4, err_msg=name)
        value = float(panel.find_element("css selector", ".value").text)
        assert abs(value - expected["value"]) <= 1e-4
        then = [float(b.text) for b in panel.find_elements("css selector", ".then b")]
        np.testing.assert_allclose(then, [v for _, _, v in expected["then"]], atol=1e-4)
        frames = chromium.find_elements("css selector", ".row[data-name=input] .frame")
        assert len(frames) == 1  # the window outlined on the input
    assert console_errors(chromium) == []


def test_backward_view_shows_the_engines_saliency(chromium, setup):
    from selenium.webdriver.support.ui import Select

    open_page(chromium, setup["url"])
    _ready(chromium)
    _pick_test(chromium, 4)
    chromium.find_element("id", "tg-backward").click()
    Select(chromium.find_element("id", "tg-class")).select_by_value("3")
    _idle_with(chromium, "tgExplorer.lastRequest.target === 3 && "
                         "tgExplorer.shown.mode === 'backward'")
    shown = np.array(chromium.execute_script("return tgExplorer.shown.rows[0]"), np.float32)
    image = setup["images"][4]
    expected = trace(setup["model"], image, target=3)
    np.testing.assert_allclose(shown, expected.saliency.ravel(), rtol=1e-6, atol=1e-9)
    model64 = mnist.seed_model()  # the same model in float64, for gradcheck
    model64.load_state_dict(setup["model"].state_dict())
    for p in model64.parameters():
        p.data = p.data.astype(np.float64)
    x = tg.Tensor(Normalize()(image[None, None]).astype(np.float64), requires_grad=True,
                  dtype=np.float64)
    assert tg.gradcheck(lambda t: model64.eval()(t)[:, 3].sum(), [x])
    model64.eval()(x)[:, 3].sum().backward()
    np.testing.assert_allclose(shown, x.grad.data.ravel(), rtol=2e-3, atol=1e-6)
    _screenshot(chromium, setup["folder"], "explorer_backward.png")
    chromium.find_element("id", "tg-forward").click()
    _idle_with(chromium, "tgExplorer.shown.mode === 'forward'")
    chromium.find_element("css selector", 'canvas.map[data-layer="0"][data-channel="0"]').click()
    _screenshot(chromium, setup["folder"], "explorer_forward.png")
    assert console_errors(chromium) == []


def _screenshot(driver, folder: Path, name: str) -> None:
    """The page from its top as a 64-colour PNG at 80% size in docs/img (small: committed).
    Written when missing or with TINYGRAD_CNN_SCREENSHOTS=1, so a test run leaves the
    checkout clean."""
    import os

    from PIL import Image

    driver.execute_script("window.scrollTo(0, 0)")
    source, target = folder / name, SCREENSHOTS / name
    if target.exists() and os.environ.get("TINYGRAD_CNN_SCREENSHOTS") != "1":
        target = folder / f"small_{name}"
    driver.save_screenshot(str(source))
    with Image.open(source) as shot:
        small = shot.convert("RGB").resize((shot.width * 4 // 5, shot.height * 4 // 5))
        small.quantize(64).save(target, optimize=True)


def test_graph_tab_steps_are_the_engines_backward(chromium, setup):
    open_page(chromium, setup["url"])
    _ready(chromium)
    _pick_test(chromium, 1)
    chromium.find_element("id", "tg-tab-graph").click()
    label = int(setup["labels"][1])
    expected = record_backprop(setup["model"], setup["images"][1], label).steps
    for k, step in enumerate(expected):
        chromium.find_element("id", "tg-next").click()
        shown = chromium.execute_script("return tgExplorer.shown.step")
        panel = chromium.find_element("id", "tg-step")
        assert int(panel.get_attribute("data-step")) == k and shown["node"] == step.node
        assert shown["op"] == step.op and f"step {k + 1} of {len(expected)}" in panel.text
        active = chromium.execute_script(
            "const g = document.querySelector('#tg-graph g.node.active');"
            "return g && g.querySelector('title').textContent")
        assert active == f"op{step.node}"
        g = step.grad_out.astype(np.float64)
        assert shown["grad_out"]["norm"] == pytest.approx(float(np.sqrt((g * g).sum())), rel=1e-6)
        assert shown["grad_out"]["mean"] == pytest.approx(float(g.mean()), rel=1e-6, abs=1e-12)
        assert [s["node"] for s in shown["sends"]] == [s.node for s in step.sends]
        for sent, want in zip(shown["sends"], step.sends):
            assert sent["grad"]["max"] == pytest.approx(float(want.grad.max()), rel=1e-6)
            assert sent["leaf"] == want.leaf
            if want.leaf:  # a parameter or the image: its .grad gets this gradient
                assert f"{want.name}.grad accumulated this gradient" in panel.text
    assert console_errors(chromium) == []


def test_graph_tab_shows_the_gradients_graph_on_request(chromium, setup):
    open_page(chromium, setup["url"])
    _ready(chromium)
    chromium.find_element("id", "tg-tab-graph").click()
    assert not chromium.find_element("id", "tg-grad-view").is_displayed()
    chromium.find_element("id", "tg-view-grad").click()
    assert chromium.find_element("id", "tg-grad-view").is_displayed()
    assert not chromium.find_element("id", "tg-loss-view").is_displayed()
    titles = chromium.execute_script(
        "return Array.from(document.querySelectorAll('#tg-grad-graph g.cluster > text'))"
        ".map((t) => t.textContent)")
    assert "Conv2dBackward" in titles and "CrossEntropyBackward" in titles
    chromium.find_element("id", "tg-view-loss").click()
    assert chromium.find_element("id", "tg-loss-view").is_displayed()
    assert console_errors(chromium) == []


def test_static_page_opens_from_file_without_network(chromium, setup, tmp_path):
    out = tmp_path / "explorer.html"
    from tinygrad_cnn.datasets import write_idx

    write_idx(tmp_path / "t10k-images-idx3-ubyte", setup["images"][:3])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", setup["labels"][:3].astype(np.uint8))
    assert mnist.main(["explore", str(setup["checkpoint"]), "--static", str(out), "--images",
                       "3", "--data", str(tmp_path)]) == 0
    open_page(chromium, file_url(out))
    _ready(chromium)
    assert chromium.find_element("id", "tg-drawing").get_attribute("class") == "hidden"
    options = chromium.find_elements("css selector", "#tg-tests option")
    assert len(options) == 4  # "choose…" and the three test images
    expected = trace(setup["model"], setup["images"][0])
    shown = int(chromium.find_element("id", "tg-prediction").get_attribute("data-class"))
    assert shown == expected.prediction
    chromium.find_element("id", "tg-backward").click()
    _idle_with(chromium, "tgExplorer.shown.mode === 'backward'")
    shown = np.array(chromium.execute_script("return tgExplorer.shown.rows[0]"))
    scale = np.abs(expected.saliency).max()  # a static page keeps gradients as float16 * scale
    np.testing.assert_allclose(shown, expected.saliency.ravel(), atol=1e-3 * scale)
    epochs = chromium.find_element("id", "tg-epoch")
    assert epochs.get_attribute("max") == "2"
    assert console_errors(chromium) == []
    urls = requested_urls(chromium)
    assert urls and all(url.startswith(("file://", "data:")) for url in urls), urls


@pytest.mark.parametrize("self_contained", [False, True], ids=["linked", "self-contained"])
def test_report_html_embeds_the_static_explorer(chromium, setup, tmp_path, self_contained):
    from tinygrad_cnn.explorer import write_static
    from tinygrad_cnn.report import write_report

    write_static(tmp_path / "explorer.html", setup["model"], setup["images"][:2],
                 setup["labels"][:2])
    page = write_report(tmp_path, {"model": "seed"}, [], explorer="explorer.html",
                        self_contained=self_contained)
    text = page.read_text(encoding="utf-8")
    assert '<section id="explorer">' in text and "<script" not in text  # scripts stay inside
    open_page(chromium, file_url(page))
    chromium.switch_to.frame(chromium.find_element("css selector", "iframe.explorer"))
    try:
        _ready(chromium)
        shown = int(chromium.find_element("id", "tg-prediction").get_attribute("data-class"))
        assert shown == trace(setup["model"], setup["images"][0]).prediction
    finally:
        chromium.switch_to.default_content()
    assert console_errors(chromium) == []
    urls = requested_urls(chromium)
    assert all(url.startswith(("file://", "data:", "about:")) for url in urls), urls


def test_a_deeper_conv_cell_of_lenet_on_a_static_page(chromium, setup, tmp_path):
    """Six input channels, each window, kernel slice and product shown, then ReLU's value."""
    from selenium.webdriver.common.action_chains import ActionChains

    from tinygrad_cnn.explorer import write_static

    tg.manual_seed(3)
    model = mnist.lenet()
    image = setup["images"][5]
    write_static(tmp_path / "lenet.html", model, image[None], [int(setup["labels"][5])])
    open_page(chromium, file_url(tmp_path / "lenet.html"))
    _ready(chromium)
    canvas = chromium.find_element("css selector", 'canvas.map[data-layer="3"][data-channel="11"]')
    scale = canvas.size["width"] / 8
    ActionChains(chromium, duration=0).move_to_element_with_offset(
        canvas, 6.5 * scale - canvas.size["width"] / 2,
        2.5 * scale - canvas.size["height"] / 2).click().perform()
    expected = conv_cell(trace(model, image), 3, 11, 2, 6)
    panel = chromium.find_element("id", "tg-cell")
    assert "channel 11, cell (2, 6)" in panel.text
    for name in ("window", "kernel", "products"):
        cells = panel.find_elements("css selector", f"table.{name} td")
        np.testing.assert_allclose([float(c.text) for c in cells], expected[name].ravel(),
                                   atol=1e-4, err_msg=name)
    assert abs(float(panel.find_element("css selector", ".value").text) - expected["value"]) <= 1e-4
    assert len(chromium.find_elements("css selector", ".row[data-name='2'] .frame")) == 6
    assert console_errors(chromium) == []
