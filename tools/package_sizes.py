"""Print the size of each layer and function that ``sam build`` left in ``.aws-sam/build``.

For every artifact folder: its unzipped bytes (the files, walked) and its zipped bytes (the folder
deflated into a temporary zip, as ``sam package`` uploads it). Then, for every function, the unzipped
total of its code and all its layers against Lambda's 250 MB quota (which counts the function and
every layer together), and each zip against the 50 MB direct-upload quota (not binding when the
package goes through S3, as ``sam deploy`` does). Exits 1 if a function is over 250 MB.

Run after ``tools/sam.sh build``: ``.venv/bin/python tools/package_sizes.py [BUILD_DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build"
MB = 1024 * 1024
#: Lambda quotas: function + all its layers, unzipped; one zip uploaded directly (not through S3).
UNZIPPED_LIMIT = 250 * MB
DIRECT_UPLOAD_ZIP_LIMIT = 50 * MB


@dataclass(frozen=True)
class Artifact:
    """One built folder: a layer or a function."""

    name: str
    kind: str  # "layer" or "function"
    unzipped: int
    zipped: int
    files: int
    layers: tuple[str, ...] = ()


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for directory, _dirs, names in os.walk(folder):
        found.extend(Path(directory) / name for name in names)
    return sorted(found)


def unzipped_size(folder: Path) -> tuple[int, int]:
    """(bytes, file count) of every file under ``folder`` (symlinks counted as what they point at)."""
    files = _files(folder)
    return sum(path.stat().st_size for path in files), len(files)


def zipped_size(folder: Path) -> int:
    """Bytes of ``folder`` deflated into a zip (paths relative to it), written to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="package-sizes-") as tmp:
        target = Path(tmp) / "artifact.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in _files(folder):
                archive.write(path, path.relative_to(folder).as_posix())
        return target.stat().st_size


def _resources(build_dir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from local_stack.sam import load_template_file

    template = load_template_file(build_dir / "template.yaml")
    resources: dict[str, Any] = template.get("Resources", {})
    return resources


def artifacts(build_dir: Path = BUILD_DIR) -> list[Artifact]:
    """Every layer and function of the built template that has a folder in ``build_dir``."""
    found: list[Artifact] = []
    for name, resource in _resources(build_dir).items():
        kind = {"AWS::Serverless::LayerVersion": "layer", "AWS::Serverless::Function": "function"}.get(
            resource.get("Type", "")
        )
        props = resource.get("Properties", {})
        uri = props.get("ContentUri") or props.get("CodeUri")
        if kind is None or not isinstance(uri, str) or not (build_dir / uri).is_dir():
            continue
        folder = build_dir / uri
        size, count = unzipped_size(folder)
        layers = tuple(ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref)
        found.append(Artifact(name, kind, size, zipped_size(folder), count, layers))
    return found


def _mb(size: int) -> str:
    return f"{size:>12,} B {size / MB:7.2f} MB"


def report(items: list[Artifact]) -> tuple[list[str], bool]:
    """The table's lines, and whether every function with its layers fits Lambda's unzipped quota."""
    lines = [f"{'artifact':<24} {'kind':<9} {'files':>6} {'zipped':>23} {'unzipped':>23}"]
    for item in sorted(items, key=lambda a: (a.kind, a.name)):
        flag = "  (zip over 50 MB: upload through S3)" if item.zipped > DIRECT_UPLOAD_ZIP_LIMIT else ""
        lines.append(f"{item.name:<24} {item.kind:<9} {item.files:>6} {_mb(item.zipped)} {_mb(item.unzipped)}{flag}")
    by_name = {item.name: item for item in items}
    ok = True
    lines.append("")
    lines.append(f"function + layers, unzipped (Lambda quota {UNZIPPED_LIMIT // MB} MB):")
    for item in sorted(items, key=lambda a: a.name):
        if item.kind != "function":
            continue
        total = item.unzipped + sum(by_name[layer].unzipped for layer in item.layers if layer in by_name)
        fits = total <= UNZIPPED_LIMIT
        ok &= fits
        layers = " + ".join(item.layers) or "no layer"
        headroom = f"{(UNZIPPED_LIMIT - total) / MB:.2f} MB left" if fits else "OVER"
        lines.append(f"  {item.name:<24} {_mb(total)}  ({layers}; {headroom})")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("build_dir", nargs="?", type=Path, default=BUILD_DIR, help="default: .aws-sam/build")
    args = parser.parse_args(argv)
    build_dir: Path = args.build_dir
    if not (build_dir / "template.yaml").is_file():
        print(f"{build_dir}/template.yaml not found: run tools/sam.sh build first", file=sys.stderr)
        return 2
    lines, ok = report(artifacts(build_dir))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
