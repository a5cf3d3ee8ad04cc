"""The html page in a real headless browser (Debian's chromium and chromedriver, which
.ci/run installs): it loads, the graph is visible, a click on a node shows its values."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import tinygrad_ce as tg
from tests.system import which
from tinygrad_ce import nn
from tinygrad_ce.nn import functional as F
from tinygrad_ce.viz import draw_graph, render
from tinygrad_ce.viz.dot import page_text
from tinygrad_ce.viz.rules import rule_of

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = which("chromium", "chromium-browser", debian="chromium")
    profile = tmp_path / "profile"
    profile.mkdir()
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver_path = which("chromedriver", debian="chromium-driver")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_html_page_shows_a_clicked_nodes_value_and_gradient(browser: webdriver.Chrome,
                                                           tmp_path: Path) -> None:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    x = tg.Tensor(np.array([[0.5, -1.0], [2.0, 0.25]], np.float32), name="x")
    loss = F.cross_entropy(model(x), tg.tensor([0, 1]))
    loss.backward()
    g = draw_graph(loss, model=model, title="browser check")
    page = render(g, tmp_path / "graph.html")
    browser.get(page.as_uri())

    svg = browser.find_element(By.CSS_SELECTOR, "#view svg")
    assert svg.is_displayed() and svg.size["width"] > 300 and svg.size["height"] > 300
    nodes = browser.find_elements(By.CSS_SELECTOR, "#view g.node")
    assert len(nodes) == len(g.node_data)
    browser.find_element(By.ID, "zoom-fit").click()  # the page opens zoomed on the output

    # click the first layer's weight: its full value and gradient appear in the panel
    weight = model[0].weight
    target = next(n for n in nodes if "0.weight" in n.text)
    assert target.is_displayed()
    ActionChains(browser).move_to_element(target).click().perform()
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "node-title").text == "0.weight")
    meta = browser.find_element(By.ID, "node-meta").text
    assert "parameter" in meta and "shape (3, 2)" in meta and "float32" in meta
    shown_data = browser.find_element(By.ID, "node-data").get_attribute("textContent")
    shown_grad = browser.find_element(By.ID, "node-grad").get_attribute("textContent")
    assert shown_data == page_text(weight.numpy())
    assert shown_grad == page_text(weight.grad.numpy())
    assert "selected" in target.get_attribute("class")

    # zoom, pan and fit
    def view_box() -> list[float]:
        return [float(v) for v in svg.get_dom_attribute("viewBox").split()]

    home = view_box()
    browser.find_element(By.ID, "zoom-in").click()
    zoomed = view_box()
    assert zoomed[2] < home[2] and zoomed[3] < home[3]
    view = browser.find_element(By.ID, "view")
    ActionChains(browser).move_to_element_with_offset(view, 10, 200).click_and_hold() \
        .move_by_offset(120, 0).release().perform()
    assert view_box()[0] < zoomed[0]  # dragged right: the view moved left
    browser.find_element(By.ID, "zoom-fit").click()
    assert view_box() == pytest.approx(home, abs=1e-2)

    # find a node by name: the view centres on it and the panel shows it
    find = browser.find_element(By.ID, "find")
    find.send_keys("2.bias" + Keys.ENTER)
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "node-title").text == "2.bias")
    assert browser.find_element(By.ID, "node-grad").get_attribute("textContent") == page_text(
        model[2].bias.grad.numpy())
    found = browser.find_elements(By.CSS_SELECTOR, "#view g.node.found")
    assert len(found) == 1
    name = found[0].find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert g.node_data[name]["title"] == "2.bias"
    inside = browser.execute_script(
        "const n = arguments[0].getBoundingClientRect(), v = arguments[1].getBoundingClientRect();"
        "return n.left >= v.left && n.right <= v.right && n.top >= v.top && n.bottom <= v.bottom"
        " && n.width > 40;", found[0], view)
    assert inside, "the found node is not shown in the view"

    shot = tmp_path / "graph.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def _visible_label_heights(browser: webdriver.Chrome) -> list[float]:
    return browser.execute_script(
        "const v = document.getElementById('view').getBoundingClientRect();"
        "return Array.from(document.querySelectorAll('#view g.node text')).map((t) =>"
        " t.getBoundingClientRect()).filter((b) => b.width > 0 && b.left >= v.left &&"
        " b.right <= v.right && b.top >= v.top && b.bottom <= v.bottom).map((b) => b.height);")


def _inside_view(browser: webdriver.Chrome, element) -> bool:
    return browser.execute_script(
        "const n = arguments[0].getBoundingClientRect(),"
        " v = document.getElementById('view').getBoundingClientRect();"
        "return n.left >= v.left && n.right <= v.right && n.top >= v.top && n.bottom <= v.bottom"
        " && n.width > 0;", element)


def _node(browser: webdriver.Chrome, name: str):
    return next(n for n in browser.find_elements(By.CSS_SELECTOR, "#view g.node")
                if n.find_element(By.TAG_NAME, "title").get_attribute("textContent") == name)


def test_stepping_through_the_backward_pass_follows_the_engine(browser: webdriver.Chrome,
                                                              tmp_path: Path) -> None:
    x = tg.Tensor(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], np.float32),
                  requires_grad=True, name="logits")
    loss = F.cross_entropy_unfused(x, tg.Tensor(np.array([0, 1]), name="target"))
    loss.name = "loss"
    g = draw_graph(loss, steps=True)
    browser.get(render(g, tmp_path / "steps.html").as_uri())
    # the engine's order: the reverse of its topological order, ops only
    engine = [t for t in reversed(tg.autograd.topological_order([loss])) if t.parents]
    assert len(g.steps) == len(engine)
    by_name = {t.name: t for t in engine}
    for k in range(3):
        browser.find_element(By.ID, "step-next").click()
        WebDriverWait(browser, 10).until(lambda d, k=k: d.find_element(
            By.ID, "step-info").text == f"step {k + 1} of {len(engine)}")
        lit = browser.find_elements(By.CSS_SELECTOR, "#view g.node.step-node")
        assert len(lit) == 1
        name = lit[0].find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert g.node_data[name]["title"] == engine[k].name  # the node the engine runs
        assert _inside_view(browser, lit[0])
        t = by_name[engine[k].name]
        (expected,) = tg.autograd.grad(loss, t, retain_graph=True)
        arrived = browser.find_element(By.ID, "step-arrived").get_attribute("textContent")
        assert arrived == page_text(expected.numpy())
        rule = browser.find_element(By.ID, "step-rule").get_attribute("textContent")
        assert rule and rule == rule_of(t.op)
        # the gradient sent to the input: the input's own gradient when it has one use
        sent = browser.find_element(By.ID, "step-sent-0").get_attribute("textContent")
        inp = next(p for p in t.parents if p.requires_grad)
        (g_in,) = tg.autograd.grad(loss, inp, retain_graph=True)
        if sum(1 for s in engine for p in s.parents if p is inp) == 1:
            assert sent == page_text(g_in.numpy())
    browser.find_element(By.ID, "step-prev").click()
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "step-info").text == f"step 2 of {len(engine)}")
    lit = browser.find_element(By.CSS_SELECTOR, "#view g.node.step-node")
    assert g.node_data[lit.find_element(By.TAG_NAME, "title").get_attribute(
        "textContent")]["title"] == engine[1].name
    shot = tmp_path / "steps.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_the_page_opens_readable_on_the_output_and_folds_a_module(browser: webdriver.Chrome,
                                                                  tmp_path: Path) -> None:
    tg.manual_seed(0)
    model = nn.MLP(2, (16, 16, 16), 3)
    x = tg.Tensor(np.ones((8, 2), np.float32), name="x")
    loss = F.cross_entropy_unfused(model(x), tg.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    loss.name = "loss"
    loss.backward()
    g = draw_graph(loss, model=model)
    browser.get(render(g, tmp_path / "graph.html").as_uri())
    heights = sorted(_visible_label_heights(browser))
    assert heights and heights[len(heights) // 2] >= 11  # px: no 6-7 px labels
    output = next(k for k, d in g.node_data.items() if d["kind"] == "output")
    assert _inside_view(browser, _node(browser, output))
    # what the picture leaves out is said beside it
    notes = browser.find_element(By.ID, "notes")
    assert notes.is_displayed() and "keep_graph()" in notes.text
    # a click on a module's box folds it into one box; another opens it
    layer = next(c for c, d in g.clusters.items() if d["label"].startswith("2: Linear"))
    member = g.clusters[layer]["members"][0]
    box = next(c for c in browser.find_elements(By.CSS_SELECTOR, "#view g.cluster")
               if c.find_element(By.TAG_NAME, "title").get_attribute("textContent") == layer)
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', "
                           "{bubbles: true}))", box)
    assert "folded" in box.get_attribute("class")
    assert not _node(browser, member).is_displayed()
    assert "folded" in box.find_element(By.TAG_NAME, "text").get_attribute("textContent")
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', "
                           "{bubbles: true}))", box)
    assert "folded" not in box.get_attribute("class")
    assert browser.execute_script("return getComputedStyle(arguments[0]).display",
                                  _node(browser, member)) != "none"


def test_a_5000_node_graph_makes_a_page_that_opens_folded_and_readable(
        browser: webdriver.Chrome, tmp_path: Path, capsys) -> None:
    tg.manual_seed(0)
    layers: list = []
    for _ in range(640):
        layers += [nn.Linear(8, 8), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(8, 3))
    x = tg.Tensor(np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32), name="x")
    loss = F.cross_entropy_unfused(model(x), tg.tensor(np.arange(16) % 3))
    loss.backward()
    start = time.perf_counter()
    g = draw_graph(loss, model=model, max_nodes=None)
    path = render(g, tmp_path / "big.html")
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    assert len(g.node_data) >= 5000
    assert seconds < 60 and size < 15e6
    start = time.perf_counter()
    browser.get(path.as_uri())
    opened = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n{len(g.node_data)}-node page: drawn and rendered in {seconds:.1f} s, "
              f"{size / 1e6:.1f} MB, opened in {opened:.1f} s")
    assert browser.find_elements(By.CSS_SELECTOR, "#view g.cluster.folded")
    heights = sorted(_visible_label_heights(browser))
    assert heights and heights[len(heights) // 2] >= 11
    output = next(k for k, d in g.node_data.items() if d["kind"] == "output")
    assert _inside_view(browser, _node(browser, output))
