"""``poster-composer``: render a poster from the command line, or serve the DashScope-compatible API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _render(args: argparse.Namespace) -> int:
    from poster_composer.renderer import PosterRequest, encode_png, render_posters

    request = PosterRequest(
        title=tuple(args.title),
        subtitle=tuple(args.subtitle),
        text=tuple(args.text),
        underlay=args.underlay,
        n=args.n,
        temperature=args.temperature,
    )
    logo = args.logo.read_bytes() if args.logo else None
    posters = render_posters(args.image.read_bytes(), request, logo)
    out: Path = args.output
    for index, poster in enumerate(posters):
        target = out if len(posters) == 1 else out.with_name(f"{out.stem}-{index}{out.suffix}")
        target.write_bytes(encode_png(poster.image))
        print(target)
    if args.layout_json:
        layouts = [poster.layout for poster in posters]
        args.layout_json.write_text(
            json.dumps(layouts[0] if len(layouts) == 1 else layouts, indent=2, ensure_ascii=False)
        )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from poster_composer.errors import ComposerConfigError
    from poster_composer.server import serve

    try:
        serve(host=args.host, port=args.port, tls_dir=args.tls_dir, config_path=args.config)
    except ComposerConfigError as error:
        print(f"poster-composer: invalid config: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"poster-composer: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poster-composer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render poster(s) from an image and text")
    render.add_argument("image", type=Path)
    render.add_argument("--title", action="append", required=True)
    render.add_argument("--subtitle", action="append", default=[])
    render.add_argument("--text", action="append", default=[])
    render.add_argument("--logo", type=Path)
    render.add_argument("--underlay", type=int, default=0, choices=range(3))
    render.add_argument("--n", type=int, default=1, choices=range(1, 5))
    render.add_argument("--temperature", type=float, default=0.7)
    render.add_argument("-o", "--output", type=Path, required=True)
    render.add_argument("--layout-json", type=Path)
    render.set_defaults(handler=_render)

    serve = commands.add_parser("serve", help="serve the DashScope-compatible HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--tls-dir", type=Path, help="serve HTTPS with a self-signed cert written here")
    serve.add_argument("--config", type=Path, help="JSON file with quota and fault settings")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
