"""AWS cost per poster, counted on the local stack and priced with ``bench/prices.json``.

Two runs, each its own `LocalStack` (``Engine=composer``: the deployed-shape composer service, real renders;
``Engine=dashscope``: the composer's local server standing in for DashScope, task times drawn uniformly from
8–40 s with per-title ``task_seconds`` rules). Each run first warms the pipeline with ``--warm`` jobs, so polling
that learns (``poster_common/durations.py``) has its history (the default ``PollSchedule`` stays), then measures
``--jobs`` jobs. Only what happens between the first measured upload and a short settle after the last outcome
is counted, then divided by the posters made.

What is counted, and how:

- **Lambda**: every handler is wrapped (``LocalStack(handlers=...)``): requests per function, and the handler's
  wall time on this machine (the bench's own bookkeeping subtracted, rounded up to 1 ms) × the template's
  ``MemorySize`` = GB-s (arm64 price). Measured on a shared 2-core machine running moto in the same process, not
  on Lambda's CPU. The Slots function's minute sweep (``Scheduled Event``) is a fixed cost, reported apart.
- **AWS API calls** of the handlers and of Lambda's SQS pollers: ``botocore.client.BaseClient._make_request`` is
  wrapped; a call belongs to the handler running in that thread, or to the event source's poller thread, or to
  nobody (the bench's uploads and waiting, the local emulation of EventBridge rules, Step Functions' own Lambda
  invokes, the HTTP API front's invokes: not billed, or billed elsewhere). DynamoDB units from item sizes (the
  item before and after each write, read with an uncounted ``GetItem``; 1 KB per write unit, 4 KB per strongly
  consistent read unit, half for eventually consistent, ×2 in transactions, Query by the size of the items it
  returns). S3 by request class. SQS: polls that returned messages and deletes count per poster; empty polls are
  the poller's idle cost (fixed, not per poster; AWS's pollers long-poll 20 s, the local ones 1 s); the S3 event
  notification's send into the upload queue is one request per upload (derived, moto delivers it internally).
- **HTTP** (``requests.Session.send``): the composer's HTTP API requests, presigned S3 GETs (the render worker's
  background, Finalize's results), and with DashScope the bytes sent to the provider (data transfer out).
- **Step Functions**: ``*StateEntered`` events (+ Task retries) in each measured execution's history.
- **CloudWatch Logs**: the bytes each handler writes to stdout/stderr (Powertools JSON logs, EMF metrics) + 26
  bytes per event, at the template's ``POWERTOOLS_LOG_LEVEL``; Lambda's own START/END/REPORT lines are
  estimated (``PLATFORM_LOG_BYTES`` per invocation).
- **Estimated, not counted**: KMS (one ``Decrypt`` per ``GetSecretValue``, the secret's AWS managed key; DynamoDB's
  table keys are cached for minutes: amortised to ~0), the provider's fetch of the presigned background with
  DashScope (one S3 GET per accepted task and the object's bytes out to the internet).
- **Left out**: the user's upload (``PutObject`` into the input bucket: the user's request, not the pipeline's),
  storage (GB-month, a retention choice), cold starts' INIT time, CloudWatch custom metrics and alarms (per month),
  free tiers.

Prints a table per engine; writes ``out/cost.json``; asserts nothing.

Usage: ``python bench/bench_cost.py [--engines composer,dashscope] [--jobs 20] [--warm 10]``
"""

from __future__ import annotations

import argparse
import contextvars
import io
import json
import math
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).resolve().parent / "prices.json"
PHOTO = ROOT / "events" / "samples" / "backgrounds" / "rocket.jpg"
GOAL_USD_PER_POSTER = 0.0002
PLATFORM_LOG_BYTES = 350  # START + END + REPORT lines of one invocation, text format (estimated)
LOG_EVENT_OVERHEAD = 26  # bytes per log event, as PutLogEvents counts a batch
SQS_CHUNK = 64 * 1024
EVENT_CHUNK = 64 * 1024
SWEEPS_PER_MONTH = 60 * 24 * 30
GB = 1024**3
MIN_SAMPLES = 5  # poster_common.durations.MIN_SAMPLES: durations before the wait loop plans by them

#: S3 request classes (everything else is a GET-class request).
S3_TIER1 = {
    "PutObject",
    "CopyObject",
    "PostObject",
    "UploadPart",
    "UploadPartCopy",
    "CreateMultipartUpload",
    "CompleteMultipartUpload",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListBuckets",
    "ListMultipartUploads",
    "ListParts",
}
S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}

# ---------------------------------------------------------------- DynamoDB item sizes and units


