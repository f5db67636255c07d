"""Finalize's copy of a result, measured: peak memory at 1 MB and 64 MB (does streaming stream?), and its time
against a plain S3 upload of the same bytes, in the same run.

The copy is Finalize's own code path (`poster_common.result_download.open_result` over HTTPS from an allow-listed host,
into `S3ObjectStore.put_stream`). Each measurement runs in a fresh child process, so its peak RSS
(``ru_maxrss``) is the copy's alone; S3 is moto's server in yet another process (moto keeps objects in memory),
and the result host is a local HTTPS server in this one.

Prints a table; asserts nothing. Usage: ``python bench/bench_finalize.py``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "bench-output"
MB = 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


class _Results(BaseHTTPRequestHandler):
    """``GET /<megabytes>.png``: that many MB starting with a PNG signature, streamed 1 MB at a time."""

    def do_GET(self) -> None:
        size = int(self.path.strip("/").split(".")[0]) * MB
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        block = os.urandom(MB)
        self.wfile.write(PNG_MAGIC + block[len(PNG_MAGIC) :])
        for _ in range(size // MB - 1):
            self.wfile.write(block)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def child(mode: str, megabytes: int, url: str, endpoint: str) -> None:
    """One measurement in this (fresh) process; prints ``seconds peak_rss_bytes``."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    started = time.perf_counter()
    if mode == "finalize":
        import requests

        from poster_common.result_download import HostAllowlist, open_result
        from poster_common.storage import S3ObjectStore

        allowlist = HostAllowlist.parse([url.split("/")[2]])
        with open_result(
            url, allowlist=allowlist, session=requests.Session(), max_bytes=100 * MB, timeouts=(3.05, 30)
        ) as body:
            S3ObjectStore(s3).put_stream(BUCKET, f"stream-{megabytes}.png", body.chunks, content_type=body.content_type)
    else:
        data = os.urandom(megabytes * MB)
        started = time.perf_counter()
        s3.put_object(Bucket=BUCKET, Key=f"plain-{megabytes}.png", Body=data, ContentType="image/png")
    seconds = time.perf_counter() - started
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def measure(mode: str, megabytes: int, url: str, endpoint: str, environ: dict[str, str]) -> tuple[float, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(megabytes), url, endpoint],
        env=environ,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    seconds, peak = done.stdout.split()
    return float(seconds), int(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("MODE", "MB", "URL", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2], args.child[3])
        return 0
    _print_rows(_measure_all())
    return 0


def _measure_all() -> dict[int, dict[str, tuple[float, int]]]:
    """The results server (HTTPS) and a moto server up; each size copied by Finalize and uploaded plainly."""
    from local_stack.moto_server import aws_environment, free_port
    from poster_composer.tls import ensure_certificate, server_context

    tls = tempfile.TemporaryDirectory()
    cert, key = ensure_certificate(Path(tls.name))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Results)
    server.socket = server_context(cert, key).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"https://localhost:{server.server_address[1]}"
    port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    environ = {
        **os.environ,
        **aws_environment(endpoint),
        "REQUESTS_CA_BUNDLE": str(cert),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/common", "layers/composer", ".")),
    }
    try:
        os.environ.update(aws_environment(endpoint))
        _create_bucket(endpoint)
        rows = {}
        for megabytes in (1, 64):
            rows[megabytes] = {
                mode: measure(mode, megabytes, f"{origin}/{megabytes}.png", endpoint, environ)
                for mode in ("finalize", "plain")
            }
    finally:
        moto.terminate()
        server.shutdown()
        tls.cleanup()
    return rows


def _create_bucket(endpoint: str) -> None:
    """``BUCKET`` on the moto server at ``endpoint``, as soon as it answers."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for attempt in range(100):
        try:
            s3.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            if attempt == 99:
                raise
            time.sleep(0.2)


def _print_rows(rows: dict[int, dict[str, tuple[float, int]]]) -> None:
    print("| result | Finalize copy | its peak RSS | plain put_object of the bytes | its peak RSS |")
    print("|---|---|---|---|---|")
    for megabytes, row in rows.items():
        (copy_s, copy_rss), (plain_s, plain_rss) = row["finalize"], row["plain"]
        print(
            f"| {megabytes} MB | {copy_s:.2f} s | {copy_rss / MB:.0f} MB | {plain_s:.2f} s | {plain_rss / MB:.0f} MB |"
        )
    ratio = rows[64]["finalize"][1] / rows[1]["finalize"][1]
    speed = rows[64]["finalize"][0] / rows[64]["plain"][0]
    print(
        f"\npeak RSS 64 MB / 1 MB: {ratio:.2f}× (streaming: ≤ 1.25×); copy time / plain upload at 64 MB: {speed:.2f}×"
    )


if __name__ == "__main__":
    sys.exit(main())
