"""The html page in a real headless browser (Debian's chromium and chromedriver, which
.ci/run installs): it loads, the graph is visible, a click on a node shows its values."""

from __future__ import annotations

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