def _number_size(text: str) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one."""
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON (``{"S": "x"}``), by DynamoDB's published rules.

    Examples
    --------
    >>> value_size({"S": "héllo"}), value_size({"N": "12345"}), value_size({"L": [{"BOOL": True}]})
    (6, 4, 5)
    """
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) * 3 // 4 if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(len(v) * 3 // 4 if isinstance(v, str) else len(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item in DynamoDB JSON: attribute names + values (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(before: int, after: int, *, transactional: bool = False) -> float:
    """Write request units of one write: the larger of the item before and after, 1 KB each (at least 1).

    Examples
    --------
    >>> write_units(0, 300), write_units(1500, 200), write_units(100, 100, transactional=True)
    (1.0, 2.0, 2.0)
    """
    units = max(1, math.ceil(max(before, after) / 1024))
    return float(units * (2 if transactional else 1))


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units of a read of ``size`` bytes: 4 KB each (at least 1); half if eventually consistent.

    Examples
    --------
    >>> read_units(0, consistent=True), read_units(9000, consistent=False), read_units(10, consistent=True,
    ...     transactional=True)
    (1.0, 1.5, 2.0)
    """
    units = float(max(1, math.ceil(size / 4096)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


# ---------------------------------------------------------------- pricing


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    """``bench/prices.json``."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def price_units(units: dict[str, Any], prices: dict[str, Any]) -> dict[str, float]:
    """Dollars per service for one poster's units (the keys of `per_poster_units`' ``billable``).

    Examples
    --------
    >>> p = {name: {"usd": 1.0} for name in ("stepfunctions_transition", "lambda_request", "lambda_gb_second_arm64",
    ...      "apigateway_http_request", "dynamodb_write_request_unit", "dynamodb_read_request_unit",
    ...      "s3_tier1_request", "s3_tier2_request", "sqs_request", "eventbridge_custom_event",
    ...      "secretsmanager_api_call", "kms_request", "cloudwatch_logs_ingested_gb",
    ...      "data_transfer_out_internet_gb")}
    >>> price_units({"transitions": 7, "lambda_requests": 2, "lambda_gb_seconds": 0.5}, p)["Step Functions"]
    7.0
    """
    usd = {name: float(entry["usd"]) for name, entry in prices.items()}

    def get(key: str) -> float:
        return float(units.get(key, 0.0))

    return {
        "Step Functions": get("transitions") * usd["stepfunctions_transition"],
        "Lambda": get("lambda_requests") * usd["lambda_request"]
        + get("lambda_gb_seconds") * usd["lambda_gb_second_arm64"],
        "API Gateway (HTTP API)": get("http_api_requests") * usd["apigateway_http_request"],
        "DynamoDB": get("dynamodb_write_units") * usd["dynamodb_write_request_unit"]
        + get("dynamodb_read_units") * usd["dynamodb_read_request_unit"],
        "S3 requests": get("s3_tier1_requests") * usd["s3_tier1_request"]
        + get("s3_tier2_requests") * usd["s3_tier2_request"],
        "SQS": get("sqs_requests") * usd["sqs_request"],
        "EventBridge": get("eventbridge_events") * usd["eventbridge_custom_event"],
        "Secrets Manager": get("secretsmanager_calls") * usd["secretsmanager_api_call"],
        "KMS": get("kms_requests") * usd["kms_request"],
        "CloudWatch Logs": get("log_bytes") / GB * usd["cloudwatch_logs_ingested_gb"],
        "Data transfer out": get("transfer_out_bytes") / GB * usd["data_transfer_out_internet_gb"],
    }


# ---------------------------------------------------------------- the meter


@dataclass
class Invocation:
    """One handler run: whose, and how much of its wall time was the bench's own bookkeeping."""

    function: str
    overhead: float = 0.0


_CURRENT: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("bench_cost_invocation", default=None)


