"""The camera tests' fixtures: a Chromium whose fake camera plays real symbols (bench.camera
draws them and writes the video).

    bitmap = symbol_bitmap("gs1-datamatrix", "(01)00850001230025(17)281231(10)RC-2417(21)R-RC1")
    def test_scan(camera_browser, live_server):
        browser = camera_browser([bitmap, BLANK])   # the symbol for 2 s, then 2 s of white
        context = camera_context(browser, live_server.url)
"""

from __future__ import annotations

import pytest

from bench.camera import (  # noqa: F401 (the tests' vocabulary)
    BLACK_Y,
    BLANK,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    KINDS,
    WHITE_Y,
    Bitmap,
    fake_camera_args,
    frame_luma,
    hibc_readback,
    stacked,
    symbol_bitmap,
    write_y4m,
)
from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS


@pytest.fixture
def camera_browser(browser, tmp_path):
    """launch(bitmaps, **write_y4m options) -> a Chromium whose camera plays those bitmaps.

    Playwright's sync API allows one instance a thread and the session `browser` fixture
    holds it, so this launches through that browser's own BrowserType. Every browser launched
    is closed at teardown."""
    launched = []

    def launch(bitmaps, **video_options):
        video = write_y4m(tmp_path / f"camera-{len(launched)}.y4m", bitmaps, **video_options)
        camera = browser.browser_type.launch(
            executable_path=CHROMIUM, args=[*LAUNCH_ARGS, *fake_camera_args(video)], headless=True
        )
        launched.append(camera)
        return camera

    yield launch
    for camera in launched:
        camera.close()


def camera_context(browser, base_url: str):
    """A phone-sized context of `browser` that may use the camera."""
    return browser.new_context(
        base_url=base_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["camera"],
    )
