"""Contact sheet of the renderer: every fixture × aspect ratio × text set, with metrics.

Usage: ``python -m poster_composer.gallery OUTDIR [--fixtures DIR] [--long-side PX] [--underlay N]``

Writes one JPEG per poster and ``OUTDIR/index.html`` showing each poster with its worst line contrast
(measured on the finished pixels, as in the layout report) and its ``Occ`` (mean saliency under the
elements); prints the distributions of both.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from poster_composer.renderer import PosterRequest, render_posters
from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.metrics import centred, occupancy

if TYPE_CHECKING:
    from collections.abc import Mapping

ASPECTS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"1x4": (1, 4), "9x16": (9, 16), "1x1": (1, 1), "16x9": (16, 9), "4x1": (4, 1)}
)

TEXT_SETS: Mapping[str, dict[str, tuple[str, ...]]] = MappingProxyType(
    {
        "latin-short": {"title": ("Summer Nights",), "subtitle": ("Open-air cinema",), "text": ("Fridays 9 pm",)},
        "latin-long": {
            "title": ("The Incomparable Midsummer Astronomy Festival",),
            "subtitle": ("Three nights of telescopes, talks and music under the open sky",),
            "text": (
                "Tickets from 12 EUR at the gate or online. Children under twelve go free; bring warm "
                "clothes, a blanket and a red torch.",
                "Programme and accessibility information: www.example.org/stars",
            ),
        },
        "zh-short": {"title": ("夏夜电影节",), "subtitle": ("露天放映",), "text": ("每周五晚九点",)},
        "zh-long": {
            "title": ("第十二届城市咖啡文化节盛大开幕",),
            "subtitle": ("三天三夜，百家烘焙坊与你相约滨江公园！",),
            "text": (
                "活动时间：五月一日至五月三日，每日上午十点至晚上九点。现场设有手冲体验区、拉花比赛、"
                "咖啡豆市集和亲子工作坊（需预约）。",
                "交通：地铁二号线滨江站（C出口）步行五分钟。",
            ),
        },
        "mixed-short": {
            "title": ("2025 春季新品",),
            "subtitle": ("Spring Collection",),
            "text": ("全场8折 · 3月1日起",),
        },
        "mixed-long": {
            "title": ("Hubble 35周年 · 深空影像展",),
            "subtitle": ("From the Deep Field to 韦布望远镜: 35 years of discovery",),
            "text": (
                "展期 2025年4月24日—7月31日，周二至周日 10:00–18:00（周一闭馆）。Free entry for students with ID；"
                "团体预约请致电 010-1234-5678。",
            ),
        },
    }
)


def repo_root() -> Path:
    """The repository root (the folder holding ``poster_composer``)."""
    return Path(__file__).resolve().parents[1]


def fixtures_dir() -> Path:
    """``events/samples/backgrounds`` in the repo if present, else ``../shared/fixtures/backgrounds``."""
    local = repo_root() / "events" / "samples" / "backgrounds"
    return local if local.is_dir() else repo_root().parent / "shared" / "fixtures" / "backgrounds"


def fit_aspect(image: Image.Image, aspect: tuple[int, int], long_side: int) -> Image.Image:
    """Centre-crop ``image`` to ``aspect`` (w, h) and resize it so its long side is ``long_side``."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    target = aspect[0] / aspect[1]
    if w / h > target:
        cw, ch = round(h * target), h
    else:
        cw, ch = w, round(w / target)
    left, top = (w - cw) // 2, (h - ch) // 2
    cropped = rgb.crop((left, top, left + cw, top + ch))
    if aspect[0] >= aspect[1]:
        size = (long_side, max(1, round(long_side * aspect[1] / aspect[0])))
    else:
        size = (max(1, round(long_side * aspect[0] / aspect[1])), long_side)
    return cropped.resize(size, Image.Resampling.LANCZOS)


