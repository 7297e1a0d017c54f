"""The built leaderboard page in a real headless Chromium: sorting, keyboard, XSS, sections."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from avatar_bench.leaderboard import build
from tests.test_leaderboard_fixtures import HOSTILE, write_fixture_submissions

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip("chromium + chromium-driver not installed: apt-get install chromium "
                "chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module")
def page_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("board")
    subs = write_fixture_submissions(root / "submissions")
    return build(subs, root / "index.html", build_time="2025-01-31T12:00:00Z")


@pytest.fixture(scope="module")
def driver(page_path, tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1500,1900"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture()
def page(driver, page_path):
    driver.get(page_path.resolve().as_uri())
    driver.get_log("browser")  # start each test with an empty console
    return driver


def _severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _slugs(driver, section: str) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{section} tbody tr")
    return [r.get_attribute("data-slug") for r in rows]


def _header(driver, section: str, col: str):
    return driver.find_element(By.CSS_SELECTOR, f'#{section} th[data-col="{col}"]')


AVATAR, MINI = "board-avatar-avatar", "board-avatar-mini-avatar"


def test_loads_without_console_errors_and_saves_a_screenshot(driver, page_path, tmp_path):
    driver.get(page_path.resolve().as_uri())
    assert driver.title.startswith("AVATAR leaderboard")
    assert _severe(driver) == []
    shot = tmp_path / "leaderboard.png"
    assert driver.save_screenshot(str(shot))
    shutil.copy(shot, "/tmp/leaderboard.png")
    assert shot.stat().st_size > 20_000


def test_click_sorts_and_second_click_reverses(page):
    assert _slugs(page, AVATAR) == ["tavlo-10k", "ez-vsl-10k", "slavc-144k"]
    th = _header(page, AVATAR, "off_screen.tn")
    assert th.get_attribute("aria-sort") == "none"
    th.find_element(By.TAG_NAME, "button").click()
    assert _slugs(page, AVATAR) == ["ez-vsl-10k", "slavc-144k", "tavlo-10k"]  # TN, best first
    assert th.get_attribute("aria-sort") == "descending"
    assert _header(page, AVATAR, "rank").get_attribute("aria-sort") == "none"
    th.find_element(By.TAG_NAME, "button").click()
    assert _slugs(page, AVATAR) == ["tavlo-10k", "slavc-144k", "ez-vsl-10k"]
    assert th.get_attribute("aria-sort") == "ascending"
    assert _severe(page) == []


def test_headers_are_reachable_with_tab_and_sort_with_enter_and_space(page):
    page.find_element(By.ID, "board-select").click()
    page.find_element(By.ID, "board-select").send_keys(Keys.ESCAPE)
    page.switch_to.active_element.send_keys(Keys.TAB)
    focused = page.switch_to.active_element
    assert focused.tag_name == "button"
    assert focused.find_element(By.XPATH, "..").get_attribute("data-col") == "rank"
    focused.send_keys(Keys.ENTER)  # rank ascending -> descending
    assert _slugs(page, AVATAR) == ["slavc-144k", "ez-vsl-10k", "tavlo-10k"]
    assert _header(page, AVATAR, "rank").get_attribute("aria-sort") == "descending"

    assert _slugs(page, MINI) == ["mini-a", "mini-hostile"]
    button = _header(page, MINI, "single_sound.ciou").find_element(By.TAG_NAME, "button")
    button.send_keys(Keys.SPACE)
    assert page.switch_to.active_element == button
    assert _slugs(page, MINI) == ["mini-hostile", "mini-a"]
    assert _header(page, MINI, "single_sound.ciou").get_attribute("aria-sort") == "descending"
    assert _severe(page) == []


def test_hostile_name_renders_as_text_and_never_runs(page):
    cell = page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-hostile"] .model-name')
    assert cell.text == HOSTILE
    assert page.execute_script("return typeof window.__xss") == "undefined"
    assert page.find_elements(By.TAG_NAME, "img") == []
    assert page.find_elements(By.CSS_SELECTOR, "[onerror]") == []


def test_datasets_are_separate_rankings_with_a_selector(page):
    assert set(_slugs(page, AVATAR)) == {"tavlo-10k", "ez-vsl-10k", "slavc-144k"}
    assert set(_slugs(page, MINI)) == {"mini-a", "mini-hostile"}
    ranks = page.find_elements(By.CSS_SELECTOR, f"#{MINI} td.rank")
    assert [r.get_attribute("data-value") for r in ranks] == ["1", "1"]
    Select(page.find_element(By.ID, "board-select")).select_by_value(MINI)
    assert not page.find_element(By.ID, AVATAR).is_displayed()
    assert page.find_element(By.ID, MINI).is_displayed()
    Select(page.find_element(By.ID, "board-select")).select_by_value("all")
    assert page.find_element(By.ID, AVATAR).is_displayed()
    assert _severe(page) == []