@dataclass
class Meter:
    """Records every billable unit with the phase it happened in (only ``measure`` is priced)."""

    phase: str = "setup"
    invocations: list[tuple[str, str, float, int]] = field(default_factory=list)  # phase, function, s, MB
    calls: list[tuple[str, str, str, str, float]] = field(default_factory=list)  # phase, owner, svc, op, units
    http: list[tuple[str, str, str, int]] = field(default_factory=list)  # phase, owner, kind, bytes sent
    log_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    log_events: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    s3_origins: tuple[str, ...] = ()
    http_api_origin: str = ""
    provider_origin: str = ""
    logical_ids: dict[str, str] = field(default_factory=dict)  # physical function name -> logical id
    ddb: Any = None
    _suppress: threading.local = field(default_factory=threading.local)
    _key_schema: dict[str, list[str]] = field(default_factory=dict)

    # ------------------------------------------------------------ handlers

    def wrap(self, logical_id: str, memory_mb: int, module: str, attribute: str) -> Any:
        """A handler that imports the real one on first use, and times and attributes every run."""
        real: list[Any] = []

        def handler(event: Any, context: Any) -> Any:
            if not real:
                import importlib

                real.append(getattr(importlib.import_module(module), attribute))
            label = logical_id
            if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
                label = f"{logical_id} (schedule)"
            invocation = Invocation(label)
            token = _CURRENT.set(invocation)
            phase = self.phase
            started = time.perf_counter()
            try:
                return real[0](event, context)
            finally:
                elapsed = time.perf_counter() - started - invocation.overhead
                _CURRENT.reset(token)
                billed = math.ceil(max(elapsed, 0.0) * 1000) / 1000
                with self.lock:
                    self.invocations.append((phase, label, billed, memory_mb))

        return handler

    # ------------------------------------------------------------ botocore

    def _owner(self) -> str | None:
        invocation = _CURRENT.get()
        if invocation is not None:
            return invocation.function
        name = threading.current_thread().name
        if name.startswith("esm-"):
            physical = name[4:].rsplit("-", 1)[0]
            return f"poller:{self.logical_ids.get(physical, physical)}"
        return None

    def _record(self, owner: str, service: str, operation: str, units: float) -> None:
        with self.lock:
            self.calls.append((self.phase, owner, service, operation, units))

    def _get_item_size(self, table: str, key: dict[str, Any]) -> int:
        self._suppress.on = True
        try:
            item = self.ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        finally:
            self._suppress.on = False
        return item_size(item)

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        if table not in self._key_schema:
            self._suppress.on = True
            try:
                schema = self.ddb.describe_table(TableName=table)["Table"]["KeySchema"]
            finally:
                self._suppress.on = False
            self._key_schema[table] = [entry["AttributeName"] for entry in schema]
        return {name: item[name] for name in self._key_schema[table] if name in item}

    def _write_targets(self, operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if operation == "PutItem":
            return [(body["TableName"], self._key(body["TableName"], body["Item"]))]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(body["TableName"], body["Key"])]
        targets = []
        for entry in body.get("TransactItems", []):
            (_kind, spec), *_ = entry.items()
            key = spec.get("Key") or self._key(spec["TableName"], spec.get("Item", {}))
            targets.append((spec["TableName"], key))
        return targets

    def make_request_hook(self, original: Any) -> Any:
        meter = self

        def _make_request(client: Any, operation_model: Any, request_dict: Any, request_context: Any) -> Any:
            suppressed = getattr(meter._suppress, "on", False)
            owner = None if suppressed else meter._owner()
            if owner is None or meter.phase in ("setup", "done"):
                if not suppressed and meter.phase == "measure":  # kept, to show what was left out
                    thread = threading.current_thread().name.split("-")[0].split("_")[0]
                    service = client.meta.service_model.endpoint_prefix
                    meter._record(f"unattributed:{thread}", service, operation_model.name, 0.0)
                return original(client, operation_model, request_dict, request_context)
            service = client.meta.service_model.endpoint_prefix
            operation = operation_model.name
            invocation = _CURRENT.get()
            spent = 0.0
            body: dict[str, Any] = {}
            before: list[int] = []
            targets: list[tuple[str, dict[str, Any]]] = []
            if service == "dynamodb":
                started = time.perf_counter()
                raw = request_dict.get("body") or b"{}"
                body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                if operation in DDB_WRITES or operation == "TransactWriteItems":
                    targets = meter._write_targets(operation, body)
                    before = [meter._get_item_size(table, key) for table, key in targets]
                spent += time.perf_counter() - started
            result = original(client, operation_model, request_dict, request_context)
            started = time.perf_counter()
            parsed = result[1] if isinstance(result, tuple) and len(result) == 2 else {}
            meter._account(owner, service, operation, body, parsed, request_dict, targets, before)
            spent += time.perf_counter() - started
            if invocation is not None:
                invocation.overhead += spent
            return result

        return _make_request

    def _account(
        self,
        owner: str,
        service: str,
        operation: str,
        body: dict[str, Any],
        parsed: dict[str, Any],
        request_dict: Any,
        targets: list[tuple[str, dict[str, Any]]],
        before: list[int],
    ) -> None:
        if service == "dynamodb":
            if targets:
                after = [self._get_item_size(table, key) for table, key in targets]
                transactional = operation == "TransactWriteItems"
                units = sum(write_units(b, a, transactional=transactional) for b, a in zip(before, after, strict=True))
                self._record(owner, "dynamodb:write", operation, units)
            elif operation in ("GetItem", "Query", "Scan"):
                items = [parsed["Item"]] if parsed.get("Item") else parsed.get("Items", [])
                size = sum(item_size(item) for item in items)
                consistent = bool(body.get("ConsistentRead"))
                self._record(owner, "dynamodb:read", operation, read_units(size, consistent=consistent))
            else:
                self._record(owner, "dynamodb:other", operation, 1.0)
            return
        if service == "s3":
            kind = "s3:tier1" if operation in S3_TIER1 else "s3:free" if operation in S3_FREE else "s3:tier2"
            self._record(owner, kind, operation, 1.0)
            return
        if service == "sqs":
            if operation == "ChangeMessageVisibility" and owner.startswith("poller:"):
                return  # the local event source's shortcut for a quick retry; Lambda does not call it
            if operation == "ReceiveMessage":
                messages = parsed.get("Messages", [])
                size = sum(len(str(m.get("Body", ""))) for m in messages)
                kind = "sqs" if messages else "sqs:idle"
                self._record(owner, kind, operation, float(max(1, math.ceil(size / SQS_CHUNK))))
                return
            raw = request_dict.get("body") or b""
            self._record(owner, "sqs", operation, float(max(1, math.ceil(len(raw) / SQS_CHUNK))))
            return
        if service == "events" and operation == "PutEvents":
            raw = request_dict.get("body") or b"{}"
            entries = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw).get("Entries", [])
            events = sum(max(1, math.ceil(len(json.dumps(e)) / EVENT_CHUNK)) for e in entries)
            self._record(owner, "events", operation, float(events))
            return
        self._record(owner, service, operation, 1.0)

    # ------------------------------------------------------------ requests

    def send_hook(self, original: Any) -> Any:
        meter = self

        def send(session: Any, request: Any, **kwargs: Any) -> Any:
            owner = meter._owner()
            if owner is not None and meter.phase not in ("setup", "done"):
                from urllib.parse import urlsplit

                parts = urlsplit(request.url)
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin == meter.http_api_origin:
                    kind = "http_api"
                elif origin in meter.s3_origins:
                    kind = "s3:tier2" if request.method in ("GET", "HEAD") else "s3:tier1"
                elif origin == meter.provider_origin:
                    kind = "provider"
                else:
                    kind = "other"
                body = request.body or b""
                sent = len(body) + len(request.method) + len(request.path_url) + 12
                sent += sum(len(k) + len(str(v)) + 4 for k, v in request.headers.items())
                with meter.lock:
                    meter.http.append((meter.phase, owner, kind, sent))
            return original(session, request, **kwargs)

        return send

    # ------------------------------------------------------------ logs

    def log_stream(self, real: Any) -> Any:
        meter = self

        class _Tee(io.TextIOBase):
            def write(self, text: str) -> int:
                invocation = _CURRENT.get()
                if invocation is None:
                    if "NoSuchJsonPathError" in text:  # moto's Choice state printing an absent optional path
                        return len(text)
                    return int(real.write(text))
                with meter.lock:
                    key = (meter.phase, invocation.function)
                    meter.log_bytes[key] += len(text.encode("utf-8"))
                    meter.log_events[key] += text.count("\n")
                return len(text)

            def flush(self) -> None:
                real.flush()

            def isatty(self) -> bool:
                return False

        return _Tee()


