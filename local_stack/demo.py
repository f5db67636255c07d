"""``make demo``: the sample photos in, finished posters out — the whole pipeline on the local stack.

Uploads ``events/samples/backgrounds/*`` (each after its sidecar from ``events/samples/sidecars/``,
when it has one; the Hubble photo's asks for two formats) and the sample logo, puts the "Poster requested"
events of ``events/samples/requests/`` on the bus (an automation asking for a photo outside the input
prefix, in three formats), waits for every job while showing progress, then writes ``OUT/index.html``
(each input beside its posters) and ``OUT/summary.json``. Exits 1 if a job that should succeed did not.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.stack import LocalStack, LocalStackError, Outcome

SAMPLES = Path(__file__).resolve().parent.parent / "events" / "samples"
LOGO_KEY = "assets/horse.png"
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true"}
CONSOLE = sys.stdout


def say(message: str) -> None:
    """Progress for the person running the demo (the handlers' own logs go to the log file)."""
    print(message, file=CONSOLE, flush=True)


@dataclass(frozen=True)
class Sample:
    """One demo job: an upload under ``incoming/`` (with its sidecar), or a "Poster requested" event's ``request``."""

    image: Path
    sidecar: Path | None
    key: str
    request: dict[str, Any] | None = None

    @property
    def stem(self) -> str:
        return self.key.removeprefix("incoming/").rsplit(".", 1)[0]

    @property
    def how(self) -> str:
        if self.request is not None:
            return f"event: Poster requested (correlation_id {self.request.get('correlation_id')})"
        return "upload" + (" + sidecar" if self.sidecar else "")


def samples(folder: Path = SAMPLES) -> list[Sample]:
    found = []
    for image in sorted((folder / "backgrounds").iterdir()):
        sidecar = folder / "sidecars" / f"{image.stem}.poster.json"
        found.append(Sample(image, sidecar if sidecar.exists() else None, f"incoming/{image.name}"))
    for path in sorted((folder / "requests").glob("*.json")):
        asked = json.loads(path.read_text(encoding="utf-8"))
        found.append(Sample(folder / asked["upload"]["file"], None, asked["upload"]["key"], asked["detail"]))
    return found


def upload_all(stack: LocalStack, jobs: list[Sample]) -> None:
    stack.upload(SAMPLES / "logos" / "horse.png", LOGO_KEY)
    events = stack.client("events")
    for sample in jobs:
        # The sidecar first: Submit reads it when the image's event arrives (and a sidecar event
        # that comes before its image is simply tried again later).
        if sample.sidecar is not None:
            stack.upload(sample.sidecar, f"incoming/{sample.stem}.poster.json")
        stack.upload(sample.image, sample.key)
        if sample.request is not None:
            source = stack.environment["POSTER_REQUEST_SOURCE"]
            detail = json.dumps(sample.request, ensure_ascii=False)
            events.put_events(Entries=[{"Source": source, "DetailType": "Poster requested", "Detail": detail}])


def poll(stack: LocalStack, stem: str) -> Outcome | None:
    try:
        return stack.wait_for_outcome(stem, timeout=0)
    except LocalStackError:
        return None


def wait_all(stack: LocalStack, jobs: list[Sample], timeout: float) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while len(outcomes) < len(jobs) and time.monotonic() < deadline:
        for sample in jobs:
            if sample.stem not in outcomes and (outcome := poll(stack, sample.stem)) is not None:
                outcomes[sample.stem] = outcome
                say(f"  {time.monotonic() - started:5.1f}s  {sample.stem:<20} {outcome.status}")
        running = [e.stem for e in stack.executions() if e.status == "RUNNING"]
        waiting = ", ".join(s.stem for s in jobs if s.stem not in outcomes)
        if waiting:
            say(
                f"  {time.monotonic() - started:5.1f}s  {len(outcomes)}/{len(jobs)} done; "
                f"{len(running)} running; waiting for {waiting}"
            )
            time.sleep(1.0)
    return outcomes


def collect(stack: LocalStack, jobs: list[Sample], outcomes: dict[str, Outcome], out: Path) -> list[dict[str, Any]]:
    s3 = stack.client("s3")
    summary = []
    for sample in jobs:
        folder = out / sample.stem
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample.image, folder / f"input{sample.image.suffix}")
        outcome = outcomes.get(sample.stem)
        entry: dict[str, Any] = {
            "source": sample.key,
            "how": sample.how,
            "input": f"{sample.stem}/input{sample.image.suffix}",
            "status": outcome.status if outcome else "TIMED_OUT",
            "outputs": [],
            "failure_code": None,
        }
        if outcome and outcome.manifest:
            for key in poster_keys(outcome.manifest):
                # one folder per format of a multi-format request: posters/<stem>/<format>/<i>.png
                target = folder / key.removeprefix(f"posters/{sample.stem}/").replace("/", "-")
                target.write_bytes(s3.get_object(Bucket=stack.output_bucket, Key=key)["Body"].read())
                entry["outputs"].append(str(target.relative_to(out)))
            (folder / "manifest.json").write_text(json.dumps(outcome.manifest, indent=2, ensure_ascii=False))
            entry["task_id"] = outcome.manifest.get("task_id")
        if outcome and outcome.failure:
            entry["failure_code"] = outcome.failure.get("code")
            entry["failure_message"] = outcome.failure.get("message")
        summary.append(entry)
    return summary


