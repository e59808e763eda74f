"""The README's screenshots and docs/screenshots/ agree, without a browser: every image the README shows is there,
every PNG there is shown, and they are the ones `make screenshots` (scripts/screenshots.py) takes, phone-sized and
light. Taking the screenshots needs Chromium and a minute; this catches a renamed shot, a forgotten file or a
stale image at once."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.browser import VIEWPORTS, context_options

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "screenshots"
# An image's path in the README, in an <img src>, an <a href> or a Markdown link: up to a quote, bracket or space.
REFERENCE = re.compile(r"docs/screenshots/([^\"')\s>]+)")


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _referenced() -> set[str]:
    return set(REFERENCE.findall(_readme()))


def _on_disk() -> set[str]:
    return {path.name for path in FOLDER.glob("*.png")}


@pytest.fixture(scope="module")
def script():
    """scripts/screenshots.py as a module (it is a script, not a package), for its list of shots and its limits."""
    spec = importlib.util.spec_from_file_location("screenshots_script", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_every_image_the_readme_shows_exists():
    referenced = _referenced()
    assert referenced, "the README shows no screenshot from docs/screenshots/"
    missing = sorted(name for name in referenced if not (FOLDER / name).is_file())
    assert not missing, f"the README shows images that are not in docs/screenshots/: {missing}"


def test_every_screenshot_is_shown_in_the_readme():
    unshown = sorted(_on_disk() - _referenced())
    assert not unshown, f"PNGs in docs/screenshots/ that the README does not show (remove or show them): {unshown}"


def test_the_readme_says_how_to_regenerate_them():
    assert "make screenshots" in _readme()


def test_the_screenshots_are_the_ones_the_script_takes(script):
    """A shot renamed or dropped in the script, but its old PNG left behind (or the new one never taken), fails."""
    taken = {shot.file for shot in script.SHOTS}
    assert len(taken) == len(script.SHOTS), "two shots write the same file"
    assert _on_disk() == taken, (f"not taken by the script: {sorted(_on_disk() - taken)}; "
                                 f"taken but missing: {sorted(taken - _on_disk())}")


def test_the_screenshots_are_phone_sized_and_light(script):
    """One phone screen at twice the density (what the script takes), each under the script's byte budget: the
    README loads them all at once."""
    names = sorted(_on_disk())
    assert names, "docs/screenshots/ holds no PNG"
    density = context_options("zh_Hans", "phone")["device_scale_factor"]
    width, height = VIEWPORTS["phone"]["width"] * density, script.SCREEN * density
    wrong = []
    for name in names:
        path = FOLDER / name
        with Image.open(path) as image:
            if image.format != "PNG" or image.width != width or not 0 < image.height <= height:
                wrong.append(f"{name}: {image.format} {image.width}×{image.height}")
        if path.stat().st_size > script.BUDGET:
            wrong.append(f"{name}: {path.stat().st_size} bytes (budget {script.BUDGET})")
    assert not wrong, wrong