def install_hooks(meter: Meter) -> None:
    """Wrap botocore's and requests' senders and stdout/stderr, for the rest of the process."""
    import botocore.client
    import requests

    client_cls: Any = botocore.client.BaseClient
    original_request = client_cls._make_request
    client_cls._make_request = meter.make_request_hook(original_request)
    session_cls: Any = requests.Session
    session_cls.send = meter.send_hook(session_cls.send)
    # A handler's work in a thread pool (s3transfer's uploads) stays the handler's.
    import concurrent.futures

    pool_cls: Any = concurrent.futures.ThreadPoolExecutor
    original_submit = pool_cls.submit

    def submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return original_submit(executor, contextvars.copy_context().run, fn, *args, **kwargs)

    pool_cls.submit = submit
    sys.stdout = meter.log_stream(sys.stdout)
    sys.stderr = meter.log_stream(sys.stderr)


# ---------------------------------------------------------------- one engine


def run_jobs(stack: Any, data: bytes, jobs: list[tuple[str, str]], in_flight: int, timeout: float) -> dict[str, str]:
    """Upload ``(stem, title)`` jobs, at most ``in_flight`` unfinished at once; wait for every outcome."""
    pending = list(jobs)
    started_stems: set[str] = set()
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while (pending or len(found) < len(started_stems)) and time.monotonic() < deadline:
        while pending and len(started_stems) - len(found) < in_flight:
            stem, title = pending.pop(0)
            stack.upload(data, f"incoming/{stem}.jpg", {"poster-title": title})
            started_stems.add(stem)
        time.sleep(0.5)
        found = stack.outcomes(started_stems)
        print(f"\r  {len(found)}/{len(jobs)} finished", end="", file=sys.__stderr__, flush=True)
    print(file=sys.__stderr__)
    return found


def _transitions(stack: Any, arn: str) -> int:
    events = stack.history(arn)
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    task_entered = sum(1 for e in events if e["type"] == "TaskStateEntered")
    scheduled = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, scheduled - task_entered)  # retries are transitions too


def background(side: int) -> bytes:
    """The sample photo scaled to ``side`` px on its long edge, as a JPEG."""
    from PIL import Image

    with Image.open(PHOTO) as opened:
        image = opened.convert("RGB")
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@dataclass(frozen=True)
class _EnginePlan:
    """What one engine's run uploads and how the stack is configured for it."""

    parameters: dict[str, str]
    config: dict[str, Any] | None
    titles: list[str]
    stems: list[str]
    task_seconds: list[float]
    spare: int