def poster_keys(manifest: dict[str, Any]) -> list[str]:
    """The posters a manifest names: a job's copied results, or every format's of a multi-format request."""
    if "formats" in manifest:
        return [key for key in manifest["output_keys"] if not key.endswith("manifest.json")]
    return [result["key"] for result in manifest.get("results", []) if result.get("status") == "COPIED"]


def _caption(path: str) -> str:
    """``story-0.png`` → ``story · poster 1``; ``1.png`` → ``poster 2``."""
    label, _, index = Path(path).stem.rpartition("-")
    return f"{label} · " * bool(label) + f"poster {int(index) + 1}"


def write_gallery(summary: list[dict[str, Any]], out: Path) -> None:
    rows = []
    for entry in summary:
        posters = (
            "".join(
                f'<figure><a href="{html.escape(p)}"><img src="{html.escape(p)}" alt="poster"></a>'
                f"<figcaption>{html.escape(_caption(p))}</figcaption></figure>"
                for p in entry["outputs"]
            )
            or f"<p class=fail>{html.escape(str(entry['failure_code']))}</p>"
        )
        rows.append(
            f'<tr><td><img src="{html.escape(entry["input"])}" alt=input><br>'
            f"<code>{html.escape(entry['source'])}</code><br><small>{html.escape(entry['how'])}</small></td>"
            f"<td class={entry['status'].lower()}>"
            f"{html.escape(entry['status'])}</td><td><div class=posters>{posters}</div></td></tr>"
        )
    (out / "index.html").write_text(
        f"""<!doctype html><meta charset=utf-8><title>poster-pipeline demo</title>
<style>body{{font:14px system-ui;margin:2em}}img{{max-height:320px;max-width:100%;box-shadow:0 1px 4px #0004}}
td{{vertical-align:top;padding:8px;border-bottom:1px solid #ddd}}.posters{{display:flex;flex-wrap:wrap;gap:12px}}
figure{{margin:0;max-width:640px}}figcaption{{color:#666;font-size:12px}}.succeeded{{color:#080}}.failed{{color:#b00}}</style>
<h1>poster-pipeline demo</h1><table><tr><th>input</th><th>outcome</th><th>posters</th></tr>
{"".join(rows)}</table>""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every job")
    parser.add_argument(
        "--enforce-iam",
        action="store_true",
        help="each function signs with its own role (the template's expanded policies) and moto enforces them",
    )
    args = parser.parse_args(argv)
    jobs = samples()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    began = time.monotonic()
    log_path = args.out / "pipeline.log"
    say(f"starting the local stack (moto server, composer, resources from template.yaml); logs: {log_path}")
    with (
        log_path.open("w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
        LocalStack(
            parameters={"PollSchedule": "1", "ComposerMaxInProgress": "2"},
            environment=QUIET,
            enforce_iam=args.enforce_iam,
        ) as stack,
    ):
        say(
            f"moto endpoint {stack.moto_endpoint} (aws --endpoint-url {stack.moto_endpoint} s3 ls); "
            f"composer service (its HTTP API) {stack.composer_origin}"
        )
        say(f"uploading {len(jobs)} photos to s3://{stack.input_bucket}/incoming/ ...")
        upload_all(stack, jobs)
        outcomes = wait_all(stack, jobs, args.timeout)
        summary = collect(stack, jobs, outcomes, args.out)
        if stack.iam_enforcement is not None and stack.iam is not None:
            roles = {s.arn for sessions in (stack.iam.handler_sessions, stack.iam.event_source_sessions)
                     for s in sessions.values()}  # fmt: skip
            decided = [d for d in stack.iam_enforcement.snapshot() if d.principal in roles]
            say(
                f"moto enforced {len(decided)} AWS calls under the functions' and the state machine's own roles; "
                f"refused {sum(not d.allowed for d in decided)}"
            )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    write_gallery(summary, args.out)
    failed = [entry["source"] for entry in summary if entry["status"] not in ("SUCCEEDED", "PARTIAL")]
    posters = sum(len(entry["outputs"]) for entry in summary)
    say(
        f"{posters} posters for {len(summary)} photos in {time.monotonic() - began:.1f}s → "
        f"{args.out / 'index.html'}, {args.out / 'summary.json'}"
    )
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
