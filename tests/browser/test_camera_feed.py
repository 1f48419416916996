"""Chromium's fake camera shows the symbols camera.py writes, frame for frame.

A page of the live server (localhost is a secure context, so getUserMedia is allowed) opens the
camera, and the test reads frames back through a canvas: their size, the symbol in the centre,
white around it, and every pixel against the frame the y4m file was written with.
"""

import base64
import time

import pytest

from tests.browser.camera import (
    BLANK,
    KINDS,
    Bitmap,
    camera_context,
    frame_luma,
    symbol_bitmap,
)

DATA = {
    "gs1-datamatrix": "(01)00850001230025(17)281231(10)RC-2417(21)R-RC1",
    "gs1-128": "(01)00850001230025(17)281231(10)RC-2417(21)R-RC1",
    "qr": "https://id.gs1.org/01/00850001230025/10/RC-2417/21/R-RC1",
    "hibc-datamatrix": "A99912345/$$52025010X3/16D20111212/S77DEFG458",
    "hibc-128": "A99912345",
    "hibc-39": "A99912345",
}
WIDTH, HEIGHT = 1280, 720

# Opens the camera into a playing <video> kept on window, once a first frame is there.
OPEN_CAMERA = """async ([width, height]) => {
    const stream = await navigator.mediaDevices.getUserMedia({video: {width, height}});
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    await new Promise((resolve) => video.requestVideoFrameCallback(resolve));
    window.cameraVideo = video;
    return [video.videoWidth, video.videoHeight];
}"""

# The current frame drawn on a canvas of its own size: its size and its red channel (the
# frames are grey) as base64.
GRAB_FRAME = """() => {
    const video = window.cameraVideo;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", {willReadFrequently: true});
    context.drawImage(video, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const grey = new Uint8Array(rgba.length / 4);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
    let binary = "";
    for (let i = 0; i < grey.length; i += 0x8000) {
        binary += String.fromCharCode(...grey.subarray(i, i + 0x8000));
    }
    return [canvas.width, canvas.height, btoa(binary)];
}"""


def open_camera(camera, live_server):
    page = camera_context(camera, live_server.url).new_page()
    page.goto("/accounts/login/")
    assert page.evaluate("window.isSecureContext")
    assert page.evaluate(OPEN_CAMERA, [WIDTH, HEIGHT]) == [WIDTH, HEIGHT]
    return page


def grab(page) -> Bitmap:
    width, height, grey = page.evaluate(GRAB_FRAME)
    return Bitmap(width, height, base64.b64decode(grey))


def region(frame: Bitmap, left: int, top: int, width: int, height: int) -> bytes:
    return b"".join(
        frame.pixels[row * frame.width + left : row * frame.width + left + width]
        for row in range(top, top + height)
    )


def dark_box(frame: Bitmap) -> tuple[int, int, int, int]:
    """Left, top, right and bottom margins around the frame's dark pixels (the symbol)."""
    ink = frame.pixels.translate(bytes(int(v < 128) for v in range(256)))  # 1 where dark
    rows = [ink[y * frame.width : (y + 1) * frame.width] for y in range(frame.height)]
    inked = [y for y, row in enumerate(rows) if 1 in row]
    left = min(rows[y].find(1) for y in inked)
    right = max(rows[y].rfind(1) for y in inked)
    return left, inked[0], frame.width - 1 - right, frame.height - 1 - inked[-1]


def differing_pixels(frame: Bitmap, expected: bytes) -> int:
    """Pixels more than a quarter of the grey scale away from the expected frame."""
    return sum(abs(a - b) > 64 for a, b in zip(frame.pixels, expected, strict=True))


def shown_as(bitmap: Bitmap) -> bytes:
    """The frame a canvas should read for `bitmap`: black 0 and white 255 (Chromium maps the
    file's limited-range Y 16..235 to full range)."""
    return frame_luma(bitmap, WIDTH, HEIGHT, black=0, white=255)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_camera_shows_the_symbol(camera_browser, live_server, kind):
    symbol = symbol_bitmap(kind, DATA[kind])
    page = open_camera(camera_browser([symbol]), live_server)

    frame = grab(page)
    assert (frame.width, frame.height) == (WIDTH, HEIGHT)
    centre = region(frame, WIDTH // 2 - 60, HEIGHT // 2 - 60, 120, 120)
    assert min(centre) < 40 and max(centre) > 215, "no symbol in the centre"
    corner = region(frame, 0, 0, 100, 100)
    assert min(corner) > 215, "the corner is not white"
    left, top, right, bottom = dark_box(frame)
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1, "the symbol is not centred"
    # Pixel for pixel, the frame written: right planes, right place, right grey levels.
    assert differing_pixels(frame, shown_as(symbol)) == 0


def test_a_blank_segment_is_plain_white_and_segments_play_in_turn(camera_browser, live_server):
    symbol = symbol_bitmap("gs1-datamatrix", DATA["gs1-datamatrix"])
    page = open_camera(camera_browser([symbol, BLANK], frames_each=20, fps=10), live_server)
    assert differing_pixels(grab(page), shown_as(symbol)) == 0, "the video starts on the symbol"

    # Two seconds in, the blank segment follows: a frame without a dark pixel.
    deadline = time.monotonic() + 6
    while min((frame := grab(page)).pixels) < 128 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert (frame.width, frame.height) == (WIDTH, HEIGHT)
    darkest = min(frame.pixels)
    assert darkest > 215, "the blank segment never showed a plain white frame"
    assert differing_pixels(frame, shown_as(BLANK)) == 0