def _plan_engine(engine: str, args: argparse.Namespace) -> _EnginePlan:
    rng = random.Random(args.seed)
    spare = 10  # more warm-up jobs, if the first ones hashed to fewer than MIN_SAMPLES history slots
    total = args.warm + spare + args.jobs
    titles = [f"Launch night #{engine[:1]}{i:03d}" for i in range(total)]
    stems = [f"cost-{engine}-{i:03d}" for i in range(total)]
    parameters: dict[str, str] = {"Engine": engine}
    config: dict[str, Any] | None = None
    task_seconds: list[float] = []
    if engine == "dashscope":
        task_seconds = [rng.uniform(args.task_low, args.task_high) for _ in range(total)]
        parameters |= {"ModelName": "wanx-ast", "ModelMaxInProgress": str(args.max_in_progress)}
        config = {
            "max_in_progress": args.max_in_progress,
            "rules": [{"match": t, "task_seconds": s} for t, s in zip(titles, task_seconds, strict=True)],
        }
    return _EnginePlan(parameters, config, titles, stems, task_seconds, spare)


def run_engine(engine: str, meter: Meter, args: argparse.Namespace, data: bytes) -> dict[str, Any]:
    """Warm, then measure; the raw counts of the measured window and what the run looked like."""
    from local_stack.stack import DEFAULT_TEMPLATE, LocalStack
    from local_stack.template import Template

    plan = _plan_engine(engine, args)
    functions = Template(DEFAULT_TEMPLATE, plan.parameters, stack_name="poster-local").functions()
    handlers = {s.logical_id: meter.wrap(s.logical_id, s.memory_mb, s.module, s.attribute) for s in functions}
    meter.logical_ids = {s.name: s.logical_id for s in functions}
    memory = {s.logical_id: s.memory_mb for s in functions}
    in_flight = args.max_in_progress if engine == "dashscope" else args.composer_in_flight

    with LocalStack(parameters=plan.parameters, composer_config=plan.config, handlers=handlers) as stack:
        _attach_meter(meter, stack, engine)
        meter.phase = "warm"
        warmed = _warm(stack, engine, plan, args, data, in_flight)
        learned_before = _learned(stack)
        measured, seam_counts = _measure(stack, engine, meter, plan, args, data, in_flight)
    history = learned_before
    return {
        "engine": engine,
        "parameters": plan.parameters,
        "in_flight": in_flight,
        "warm_jobs": warmed,
        "jobs": args.jobs,
        **measured,
        "task_seconds_drawn": [round(s, 2) for s in plan.task_seconds[-args.jobs :]] if plan.task_seconds else [],
        "learned_history": {
            "samples": len(history),
            "p05": history[max(0, math.ceil(0.05 * len(history)) - 1)] if history else None,
            "p95": history[max(0, math.ceil(0.95 * len(history)) - 1)] if history else None,
        },
        "memory_mb": memory,
        "seam_invocations_total": seam_counts,
    }


