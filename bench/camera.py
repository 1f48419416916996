"""Real barcode symbols for Chromium's fake camera.

Chromium can stand a video file in for the camera (`--use-file-for-fake-video-capture`); this
module draws symbols with zint (zint-bindings: the real encoder, no system library needed),
and writes them as a YUV4MPEG2 (.y4m) video for Chromium to play as its camera, so the browser
tests and the scanner benchmark (bench_scanner) scan what a phone camera sees on a label.

    bitmap = symbol_bitmap("gs1-datamatrix", "(01)00850001230025(17)281231(10)RC-2417(21)R-RC1")
    write_y4m("label.y4m", [bitmap, BLANK])  # the symbol for 2 s, then 2 s of white

What a decoder reads back from each kind (zxing-cpp, checked by hand; GS is \\x1d):
  gs1-datamatrix  "]d2", then each element as AI + value, no parentheses, with a GS after each
                  variable-length element but the last: "]d2" "0100850001230025" "17281231"
                  "10RC-2417" GS "21R-RC1" for the element string in the example above
  gs1-128         the same, with "]C1" in front
  qr              "]Q1" + the text as given
  hibc-datamatrix "]d1" + hibc_readback(data): "+" + data + the mod-43 check character
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import zint

FRAME_WIDTH, FRAME_HEIGHT = 1280, 720
# Chromium reads the y4m planes as limited-range (BT.601 "studio swing") video: Y=16 is black
# and Y=235 white, which the canvas shows as RGB 0 and 255. Values outside 16..235 only clip.
BLACK_Y, WHITE_Y = 16, 235
NEUTRAL_CHROMA = 128  # U = V = 128: no colour, so the frame is pure grey levels
FPS = 10  # Chromium plays the file at the header's rate; 10 fps keeps the files small
FRAMES_EACH = 20  # 2 s a symbol at 10 fps: time for a scanner to settle on it


@dataclass(frozen=True)
class Bitmap:
    """A greyscale image, row by row, one byte a pixel: 0 is black (ink), 255 white."""

    width: int
    height: int
    pixels: bytes = field(repr=False)  # a megabyte would swamp assertion messages

    def __post_init__(self):
        if len(self.pixels) != self.width * self.height:
            raise ValueError(
                f"{self.width}x{self.height} bitmap needs {self.width * self.height} bytes"
            )


# An empty bitmap: centred on the white frame it leaves the frame plain white (no symbol).
BLANK = Bitmap(0, 0, b"")

_GS1 = zint.InputMode.DATA | zint.InputMode.GS1 | zint.InputMode.GS1PARENS
# kind: (zint symbology, input mode, default pixels per module)
KINDS = {
    # GS1PARENS lets zint take the AIs in parentheses, "(01)...", as printed under a label;
    # GS1 mode makes a real GS1 symbol: FNC1 first, and FNC1 (read as GS) ends each
    # variable-length element that is not last.
    "gs1-datamatrix": (zint.Symbology.DATAMATRIX, _GS1, 10),
    "gs1-128": (zint.Symbology.GS1_128, _GS1, 3),
    "qr": (zint.Symbology.QRCODE, zint.InputMode.DATA, 10),
    # zint puts the HIBC "+" in front and the mod-43 check character at the end itself.
    "hibc-datamatrix": (zint.Symbology.HIBC_DM, zint.InputMode.DATA, 10),
    # HIBC as a linear Code 128 symbol: a label may print primary and secondary data as two.
    "hibc-128": (zint.Symbology.HIBC_128, zint.InputMode.DATA, 3),
    # ...or as Code 39, the older and still common linear HIBC symbol.
    "hibc-39": (zint.Symbology.HIBC_39, zint.InputMode.DATA, 2),
}
LINEAR_HEIGHT = 80  # bar height of the linear kinds, in modules (240 px at 3 px a module)

_HIBC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def hibc_readback(data: str) -> str:
    """The text a decoder reads from an HIBC symbol zint made from `data` (without the
    symbology identifier): "+", the data, and the mod-43 check character over both."""
    text = "+" + data.upper()
    return text + _HIBC_CHARSET[sum(_HIBC_CHARSET.index(c) for c in text) % 43]


def symbol_bitmap(kind: str, data: str, scale: int | None = None) -> Bitmap:
    """The symbol of `kind` (see KINDS) encoding `data`, `scale` pixels a module (the kind's
    default when None), with the symbology's own quiet zone around it in white."""
    symbology, input_mode, default_scale = KINDS[kind]
    symbol = zint.Symbol()
    symbol.symbology = symbology
    symbol.input_mode = input_mode
    symbol.show_text = False  # bars only: no human-readable line under GS1-128
    symbol.output_options = zint.OutputOptions.BARCODE_QUIET_ZONES
    symbol.height = LINEAR_HEIGHT  # ignored by the matrix symbologies
    if symbology in (zint.Symbology.DATAMATRIX, zint.Symbology.HIBC_DM):
        symbol.option_3 = zint.DataMatrixOptions.SQUARE  # square sizes only, as on labels
    symbol.encode(data)  # raises zint's error (bad AI, bad check digit...) on invalid data
    # zint's raster draws one module as 2 pixels at scale 1, so scale 1.5 gives 3 pixels.
    symbol.scale = (scale or default_scale) / 2
    symbol.buffer()
    height, width, _ = symbol.bitmap.shape
    # The raster is RGB, black on white: every third byte (red) is the grey level.
    return Bitmap(width, height, bytes(symbol.bitmap)[::3])