def poster_metrics(background: Image.Image, layout: dict[str, Any]) -> dict[str, float | None]:
    """Worst contrast (from the report) and ``Occ`` / centred ``Occ`` of a poster."""
    analysis = analyse(background)
    boxes = [tuple(e["box"]) for e in layout["elements"] if e["role"] != "panel"]
    occ = occupancy(analysis, boxes) if boxes else 0.0
    occ_c = occupancy(analysis, centred(boxes, background.size)) if boxes else 0.0
    margins = [
        c - r
        for e in layout["elements"]
        if e["role"] != "panel"
        for c, r in ((c, ln["required"]) for ln in e.get("lines", []) for c in (ln["contrast"],))
    ]
    return {
        "contrast": layout["metrics"]["min_contrast"],
        "contrast_margin": min(margins) if margins else None,
        "occ": occ,
        "occ_centred": occ_c,
    }


def _cell(name: str, meta: dict[str, Any]) -> str:
    contrast = meta["contrast"]
    label = (
        f"{html.escape(name)}<br>worst contrast {contrast if contrast is not None else '–'} · "
        f"Occ {meta['occ']:.3f} (centred {meta['occ_centred']:.3f})<br>{html.escape(meta['pairing'])}"
        f"{' · dropped ' + str(meta['dropped']) if meta['dropped'] else ''} · {meta['ms']:.0f} ms"
    )
    return f'<figure><a href="{name}"><img src="{name}" loading="lazy"></a><figcaption>{label}</figcaption></figure>'


def _summary(values: list[float], label: str) -> str:
    if not values:
        return f"{label}: none"
    arr = np.array(values)
    qs = ", ".join(f"p{q}={np.percentile(arr, q):.3f}" for q in (0, 5, 50, 95, 100))
    return f"{label}: n={len(values)} {qs}"


def main(argv: list[str] | None = None) -> int:
    """Render the gallery into OUTDIR and print the metric distributions."""
    parser = argparse.ArgumentParser(prog="python -m poster_composer.gallery", description=__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--fixtures", type=Path, default=None)
    parser.add_argument("--long-side", type=int, default=1080)
    parser.add_argument("--underlay", type=int, default=0, choices=range(3))
    parser.add_argument("--logo", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.fixtures or fixtures_dir()
    args.outdir.mkdir(parents=True, exist_ok=True)
    logo = args.logo.read_bytes() if args.logo else None
    cells: list[str] = []
    records: dict[str, dict[str, Any]] = {}
    contrasts: list[float] = []
    occs: list[float] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
        source = Image.open(path)
        for aspect_name, aspect in ASPECTS.items():
            background = fit_aspect(source, aspect, args.long_side)
            for set_name, texts in TEXT_SETS.items():
                request = PosterRequest(
                    title=texts["title"], subtitle=texts["subtitle"], text=texts["text"], underlay=args.underlay
                )
                start = time.perf_counter()
                poster = render_posters(background, request, logo)[0]
                ms = (time.perf_counter() - start) * 1000
                name = f"{path.stem}_{aspect_name}_{set_name}.jpg"
                poster.image.save(args.outdir / name, quality=88)
                meta: dict[str, Any] = poster_metrics(background, poster.layout)
                meta.update(pairing=poster.layout["pairing"], dropped=len(poster.layout["dropped"]), ms=ms)
                if meta["contrast"] is not None:
                    contrasts.append(meta["contrast"])
                occs.append(meta["occ"])
                cells.append(_cell(name, meta))
                records[name] = meta
    lines = [_summary(contrasts, "worst contrast per poster"), _summary(occs, "Occ per poster")]
    page = (
        "<!doctype html><meta charset='utf-8'><title>poster gallery</title><style>"
        "body{font:13px sans-serif;background:#222;color:#ddd}figure{display:inline-block;margin:6px;"
        "vertical-align:top;width:280px}img{max-width:280px;max-height:280px}</style>"
        f"<h1>poster gallery</h1><p>{'<br>'.join(html.escape(x) for x in lines)}</p>{''.join(cells)}"
    )
    (args.outdir / "index.html").write_text(page, encoding="utf-8")
    (args.outdir / "metrics.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    for line in lines:
        print(line)
    print(f"wrote {len(cells)} posters and {args.outdir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