def _attach_meter(meter: Meter, stack: Any, engine: str) -> None:
    """Point the meter at the running stack: its DynamoDB (item sizes), S3, HTTP API and provider origins."""
    import boto3

    meter.ddb = boto3.session.Session().client(
        "dynamodb", endpoint_url=stack.moto_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    meter._key_schema = {}
    s3_endpoint = stack.environment.get("AWS_ENDPOINT_URL_S3", "")
    meter.s3_origins = tuple(o for o in (stack.moto_endpoint, s3_endpoint) if o)
    meter.http_api_origin = stack.composer_origin if engine == "composer" else ""
    meter.provider_origin = stack.composer_origin if engine == "dashscope" else ""


def _learned(stack: Any) -> list[float]:
    """The task durations polling has learnt so far, sorted."""
    items = stack.client("dynamodb").query(
        TableName=stack.environment["DURATION_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"durations#{stack.environment['DASHSCOPE_MODEL']}"}},
    )["Items"]
    return sorted(float(item["seconds"]["N"]) for item in items)


def _warm(stack: Any, engine: str, plan: _EnginePlan, args: argparse.Namespace, data: bytes, in_flight: int) -> int:
    """Run warm-up jobs until polling has learnt ``MIN_SAMPLES`` durations (or the spare jobs run out)."""
    warmed, batch = 0, args.warm
    while batch > 0 and warmed + batch <= args.warm + plan.spare:
        print(f"{engine}: warming with {batch} jobs", file=sys.__stderr__)
        warm_jobs = list(zip(plan.stems[warmed : warmed + batch], plan.titles[warmed : warmed + batch], strict=True))
        run_jobs(stack, data, warm_jobs, in_flight, args.timeout)
        warmed += batch
        time.sleep(2.0)
        batch = min(MIN_SAMPLES - len(_learned(stack)), args.warm + plan.spare - warmed)
    return warmed


def _measure(
    stack: Any,
    engine: str,
    meter: Meter,
    plan: _EnginePlan,
    args: argparse.Namespace,
    data: bytes,
    in_flight: int,
) -> tuple[dict[str, Any], dict[str, int]]:
    """The measured window: its jobs run, then what their executions and the provider show; the seam's counts."""
    stats_before = stack.composer_stats() if engine == "dashscope" else None
    print(f"{engine}: measuring {args.jobs} jobs", file=sys.__stderr__)
    meter.phase = "measure"
    started = time.monotonic()
    measured = list(zip(plan.stems[-args.jobs :], plan.titles[-args.jobs :], strict=True))
    found = run_jobs(stack, data, measured, in_flight, args.timeout)
    wall = time.monotonic() - started
    time.sleep(3.0)  # the pollers' deletes, the last log lines
    meter.phase = "done"
    stats_after = stack.composer_stats() if engine == "dashscope" else None
    measured_stems = {stem for stem, _ in measured}
    executions = [e for e in stack.executions() if e.stem in measured_stems]
    sources: list[int] = []
    s3 = stack.client("s3")
    for execution in executions:
        job = execution.input["job"]
        ref = job.get("normalised") or job["source"]
        sources.append(int(s3.head_object(Bucket=ref["bucket"], Key=ref["key"])["ContentLength"]))
    accepted = 0
    if stats_before is not None and stats_after is not None:
        accepted = stats_after["submissions"]["accepted"] - stats_before["submissions"]["accepted"]
    return {
        "posters": sum(1 for kind in found.values() if kind == "POSTER"),
        "failure_records": sum(1 for kind in found.values() if kind == "FAILURE"),
        "unfinished": args.jobs - len(found),
        "wall_seconds": round(wall, 1),
        "transitions": [_transitions(stack, e.arn) for e in executions],
        "first_wait_seconds": [e.input["poll"]["wait_seconds"] for e in executions if isinstance(e.input, dict)],
        "background_bytes": sources,
        "provider_accepted_tasks": accepted,
    }, dict(stack.seam.counts())


# ---------------------------------------------------------------- per poster


def per_poster_units(run: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """The measured window's units divided by the posters made."""
    posters = max(1, run["posters"])
    lambda_requests, lambda_seconds, gb_seconds, sweeps = _lambda_usage(meter)
    calls, units, idle_receives, unattributed = _api_usage(meter)
    http, provider_bytes = _http_usage(meter)
    log_bytes = sum(b for (p, f), b in meter.log_bytes.items() if p == "measure" and not f.endswith("(schedule)"))
    log_events = sum(n for (p, f), n in meter.log_events.items() if p == "measure" and not f.endswith("(schedule)"))
    invocations = sum(lambda_requests.values())
    secret_calls = units.get("secretsmanager", 0.0)
    uploads = run["jobs"]
    provider_gets = run["provider_accepted_tasks"]
    provider_get_bytes = (
        provider_gets * statistics.mean(run["background_bytes"]) if provider_gets and run["background_bytes"] else 0
    )
    billable = {
        "transitions": sum(run["transitions"]) / posters,
        "lambda_requests": invocations / posters,
        "lambda_gb_seconds": sum(gb_seconds.values()) / posters,
        "http_api_requests": http["http_api"] / posters,
        "dynamodb_write_units": units["dynamodb:write"] / posters,
        "dynamodb_read_units": units["dynamodb:read"] / posters,
        "s3_tier1_requests": (units["s3:tier1"] + http["s3:tier1"]) / posters,
        "s3_tier2_requests": (units["s3:tier2"] + http["s3:tier2"] + provider_gets) / posters,
        "sqs_requests": (units["sqs"] + uploads) / posters,
        "eventbridge_events": units["events"] / posters,
        "secretsmanager_calls": secret_calls / posters,
        "kms_requests": secret_calls / posters,
        "log_bytes": (log_bytes + LOG_EVENT_OVERHEAD * log_events + PLATFORM_LOG_BYTES * invocations) / posters,
        "transfer_out_bytes": (provider_bytes + provider_get_bytes) / posters,
    }
    return {
        "billable": billable,
        "lambda_by_function": {
            f: {
                "requests": lambda_requests[f] / posters,
                "mean_ms": 1000 * lambda_seconds[f] / lambda_requests[f],
                "memory_mb": run["memory_mb"].get(f),
                "gb_seconds": gb_seconds[f] / posters,
            }
            for f in sorted(lambda_requests)
        },
        "api_calls": {f"{s} {o}": n / posters for (s, o), n in sorted(calls.items())},
        "http_requests": {k: n / posters for k, n in sorted(http.items())},
        "derived": {
            "sqs_s3_notifications": uploads / posters,
            "provider_background_gets": provider_gets / posters,
            "provider_background_bytes": provider_get_bytes / posters,
            "kms_decrypts_estimated": secret_calls / posters,
            "platform_log_bytes_estimated": PLATFORM_LOG_BYTES * invocations / posters,
        },
        "handler_log_bytes": log_bytes / posters,
        "unattributed_calls_in_window": dict(unattributed),
        "fixed": {
            "sweeps_in_window": len(sweeps),
            "sweep_gb_seconds_mean": statistics.mean(sweeps) if sweeps else None,
            "idle_sqs_receives_in_window_local": idle_receives,
        },
    }


def _lambda_usage(
    meter: Meter,
) -> tuple[Counter[str], defaultdict[str, float], defaultdict[str, float], list[float]]:
    """The measured window's requests, seconds and GB-s per function; the schedule's sweeps' GB-s apart."""
    lambda_requests: Counter[str] = Counter()
    lambda_seconds: defaultdict[str, float] = defaultdict(float)
    gb_seconds: defaultdict[str, float] = defaultdict(float)
    sweeps: list[float] = []
    for phase, function, seconds, memory in meter.invocations:
        if phase != "measure":
            continue
        if function.endswith("(schedule)"):
            sweeps.append(seconds * memory / 1024)
            continue
        lambda_requests[function] += 1
        lambda_seconds[function] += seconds
        gb_seconds[function] += seconds * memory / 1024
    return lambda_requests, lambda_seconds, gb_seconds, sweeps


def _api_usage(meter: Meter) -> tuple[Counter[tuple[str, str]], defaultdict[str, float], float, Counter[str]]:
    """The measured window's AWS calls per operation, units per service, idle SQS receives, unattributed calls."""
    calls: Counter[tuple[str, str]] = Counter()
    units: defaultdict[str, float] = defaultdict(float)
    idle_receives = 0.0
    unattributed: Counter[str] = Counter()
    for phase, owner, service, operation, amount in meter.calls:
        if phase != "measure":
            continue
        if owner.startswith("unattributed:"):
            unattributed[f"{owner.removeprefix('unattributed:')} {service} {operation}"] += 1
            continue
        if owner.endswith("(schedule)"):
            continue
        if service == "sqs:idle":
            idle_receives += amount
            continue
        calls[(service, operation)] += 1
        units[service] += amount
    return calls, units, idle_receives, unattributed


def _http_usage(meter: Meter) -> tuple[Counter[str], int]:
    """The measured window's HTTP requests per kind, and the bytes sent to the provider."""
    http: Counter[str] = Counter()
    provider_bytes = 0
    for phase, owner, kind, sent in meter.http:
        if phase != "measure" or owner.endswith("(schedule)"):
            continue
        http[kind] += 1
        if kind == "provider":
            provider_bytes += sent
    return http, provider_bytes


def fixed_monthly(per: dict[str, Any], prices: dict[str, Any], queues: int) -> dict[str, float]:
    """Costs that do not grow with posters (estimated): the minute sweep and the SQS pollers' idle polls."""
    usd = {name: float(entry["usd"]) for name, entry in prices.items()}
    sweep_gbs = per["fixed"]["sweep_gb_seconds_mean"] or 0.0
    sweep = SWEEPS_PER_MONTH * (usd["lambda_request"] + sweep_gbs * usd["lambda_gb_second_arm64"])
    # Lambda's SQS event source: about 5 pollers long-polling 20 s each, per queue (AWS's, not the local 1 s).
    idle = queues * 5 * 3 * 60 * 24 * 30 * usd["sqs_request"]
    return {"slots_sweep_per_month": sweep, "sqs_idle_polls_per_month": idle}


# ---------------------------------------------------------------- output

NOTES = """\
Counted: transitions (execution histories), Lambda requests and handler wall time x MemorySize (this 2-core
machine, moto in-process: not Lambda's CPU), every AWS API call of the handlers and the SQS pollers, DynamoDB units
from item sizes, presigned S3 GETs and HTTP API requests, handler log bytes (+26 B/event).
Derived or estimated: the S3 event notification's SQS send (1/upload); Lambda's START/END/REPORT lines (350 B per
invocation); KMS = 1 Decrypt per GetSecretValue; with DashScope, the provider's presigned GET of the background
(1/accepted task) and its bytes out to the internet. Secrets Manager: Powertools caches the key 300 s and, locally,
one cache serves every function, so a steady stream reads ~0 per poster; a lone poster on AWS reads up to 5
(Submit, Slots, Poll, Finalize, the composer API) = $0.000025 + KMS $0.000015.
Not counted: the user's upload PUT, storage, INIT time of cold starts, custom metrics and alarms (monthly), free tiers.
Prices: bench/prices.json (us-east-1 list prices as of 2026-11-27, not re-checked online).
"""


def table(engine: str, per: dict[str, Any], dollars: dict[str, float], run: dict[str, Any]) -> str:
    b = per["billable"]
    total = sum(dollars.values())
    units = {
        "Step Functions": f"{b['transitions']:.2f} transitions",
        "Lambda": f"{b['lambda_requests']:.2f} requests, {b['lambda_gb_seconds']:.3f} GB-s",
        "API Gateway (HTTP API)": f"{b['http_api_requests']:.2f} requests",
        "DynamoDB": f"{b['dynamodb_write_units']:.2f} WRU, {b['dynamodb_read_units']:.2f} RRU",
        "S3 requests": f"{b['s3_tier1_requests']:.2f} PUT-class, {b['s3_tier2_requests']:.2f} GET-class",
        "SQS": f"{b['sqs_requests']:.2f} requests",
        "EventBridge": f"{b['eventbridge_events']:.2f} events",
        "Secrets Manager": f"{b['secretsmanager_calls']:.3f} calls",
        "KMS": f"{b['kms_requests']:.3f} requests (est.)",
        "CloudWatch Logs": f"{b['log_bytes'] / 1024:.1f} KB",
        "Data transfer out": f"{b['transfer_out_bytes'] / 1024:.1f} KB",
    }
    lines = [
        f"### Engine={engine}: {run['posters']} posters measured after {run['warm_jobs']} warm-up jobs "
        f"({run['wall_seconds']} s)",
        "",
        "| service | units per poster | $ per poster | share |",
        "|---|---|---|---|",
    ]
    for service, usd in sorted(dollars.items(), key=lambda kv: -kv[1]):
        share = usd / total if total else 0.0
        lines.append(f"| {service} | {units[service]} | {usd:.8f} | {share:.1%} |")
    verdict = "within" if total <= GOAL_USD_PER_POSTER else f"{total / GOAL_USD_PER_POSTER:.2f}x"
    lines.append(f"| **total** | | **{total:.7f}** | {verdict} the $0.0002 goal |")
    lines.append(f"| **per 1,000 posters** | | **{total * 1000:.4f}** | |")
    lines.append("")
    lines.append("| function | invocations/poster | mean ms (this machine) | MB | GB-s/poster |")
    lines.append("|---|---|---|---|---|")
    for function, row in per["lambda_by_function"].items():
        lines.append(
            f"| {function} | {row['requests']:.2f} | {row['mean_ms']:.0f} | {row['memory_mb']} "
            f"| {row['gb_seconds']:.4f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engines", default="composer,dashscope")
    parser.add_argument("--jobs", type=int, default=0, help="measured jobs (default: 20 composer, 15 dashscope)")
    parser.add_argument("--warm", type=int, default=10, help="warm-up jobs (>= 5: polling that learns needs 5)")
    parser.add_argument("--max-in-progress", type=int, default=5, help="ModelMaxInProgress and the stand-in's")
    parser.add_argument("--composer-in-flight", type=int, default=2, help="Engine=composer: jobs unfinished at once")
    parser.add_argument("--task-low", type=float, default=8.0)
    parser.add_argument("--task-high", type=float, default=40.0)
    parser.add_argument("--side", type=int, default=1024, help="long edge of the uploaded photo, px")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "cost.json")
    args = parser.parse_args()

    document = load_prices()
    data = background(args.side)
    meter = Meter()
    install_hooks(meter)
    report = _report_head(document, data)
    tables = []
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        report["runs"][engine], text = _engine_report(engine, meter, args, data, document["prices"])
        tables.append(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    tables.append(NOTES)
    print("\n".join(tables), file=sys.__stdout__)
    print(f"wrote {args.out}", file=sys.__stdout__)
    return 0


def _report_head(document: dict[str, Any], data: bytes) -> dict[str, Any]:
    """The report before any run: the commit measured, the prices, the goal, the upload's size."""
    import subprocess

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    return {
        "commit": head.stdout.strip(),
        "uncommitted_files": [line[3:] for line in dirty.stdout.splitlines()],
        "prices": document,
        "goal_usd_per_poster": GOAL_USD_PER_POSTER,
        "upload_bytes": len(data),
        "runs": {},
    }


def _engine_report(
    engine: str, meter: Meter, args: argparse.Namespace, data: bytes, prices: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """One engine's run, priced: its entry in the report and its table."""
    meter.invocations.clear()
    meter.calls.clear()
    meter.http.clear()
    meter.log_bytes.clear()
    meter.log_events.clear()
    meter.phase = "setup"
    engine_args = argparse.Namespace(**vars(args))
    engine_args.jobs = args.jobs or (20 if engine == "composer" else 15)
    run = run_engine(engine, meter, engine_args, data)
    per = per_poster_units(run, meter)
    dollars = price_units(per["billable"], prices)
    total = sum(dollars.values())
    fixed = fixed_monthly(per, prices, queues=2 if engine == "composer" else 1)
    entry = {
        "run": run,
        "per_poster": per,
        "usd_per_poster": dollars,
        "share": {k: (v / total if total else 0.0) for k, v in dollars.items()},
        "total_usd_per_poster": total,
        "total_usd_per_1000_posters": total * 1000,
        "goal_ratio": total / GOAL_USD_PER_POSTER,
        "fixed_usd_per_month_estimated": fixed,
    }
    learned = run["learned_history"]
    text = table(engine, per, dollars, run) + (
        f"\n\nlearned history before measuring: {learned['samples']} durations (p5 {learned['p05']} s, "
        f"p95 {learned['p95']} s); first Wait of measured jobs: {sorted(set(run['first_wait_seconds']))} s; "
        f"fixed (not per poster, est.): sweep ${fixed['slots_sweep_per_month']:.3f}/month, "
        f"idle SQS polls ${fixed['sqs_idle_polls_per_month']:.2f}/month\n"
    )
    return entry, text


if __name__ == "__main__":
    sys.exit(main())
