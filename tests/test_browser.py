"""The built leaderboard page in a real headless Chromium, as visitors use it.

Sorting and keyboard, hostile text in every field (page and charts), search and filters, CSV,
URL round trip and row anchors, details, sticky header and columns at phone width, dark mode
and contrast, bidi isolation, chart choice. Screenshots go to pytest's tmp_path.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from avatar_bench.leaderboard import build
from tests.test_leaderboard_fixtures import HOSTILE, HOSTILE_FIELDS, write_fixture_submissions

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

AVATAR, MINI = "board-avatar-avatar", "board-avatar-mini-avatar"
ALL_FIELDS = [HOSTILE, *HOSTILE_FIELDS.values()]


@pytest.fixture(scope="module")
def page_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("board")
    subs = write_fixture_submissions(root / "submissions")
    return build(subs, root / "index.html", build_time="2025-01-31T12:00:00Z")


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1400,900"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


def _viewport(driver, width: int, height: int, dark: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


@pytest.fixture()
def open_page(driver, page_path):
    def go(fragment: str = "", width: int = 1400, height: int = 900, dark: bool = False):
        _viewport(driver, width, height, dark)
        driver.get("about:blank")
        driver.get(page_path.resolve().as_uri() + fragment)
        driver.get_log("browser")  # start each test with an empty console
        return driver
    yield go
    _viewport(driver, 1400, 900)


@pytest.fixture()
def page(open_page):
    return open_page()


def _severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _slugs(driver, section: str) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{section} tbody tr[data-slug]")
    return [r.get_attribute("data-slug") for r in rows]


def _sort(driver, section: str, col: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#{section} th[data-col="{col}"] button').click()


def _aria(driver, section: str, col: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'#{section} th[data-col="{col}"]'
                               ).get_attribute("aria-sort")


def _no_injection(driver) -> None:
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert driver.find_elements(By.CSS_SELECTOR, "main img, main svg svg, [onerror], [onload], "
                                                 "[onmouseover], main script, main b") == []


def test_loads_without_console_errors_and_screenshots(open_page, tmp_path) -> None:
    for name, size in (("desktop", (1400, 900)), ("phone", (390, 844))):
        drv = open_page(width=size[0], height=size[1])
        assert drv.title.startswith("AVATAR leaderboard")
        shot = tmp_path / f"{name}.png"
        assert drv.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert _severe(drv) == []


def test_click_sorts_and_second_click_reverses(page) -> None:
    assert _slugs(page, AVATAR) == ["tavlo-10k", "ez-vsl-10k", "slavc-144k"]
    assert _aria(page, AVATAR, "off_screen.tn") == "none"
    _sort(page, AVATAR, "off_screen.tn")           # TN 96.91, 96.46, 91.18: best first
    assert _slugs(page, AVATAR) == ["ez-vsl-10k", "slavc-144k", "tavlo-10k"]
    assert _aria(page, AVATAR, "off_screen.tn") == "descending"
    assert _aria(page, AVATAR, "rank") == "none"
    _sort(page, AVATAR, "off_screen.tn")
    assert _slugs(page, AVATAR) == ["tavlo-10k", "slavc-144k", "ez-vsl-10k"]
    assert _aria(page, AVATAR, "off_screen.tn") == "ascending"
    assert _severe(page) == []


def test_drop_column_sorts_least_drop_first_and_marks_it_best(page) -> None:
    # mini-a: 27 - 30 = -3; mini-hostile: 20 - 29 = -9. Least drop first.
    _sort(page, MINI, "drop.ciou")
    assert _aria(page, MINI, "drop.ciou") == "ascending"
    assert _slugs(page, MINI) == ["mini-a", "mini-hostile"]
    best = page.find_elements(By.CSS_SELECTOR, f'#{MINI} td.best[data-col="drop.ciou"]')
    assert [c.find_element(By.XPATH, "..").get_attribute("data-slug") for c in best] == [
        "mini-a"]


def test_headers_sort_with_enter_and_space(page) -> None:
    button = page.find_element(By.CSS_SELECTOR, f'#{AVATAR} th[data-col="rank"] button')
    button.send_keys(Keys.ENTER)  # rank ascending -> descending
    assert _slugs(page, AVATAR) == ["slavc-144k", "ez-vsl-10k", "tavlo-10k"]
    button = page.find_element(By.CSS_SELECTOR, f'#{MINI} th[data-col="single_sound.ciou"] '
                                                'button')
    button.send_keys(Keys.SPACE)
    assert _slugs(page, MINI) == ["mini-hostile", "mini-a"]
    assert _aria(page, MINI, "single_sound.ciou") == "descending"
    assert _severe(page) == []


def test_hostile_text_in_every_field_is_text_in_the_page(page) -> None:
    row = page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-hostile"]')
    assert row.find_element(By.CSS_SELECTOR, ".model-name").text == HOSTILE
    meta = row.find_element(By.CSS_SELECTOR, ".meta").text
    assert HOSTILE_FIELDS["authors"] in meta and HOSTILE_FIELDS["training_data"] in meta
    link = row.find_element(By.CSS_SELECTOR, ".model-name a").get_attribute("href")
    assert link == "https://example.org/a?b=1&c=2"
    row.find_element(By.CSS_SELECTOR, "button.expand").click()
    details = page.find_element(By.CSS_SELECTOR, f'#{MINI}--mini-hostile--details').text
    assert HOSTILE_FIELDS["notes"].split("\n")[0] in details and "second line" in details
    _no_injection(page)


def test_hostile_text_in_the_charts_is_text(page) -> None:
    titles = page.execute_script(
        "return Array.from(document.querySelectorAll('#" + MINI + " .chart text > title'))"
        ".map(t => t.textContent)")
    assert titles.count(HOSTILE) == 2              # bar legend + dumbbell label
    texts = page.execute_script(
        "return Array.from(document.querySelectorAll('#" + MINI + " .chart text'))"
        ".map(t => t.firstChild.textContent)")
    assert any(t.startswith("<img") for t in texts)
    _no_injection(page)


def test_every_submitted_string_is_bidi_isolated(page) -> None:
    page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-hostile"] button.expand'
                      ).click()
    found = page.execute_script("""
        const wanted = arguments[0], out = {};
        const walker = document.createTreeWalker(document.querySelector('main'),
                                                 NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const text = n.textContent;
          if (!wanted.some(w => text.includes(w.split('\\n')[0]))) continue;
          if (n.parentElement.closest('title')) continue;   // tooltips are not laid out
          let e = n.parentElement, iso = false;
          for (let i = 0; i < 3 && e; i++, e = e.parentElement) {
            const ub = getComputedStyle(e).unicodeBidi;
            if (ub === 'isolate' || ub === 'plaintext' || ub === 'isolate-override') iso = true;
          }
          out[text] = (out[text] || true) && iso;
        }
        return out;""", ALL_FIELDS)
    assert len(found) >= len(ALL_FIELDS)
    assert [k for k, v in found.items() if not v] == []


def test_search_matches_name_authors_and_organisation(page) -> None:
    box = page.find_element(By.CSS_SELECTOR, "input[type=search]#search")
    box.send_keys("mini model")
    assert _slugs(page, MINI) == ["mini-a"] and _slugs(page, AVATAR) == []
    assert "No model" in page.find_element(By.CSS_SELECTOR, f"#{AVATAR} .shown").text
    box.clear()
    box.send_keys("HYPERLINK")                     # authors of the hostile entry
    assert _slugs(page, MINI) == ["mini-hostile"]
    box.clear()
    box.send_keys("\u0645\u062e\u062a\u0628\u0631")  # its organisation (Arabic)
    assert _slugs(page, MINI) == ["mini-hostile"]
    assert _severe(page) == []


def test_filters_source_kind_training_protocol(page) -> None:
    Select(page.find_element(By.ID, "f-source")).select_by_value("reported")
    assert _slugs(page, MINI) == [] and len(_slugs(page, AVATAR)) == 3
    Select(page.find_element(By.ID, "f-source")).select_by_value("")
    Select(page.find_element(By.ID, "f-kind")).select_by_value("reference")
    assert _slugs(page, MINI) == [] and _slugs(page, AVATAR) == []
    Select(page.find_element(By.ID, "f-kind")).select_by_value("trained")
    Select(page.find_element(By.ID, "f-training")).select_by_value(
        HOSTILE_FIELDS["training_data"])
    assert _slugs(page, MINI) == ["mini-hostile"] and _slugs(page, AVATAR) == []
    Select(page.find_element(By.ID, "f-training")).select_by_value("")
    Select(page.find_element(By.ID, "f-protocol")).select_by_value("legacy")
    assert _slugs(page, MINI) == [] and _slugs(page, AVATAR) == []
    _no_injection(page)


def test_csv_is_the_visible_table_in_its_order(page) -> None:
    _sort(page, AVATAR, "off_screen.tn")
    Select(page.find_element(By.ID, "board-select")).select_by_value(AVATAR)
    rows = list(csv.DictReader(io.StringIO(page.execute_script(
        "return window.avatarLeaderboard.csv()"))))
    assert [r["slug"] for r in rows] == ["ez-vsl-10k", "slavc-144k", "tavlo-10k"]
    assert [r["off_screen.tn"] for r in rows] == ["96.91", "96.46", "91.18"]
    assert rows[2]["total.ciou"] == "13.37" and rows[0]["total.ciou"] == ""
    Select(page.find_element(By.ID, "board-select")).select_by_value(MINI)
    rows = list(csv.DictReader(io.StringIO(page.execute_script(
        "return window.avatarLeaderboard.csv()"))))
    hostile = next(r for r in rows if r["slug"] == "mini-hostile")
    assert hostile["model"] == HOSTILE
    assert hostile["authors"] == "'" + HOSTILE_FIELDS["authors"]   # no spreadsheet formula
    assert hostile["total.ciou.ci_low"] == "27" and hostile["drop.ciou"] == "-9"
    seeds = {r["slug"]: r["training_seed"] for r in rows}
    assert seeds == {"mini-a": "0", "mini-hostile": ""}     # a seed of 0 is not "none"
    page.find_element(By.ID, "dl-csv").click()
    assert _severe(page) == []


def test_json_and_bibtex_downloads(page) -> None:
    entries = json.loads(page.execute_script("return window.avatarLeaderboard.json()"))
    assert {e["slug"] for e in entries} == {"mini-a", "mini-hostile", "slavc-144k",
                                            "ez-vsl-10k", "tavlo-10k"}
    page.find_element(By.ID, "dl-bib").click()
    bib = page.find_element(By.ID, "bibtex")
    assert bib.is_displayed() and "@inproceedings{choi2025avatar" in bib.text
    assert _severe(page) == []


def test_view_round_trips_through_the_url(page, open_page) -> None:
    page.find_element(By.ID, "search").send_keys("model")
    Select(page.find_element(By.ID, "f-source")).select_by_value("reproduced")
    Select(page.find_element(By.ID, "board-select")).select_by_value(MINI)
    _sort(page, MINI, "single_sound.ciou")
    _sort(page, MINI, "single_sound.ciou")          # ascending
    url = page.current_url
    assert "#" in url and "q=model" in url and "source=reproduced" in url
    drv = open_page(fragment="#" + url.split("#", 1)[1])
    assert drv.find_element(By.ID, "search").get_attribute("value") == "model"
    assert Select(drv.find_element(By.ID, "f-source")).first_selected_option.get_attribute(
        "value") == "reproduced"
    assert not drv.find_element(By.ID, AVATAR).is_displayed()
    assert _aria(drv, MINI, "single_sound.ciou") == "ascending"
    assert _slugs(drv, MINI) == ["mini-a"]
    assert _severe(drv) == []


def test_row_anchor_opens_on_that_row(open_page) -> None:
    drv = open_page(fragment=f"#{MINI}--mini-a")
    row = drv.find_element(By.ID, f"{MINI}--mini-a")
    assert "target" in row.get_attribute("class")
    href = row.find_element(By.CSS_SELECTOR, "td.rank a").get_attribute("href")
    assert href.endswith(f"#{MINI}--mini-a")


def test_details_show_provenance(page) -> None:
    row = page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-a"]')
    button = row.find_element(By.CSS_SELECTOR, "button.expand")
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    text = page.find_element(By.ID, f"{MINI}--mini-a--details").text
    for want in ("Predictions sha256", "ab" * 32, "Thresholds", "main 0.5", "mini-v1-seed0-n60",
                 "8cc62df6f7a15034b03be87ca6fb0549a0b42e69f7e07fe1769d7e238ee6d794",
                 "avatar-bench", "0.1.0", "Verification", "reproduced", "Training seed\n0"):
        assert want in text, want
    page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-a"] button.expand').click()
    assert page.find_elements(By.ID, f"{MINI}--mini-a--details") == []


def test_chart_models_are_chosen_by_the_visitor(page) -> None:
    def legend() -> list[str]:
        return page.execute_script(
            "return Array.from(document.querySelectorAll('#" + MINI + " [data-chart=bars] "
            "text > title')).map(t => t.textContent)")

    assert legend() == ["Mini Model A", HOSTILE]
    page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-a"] .pick input').click()
    assert legend() == [HOSTILE]
    fills = page.execute_script(
        "return Array.from(document.querySelectorAll('#" + AVATAR + " [data-chart=bars] rect'))"
        ".map(r => getComputedStyle(r).fill)")
    assert fills and "rgb(240, 228, 66)" not in fills  # no faint yellow (#F0E442)


_STICKY = """
const wrap = document.querySelector('#%s .table-wrap');
wrap.scrollIntoView();
wrap.scrollTop = 200; wrap.scrollLeft = 400;
const w = wrap.getBoundingClientRect();
const head = wrap.querySelector('thead th[data-col="single_sound.ciou"]').getBoundingClientRect();
const rank = wrap.querySelector('tbody td.rank').getBoundingClientRect();
const model = wrap.querySelector('tbody th.model').getBoundingClientRect();
return [w.top, w.left, head.top, rank.left, model.left, rank.right, wrap.scrollLeft];
"""


def test_sticky_header_and_columns_at_phone_width(open_page, tmp_path) -> None:
    drv = open_page(width=390, height=844)
    top, left, head_top, rank_left, model_left, rank_right, scrolled = drv.execute_script(
        _STICKY % MINI)
    assert scrolled > 0
    assert top <= head_top <= top + 60          # the column header stays at the top
    assert abs(rank_left - left) <= 2            # Rank stays at the left edge
    assert abs(model_left - rank_right) <= 2     # Model right beside it
    assert drv.execute_script("return document.documentElement.scrollWidth") <= 390
    drv.save_screenshot(str(tmp_path / "phone-sticky.png"))


_CONTRAST = """
function rgba(s) { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2],
  m.length > 3 ? m[3] : 1]; }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92
  : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1])
  + 0.0722 * f(c[2]); }
