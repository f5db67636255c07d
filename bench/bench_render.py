"""Benchmark the renderer: p50 render time at 1024×1024 and 4000×3000, against Pillow's own work.

For each size the background is encoded once (JPEG q90 and PNG), then timed in the same run:

- ``render``: ``render_posters(bytes, request)`` (decode, analysis, layout, drawing, contrast check);
- ``render+png``: the same plus ``encode_png`` of the result;
- ``pillow``: Pillow's decode + encode of the same image in the same format (the baseline).

``render`` and ``pillow`` are timed in alternation; the ratio is the median of the per-pair ratios, so that
the machine's speed drifting during the run (it does, on shared cores) hits both alike.  Prints the p50 of
each and that ratio, then the p50 of a render reframed to 1920×1080 and
1080×1920 (``PosterRequest.size``) from the 4000×3000 JPEG.  No assertions.

Usage: ``python bench/bench_render.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import io
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from poster_composer.renderer import PosterRequest, encode_png, render_posters

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[1]
REQUEST = PosterRequest(
    title=("Hubble 35周年 · Deep Field",),
    subtitle=("From the Deep Field to 韦布望远镜",),
    text=("展期 2025年4月24日—7月31日，周二至周日 10:00–18:00。Free entry for students.",),
)


def _photo() -> Image.Image:
    for folder in (ROOT / "events" / "samples" / "backgrounds", ROOT.parent / "shared" / "fixtures" / "backgrounds"):
        path = folder / "rocket.jpg"
        if path.is_file():
            return Image.open(path).convert("RGB")
    raise SystemExit("rocket.jpg fixture not found")


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _p50(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: font files, cmaps and caches
    return statistics.median(_time(fn) for _ in range(repeat))


def _paired(fn: Callable[[], object], baseline: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """p50 of ``fn`` and of ``baseline`` timed in alternation, and the median of the per-pair ratios (a drift
    of the machine's speed during the run hits both sides of each pair alike)."""
    fn(), baseline()  # warm-up: font files, cmaps and caches
    pairs = [(_time(fn), _time(baseline)) for _ in range(repeat)]
    ratio = statistics.median(a / b for a, b in pairs)
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs), ratio


def _render_and_encode(data: bytes) -> bytes:
    return encode_png(render_posters(data, REQUEST)[0].image)


def _pillow_roundtrip(data: bytes, fmt: str) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    _encode(image, fmt)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    photo = _photo()
    print(f"{'size':>11} {'fmt':>4} {'render':>9} {'render+png':>11} {'pillow':>9} {'ratio':>6}")
    for size in ((1024, 1024), (4000, 3000)):
        image = photo.resize(size, Image.Resampling.BICUBIC)
        for fmt in ("JPEG", "PNG"):
            data = _encode(image, fmt)
            render, pillow, ratio = _paired(
                functools.partial(render_posters, data, REQUEST),
                functools.partial(_pillow_roundtrip, data, fmt),
                args.repeat,
            )
            full = _p50(functools.partial(_render_and_encode, data), max(3, args.repeat // 3))
            print(f"{size[0]:>5}x{size[1]:<5} {fmt:>4} {render:>7.0f}ms {full:>9.0f}ms {pillow:>7.0f}ms {ratio:>6.2f}")
    data = _encode(photo.resize((4000, 3000), Image.Resampling.BICUBIC), "JPEG")
    for size in ((1920, 1080), (1080, 1920)):
        reframed = dataclasses.replace(REQUEST, size=size)
        p50 = _p50(functools.partial(render_posters, data, reframed), args.repeat)
        print(f"4000x3000 JPEG reframed to {size[0]}x{size[1]}: render {p50:.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
