"""The playground in a real browser: Debian's headless Chromium driven by Playwright.

The server runs as `anima serve` in a subprocess with the small tag index and the tiny random models on
the CPU. The test types like a user: squiggles and their messages, the completion popup and its keys, a
quick fix, format, the tag browser, and a generation that lands in the gallery. It takes the screenshot
shown in the README, which `pytest --update-screenshot` saves as `docs/playground.png`.
"""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_engine._tiny import write_tiny_model

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("ANIMA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "playground.png"
TIMEOUT_MS = 60_000  # generous: the suite may share the machine with much else
INTERACTION_DELAY_MS = 200  # CodeMirror ignores Enter for 75 ms after the popup opens (no accidental picks)


@pytest.fixture(scope="module")
def server(tag_index_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tiny = write_tiny_model(tmp_path_factory.mktemp("tiny-browser"), seed=0)
    loras = tmp_path_factory.mktemp("loras")
    command = [
        sys.executable, "-m", "anima_prompt", "serve", "--port", "0", "--db", str(tag_index_path),
        "--dit", str(tiny.dit), "--text-encoder", str(tiny.text_encoder), "--vae", str(tiny.vae),
        "--tokenizers", str(tiny.tokenizer_dir), "--lora-dir", str(loras), "--device", "cpu",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://\S+", line)
    if found is None:
        process.kill()
        pytest.fail(f"anima serve did not start: {line}{process.stdout.read()}")
    yield found.group().rstrip("/")
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}; install Debian's `chromium` package (.ci/run does)")
    playwright_api.expect.set_options(timeout=TIMEOUT_MS)  # the machine may be busy with other tests
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(server + "/")
    opened.wait_for_selector("body[data-ready=true]")
    yield opened
    context.close()
    assert errors == []


def hover_text(page, container: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Move the mouse over the middle of `text` inside `container` (the first text node holding it)."""
    box = page.evaluate(
        """([container, text]) => {
            const walker = document.createTreeWalker(document.querySelector(container), NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(text);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + text.length);
                const rect = range.getBoundingClientRect();
                return {x: rect.x + rect.width / 2, y: rect.y + rect.height / 2};
            }
            return null;
        }""",
        [container, text],
    )
    assert box is not None, f"{text!r} not found in {container}"
    page.mouse.move(box["x"], box["y"])


def test_squiggles_completion_quick_fix_and_format(  # type: ignore[no-untyped-def]
    page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    page.click("#prompt .cm-content")
    page.keyboard.type("safe, 1girl, long_hair, saber (fate), wlop, hats", delay=15)
    popup = page.locator(".cm-tooltip-autocomplete")
    expect(popup).to_contain_text("hatsune miku")
    expect(page.locator("#prompt .cm-lintRange-warning")).to_have_count(1)
    expect(page.locator("#prompt .cm-lintRange-error")).to_have_count(2)
    update = bool(request.config.getoption("--update-screenshot"))
    page.screenshot(path=str(SCREENSHOT if update else tmp_path / SCREENSHOT.name))

    # Keyboard: arrows move the selection, Esc closes, Enter accepts the canonical form.
    options = popup.locator("li")
    page.wait_for_timeout(INTERACTION_DELAY_MS)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Escape")
    expect(popup).to_have_count(0)
    page.keyboard.type("u")
    expect(popup).to_contain_text("hatsune miku")
    page.wait_for_timeout(INTERACTION_DELAY_MS)
    page.keyboard.press("Enter")
    expect(page.locator("#prompt .cm-content")).to_have_text(
        "safe, 1girl, long_hair, saber (fate), wlop, hatsune miku"
    )

    # The squiggle's message on hover, and its quick fix.
    page.hover("#prompt .cm-lintRange-warning")
    tooltip = page.locator(".cm-tooltip-lint")
    expect(tooltip).to_contain_text("uses underscores")
    # the tag's card comes from the server a moment later and joins the hover tooltip, which is drawn
    # again; clicking before it has come races with that redraw (seen on a busy machine)
    expect(page.locator(".cm-tooltip-hover .tag-title")).to_have_text("long hair")
    tooltip.locator("button", has_text="Replace with `long hair`").click()
    expect(page.locator("#prompt .cm-content")).to_have_text(
        "safe, 1girl, long hair, saber (fate), wlop, hatsune miku"
    )

    # A quick fix from the problems list.
    page.locator("#problems li[data-code='ANM-ART-001'] button", has_text="Insert `@`").click()
    expect(page.locator("#prompt .cm-content")).to_have_text(
        "safe, 1girl, long hair, saber (fate), @wlop, hatsune miku"
    )

    # Format rewrites the prompt in canonical form.
    page.click("#prompt .cm-content")
    page.keyboard.press("End")
    page.keyboard.type(",Blue_Eyes")
    page.keyboard.press("Escape")
    page.click("#format")
    expect(page.locator("#prompt .cm-content")).to_have_text(
        "safe, 1girl, long hair, saber \\(fate\\), @wlop, hatsune miku, blue eyes"
    )
    expect(page.locator("#prompt .cm-lintRange-error")).to_have_count(0)


def test_tag_hover_and_browser(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    page.click("#prompt .cm-content")
    page.keyboard.type("safe, 1girl, very long hair", delay=10)
    page.keyboard.press("Escape")
    hover_text(page, "#prompt .cm-content", "very long")
    expect(page.locator(".tag-card")).to_contain_text("implied by: absurdly long hair")
    page.fill("#tag-search", "long")
    rows = page.locator("#tag-results li")
    expect(rows.first).to_contain_text("long hair")
    rows.first.locator("button").click()
    detail = page.locator("#tag-detail")
    expect(detail).to_contain_text("general")
    expect(detail).to_contain_text("implied by: very long hair")
    expect(detail).not_to_contain_text("null")
    detail.locator("button", has_text="insert into prompt").click()
    expect(page.locator("#prompt .cm-content")).to_have_text("safe, 1girl, very long hair, long hair")


def test_settings_are_linted_and_generation_fills_the_gallery(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    # The variant's model-card settings are the defaults.
    expect(page.locator("#sampler")).to_have_value("er_sde")
    expect(page.locator("#steps")).to_have_value("30")
    page.click("#prompt .cm-content")
    page.keyboard.type("safe, 1girl, smile", delay=10)
    page.keyboard.press("Escape")
    page.fill("#cfg", "12")
    expect(page.locator("#problems li[data-code='ANM-CFG-001']")).to_contain_text("burn")
    page.fill("#cfg", "4.5")
    for name, value in (("width", "32"), ("height", "48"), ("steps", "2"), ("seed", "11")):
        page.fill(f"#{name}", value)
    page.select_option("#sampler", "euler")
    page.click("#generate")
    shot = page.locator("#gallery figure").first
    expect(shot).to_contain_text("32×48 · 2 steps · CFG 4.5 · euler/simple · seed 11", timeout=120_000)
    expect(page.locator("#status")).to_have_text("done")
    assert shot.locator("img").evaluate("image => image.complete && image.naturalWidth") == 32
    assert shot.locator("a", has_text="download").get_attribute("href").endswith("?download=true")
    # Reuse puts the image's prompt and settings back.
    page.fill("#seed", "99")
    shot.locator("button", has_text="reuse settings").click()
    expect(page.locator("#seed")).to_have_value("11")
    expect(page.locator("#prompt .cm-content")).to_have_text("safe, 1girl, smile")


def test_offsets_survive_characters_outside_the_basic_plane(page) -> None:  # type: ignore[no-untyped-def]
    """The browser counts UTF-16 units, the server code points: an emoji before the cursor shifts both."""
    expect = playwright_api.expect
    page.click("#prompt .cm-content")
    page.keyboard.insert_text("🙂 safe, 1girl, long_hair, hats")
    expect(page.locator(".cm-tooltip-autocomplete")).to_contain_text("hatsune miku")
    page.wait_for_timeout(INTERACTION_DELAY_MS)
    page.keyboard.press("Tab")
    expect(page.locator("#prompt .cm-content")).to_have_text("🙂 safe, 1girl, long_hair, hatsune miku")
    squiggle = page.locator("#prompt .cm-lintRange-warning")
    expect(squiggle).to_have_text("long_hair")