function bg(e) { for (; e; e = e.parentElement) { const c = rgba(getComputedStyle(e)
  .backgroundColor); if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; }
const bad = [];
for (const e of document.querySelectorAll('body *')) {
  if (e.closest('svg, .sr-only, noscript, script, style') || !e.getClientRects().length) continue;
  if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const st = getComputedStyle(e); if (st.visibility === 'hidden') continue;
  const fg = rgba(st.color), b = bg(e);
  const mix = fg.slice(0, 3).map((v, i) => v * fg[3] + b[i] * (1 - fg[3]));
  const l1 = lum(mix), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  if (ratio < 4.5) bad.push(e.tagName + '.' + e.className + ': ' + ratio.toFixed(2) + ' "'
    + e.textContent.trim().slice(0, 30) + '"');
}
return [bad, getComputedStyle(document.body).backgroundColor];
"""


@pytest.mark.parametrize("dark", [False, True])
def test_text_contrast_and_dark_mode(open_page, dark, tmp_path) -> None:
    drv = open_page(dark=dark)
    for slug in ("mini-a", "mini-hostile"):
        drv.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="{slug}"] button.expand').click()
    bad, body = drv.execute_script(_CONTRAST)
    assert bad == []
    channels = [int(v) for v in body[body.index("(") + 1:body.index(")")].split(",")[:3]]
    assert (sum(channels) < 150) == dark
    drv.save_screenshot(str(tmp_path / f"contrast-{'dark' if dark else 'light'}.png"))


def test_selector_shows_one_ranking(page) -> None:
    Select(page.find_element(By.ID, "board-select")).select_by_value(MINI)
    assert not page.find_element(By.ID, AVATAR).is_displayed()
    assert page.find_element(By.ID, MINI).is_displayed()
    Select(page.find_element(By.ID, "board-select")).select_by_value("all")
    assert page.find_element(By.ID, AVATAR).is_displayed()
    assert _severe(page) == []


def test_many_rows_are_paged_and_search_spans_pages(driver, tmp_path) -> None:
    """120 rows: 50 per page, Next shows the next 50; a search finds a row on page 3."""
    import copy as _copy

    from tests.test_leaderboard_fixtures import fixture_entries

    meta, res = fixture_entries()["mini-a"]
    subs = tmp_path / "subs"
    for k in range(120):
        m, r = _copy.deepcopy(meta), _copy.deepcopy(res)
        m["name"] = f"Model {k:03d}"
        r["metrics"]["total"]["ciou"] = 60.0 - k * 0.5
        r["metrics"]["total"]["ci"]["ciou"] = [59.9 - k * 0.5, 60.1 - k * 0.5]
        folder = subs / f"m{k:03d}"
        folder.mkdir(parents=True)
        (folder / "submission.json").write_text(json.dumps(m))
        (folder / "results.json").write_text(json.dumps(r))
    page = build(subs, tmp_path / "index.html", build_time="2025-01-31T12:00:00Z")
    _viewport(driver, 1400, 900)
    driver.get(page.resolve().as_uri())
    assert _slugs(driver, MINI) == [f"m{k:03d}" for k in range(50)]
    assert "Showing 1\u201350 of 120" in driver.find_element(By.CSS_SELECTOR, ".shown").text
    driver.find_element(By.XPATH, "//nav[@class='pager']/button[contains(., 'Next')]").click()
    assert _slugs(driver, MINI) == [f"m{k:03d}" for k in range(50, 100)]
    driver.find_element(By.ID, "search").send_keys("Model 117")
    assert _slugs(driver, MINI) == ["m117"]
    driver.get(page.resolve().as_uri() + f"#{MINI}--m110")
    assert "target" in driver.find_element(By.ID, f"{MINI}--m110").get_attribute("class")
    assert _severe(driver) == []


def test_recorded_verification_shows_in_row_and_details(driver, tmp_path) -> None:
    from avatar_bench.leaderboard import load_submissions, render, resolve_build_time

    subs = load_submissions(write_fixture_submissions(tmp_path / "subs"))
    record = {"checked": "2025-01-30", "avatar_bench_version": "0.1.0", "entries": {
        "mini-a": {"status": "verified", "n_values": 82, "predictions_sha256": "ab" * 32},
        "mini-hostile": {"status": "mismatch", "n_values": 82, "predictions_sha256": "cd" * 32}}}
    page = tmp_path / "index.html"
    page.write_text(render(subs, build_time=resolve_build_time("2025-01-31T12:00:00Z"),
                           verification=record), encoding="utf-8")
    _viewport(driver, 1400, 900)
    driver.get(page.resolve().as_uri())
    row = driver.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-a"]')
    assert row.find_element(By.CSS_SELECTOR, ".badge.verified").text == "verified"
    # mini-hostile's record names another file than the entry cites: not shown.
    assert driver.find_elements(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-hostile"] '
                                                 '.badge.mismatch') == []
    row.find_element(By.CSS_SELECTOR, "button.expand").click()
    text = driver.find_element(By.ID, f"{MINI}--mini-a--details").text
    assert "verified on 2025-01-30 with avatar-bench 0.1.0" in text and "all 82" in text
    assert _severe(driver) == []


def _retype(box, text: str) -> None:
    """Replace an input's text the way a user does (clear() fires no input event)."""
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    if text:
        box.send_keys(text)


def test_range_filters_on_params_training_size_and_date(page, open_page) -> None:
    page.find_element(By.CSS_SELECTOR, "details.more summary").click()
    smax = page.find_element(By.ID, "f-smax")
    smax.send_keys("1k")                               # only the hostile entry has 500 clips
    assert _slugs(page, MINI) == ["mini-hostile"] and _slugs(page, AVATAR) == []
    assert "smax=1k" in page.current_url
    drv = open_page(fragment="#" + page.current_url.split("#", 1)[1])
    assert drv.find_element(By.ID, "f-smax").get_attribute("value") == "1k"
    assert _slugs(drv, MINI) == ["mini-hostile"]
    drv.find_element(By.ID, "reset").click()
    assert drv.find_element(By.CSS_SELECTOR, "details.more").get_attribute("open") is not None
    drv.find_element(By.ID, "f-pmin").send_keys("30M")  # every fixture has 23.5M
    assert _slugs(drv, MINI) == [] and _slugs(drv, AVATAR) == []
    _retype(drv.find_element(By.ID, "f-pmin"), "")
    drv.find_element(By.ID, "f-dto").send_keys("2025-06")
    assert _slugs(drv, MINI) == []                      # all are dated 2025-07-01
    _retype(drv.find_element(By.ID, "f-dto"), "2025-07")
    assert len(_slugs(drv, MINI)) == 2
    bad = drv.find_element(By.ID, "f-dfrom")
    bad.send_keys("July")
    assert bad.get_attribute("aria-invalid") == "true" and len(_slugs(drv, MINI)) == 2
    assert _severe(drv) == []


def test_row_link_clicked_on_the_page_keeps_the_view(page) -> None:
    _sort(page, MINI, "single_sound.ciou")                  # mini-hostile first
    page.find_element(By.CSS_SELECTOR, f'#{MINI} tr[data-slug="mini-a"] td.rank a').click()
    assert page.current_url.endswith(f"#{MINI}--mini-a")
    assert _slugs(page, MINI) == ["mini-hostile", "mini-a"]  # still sorted as chosen
    assert "target" in page.find_element(By.ID, f"{MINI}--mini-a").get_attribute("class")
    assert _severe(page) == []