def stacked(*bitmaps: Bitmap, gap: int = 40) -> Bitmap:
    """The bitmaps one under the other, centred, `gap` white pixels apart: one frame showing
    several symbols, as a label with two linear symbols does."""
    width = max(b.width for b in bitmaps)
    rows = []
    for index, bitmap in enumerate(bitmaps):
        if index:
            rows.append(b"\xff" * width * gap)
        left = (width - bitmap.width) // 2
        for row in range(bitmap.height):
            line = bitmap.pixels[row * bitmap.width : (row + 1) * bitmap.width]
            rows.append(b"\xff" * left + line + b"\xff" * (width - bitmap.width - left))
    pixels = b"".join(rows)
    return Bitmap(width, len(pixels) // width, pixels)


def _luma_table(black: int, white: int) -> bytes:
    """bytes.translate table: grey level 0..255 to luma black..white."""
    return bytes(black + round((white - black) * v / 255) for v in range(256))


def frame_luma(
    bitmap: Bitmap,
    width: int = FRAME_WIDTH,
    height: int = FRAME_HEIGHT,
    black: int = BLACK_Y,
    white: int = WHITE_Y,
) -> bytes:
    """The Y plane of a white frame with `bitmap` centred on it."""
    if bitmap.width > width or bitmap.height > height:
        raise ValueError(f"a {bitmap.width}x{bitmap.height} symbol does not fit {width}x{height}")
    plane = bytearray([white]) * (width * height)
    table = _luma_table(black, white)
    left, top = (width - bitmap.width) // 2, (height - bitmap.height) // 2
    for row in range(bitmap.height):
        line = bitmap.pixels[row * bitmap.width : (row + 1) * bitmap.width]
        start = (top + row) * width + left
        plane[start : start + bitmap.width] = line.translate(table)
    return bytes(plane)


def write_y4m(
    path: Path | str,
    bitmaps: list[Bitmap],
    width: int = FRAME_WIDTH,
    height: int = FRAME_HEIGHT,
    frames_each: int = FRAMES_EACH,
    fps: int = FPS,
    black: int = BLACK_Y,
    white: int = WHITE_Y,
) -> Path:
    """Write a video showing each bitmap (BLANK for a plain white frame) centred on a white
    frame for `frames_each` frames, one after another. Chromium starts the file from its first
    frame when a page opens the camera, and loops back to it after the last."""
    if width % 2 or height % 2:
        raise ValueError("4:2:0 frames need an even width and height")
    # YUV4MPEG2 header: size, frame rate, progressive, square pixels, 4:2:0 chroma.
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    # Each chroma plane (U, then V) is a quarter of the Y plane: one sample per 2x2 pixels.
    chroma = bytes([NEUTRAL_CHROMA]) * ((width // 2) * (height // 2) * 2)
    path = Path(path)
    with path.open("wb") as out:
        out.write(header)
        for bitmap in bitmaps:
            frame = b"FRAME\n" + frame_luma(bitmap, width, height, black, white) + chroma
            for _ in range(frames_each):
                out.write(frame)
    return path


# Debian's Chromium and the flags that work on these machines (tests/browser uses them too).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def fake_camera_args(y4m_path: Path | str) -> list[str]:
    """Chromium flags (to add to LAUNCH_ARGS) making the camera play `y4m_path`, granted
    without a prompt."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m_path}",
    ]
