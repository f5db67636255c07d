"""Submit: from an uploaded object to a running job (or a failure record).

``plan_job`` does the cheap reads (which image, which spec) and names the job; ``start_job`` does
the work once per job id (the handler wraps it in Powertools idempotency): validate, check the
image, presign it, submit the task, start the execution named after the job.
"""

from __future__ import annotations

import json
import logging
import posixpath
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from poster_common import images, jobspec
from poster_common.exceptions import PermanentError, SidecarImageNotYetError, SourceMissingError
from poster_common.models import Job, ObjectRef, job_id_for, stem_for
from poster_common.notify import FailureRecord, failure_key, publish_finished, utc_now, write_failure

if TYPE_CHECKING:
    from poster_common.services import Services

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
UNSUPPORTED_EXTENSIONS = (".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif")


def plan_job(ref: ObjectRef, services: Services, *, last_try: bool = True) -> dict[str, Any] | None:
    """Name the job an upload stands for; None when the object is not ours to process.

    A sidecar whose image is not there yet raises ``SidecarImageNotYetError`` (the message comes back
    later) until ``last_try``, when it becomes a ``SidecarWithoutImage`` failure record.
    """
    settings = services.settings
    key = ref.key
    if not key.startswith(settings.input_prefix) or key.endswith("/"):
        logger.info("ignoring %s: outside the input prefix", key)
        return None
    if key.endswith(jobspec.SIDECAR_SUFFIX):
        image_key = _image_beside(ref.bucket, key, services)
        if image_key is None:
            if not last_try:
                raise SidecarImageNotYetError(f"no image beside {key} yet")
            return _problem(
                ref,
                settings.input_prefix,
                "SidecarWithoutImage",
                "the sidecar has no image beside it (.png, .jpg or .jpeg with the same stem)",
                stem=key[len(settings.input_prefix) : -len(jobspec.SIDECAR_SUFFIX)],
                model=settings.model,
            )
        ref = ObjectRef(ref.bucket, image_key)
    extension = posixpath.splitext(ref.key)[1].lower()
    if extension in UNSUPPORTED_EXTENSIONS:
        return _problem(
            ref,
            settings.input_prefix,
            "UnsupportedImageFormat",
            f"{extension} files are not supported: upload a PNG or JPEG",
            model=settings.model,
        )
    if extension not in IMAGE_EXTENSIONS:
        logger.info("ignoring %s: not an image", ref.key)
        return None
    try:
        head = services.store.head(ref.bucket, ref.key, ref.version_id)
    except SourceMissingError as exc:
        return _problem(ref, settings.input_prefix, exc.code, exc.message, model=settings.model)
    source = ObjectRef(ref.bucket, ref.key, head.version_id or ref.version_id, head.etag)
    raw = _raw_spec(source, head.metadata, services)
    return {
        "job_id": job_id_for(source, asdict(raw), settings.model),
        "stem": stem_for(source.key, settings.input_prefix),
        "source": asdict(source),
        "raw_spec": asdict(raw),
        "size": head.size,
        "problem": None,
    }


def start_job(request: dict[str, Any], services: Services) -> dict[str, Any]:
    """Do the job's one submission; permanent problems become a failure record, transient ones raise."""
    settings = services.settings
    source = ObjectRef(**request["source"])
    try:
        if request["problem"]:
            raise PermanentError(request["problem"]["message"], code=request["problem"]["code"])
        spec = jobspec.validate(jobspec.RawSpec(**request["raw_spec"]))
        _check_background(source, request["size"], services)
        job = Job(request["job_id"], request["stem"], settings.model, source, spec)
        return _submit(job, services)
    except PermanentError as exc:
        logger.warning("job %s failed at submit: %s", request["job_id"], exc.code)
        write_failure(
            services.store,
            settings.output_bucket,
            failure_key(settings.failure_prefix, request["stem"]),
            FailureRecord(request["job_id"], "submit", exc.code, exc.message, source, request_id=exc.request_id),
        )
        publish_finished(
            services.events,
            settings.event_bus_name,
            job_id=request["job_id"],
            source=source,
            outcome="FAILED",
            failure_code=exc.code,
        )
        return {"outcome": "FAILED", "code": exc.code}


def _submit(job: Job, services: Services) -> dict[str, Any]:
    settings, store = services.settings, services.store
    spec = job.spec
    api_input: dict[str, Any] = {"title": list(spec.title)}
    if spec.subtitle:
        api_input["subtitle"] = list(spec.subtitle)
    if spec.text:
        api_input["text"] = list(spec.text)
    api_input["underlay"] = spec.underlay
    if spec.logo_key:
        _check_logo(job.source.bucket, spec.logo_key, services)
        api_input["logo"] = store.presign_get(
            job.source.bucket, spec.logo_key, expires=settings.presign_expires_seconds
        )
    # Presigned right before submitting: a Lambda role's credentials expire, and the URL with them.
    api_input["image_url"] = store.presign_get(
        job.source.bucket, job.source.key, version_id=job.source.version_id, expires=settings.presign_expires_seconds
    )
    parameters = {"n": spec.n, "temperature": spec.temperature}
    task = services.api.submit(job.model, api_input, parameters)
    job = Job(job.job_id, job.stem, job.model, job.source, job.spec, submitted_at=utc_now())
    execution_input = {
        "job": job.to_dict(),
        "task": {"task_id": task.task_id, "request_id": task.request_id},
        "limits": {"max_attempts": settings.max_poll_attempts, "max_wait_seconds": settings.max_wait_seconds},
        "poll": {"status": "PENDING", "attempt": 0, "wait_seconds": settings.poll_schedule[0], "elapsed_seconds": 0},
    }
    try:
        execution = services.sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=job.execution_name,
            input=json.dumps(execution_input, ensure_ascii=False),
        )
        execution_arn = execution["executionArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        logger.info("execution %s already exists: duplicate event", job.execution_name)
        execution_arn = None
    logger.info("job %s submitted as task %s", job.job_id, task.task_id)
    return {"outcome": "SUBMITTED", "task_id": task.task_id, "execution_arn": execution_arn}


def _check_background(source: ObjectRef, size: int, services: Services) -> None:
    head = services.store.read(source.bucket, source.key, max_bytes=images.HEAD_BYTES, version_id=source.version_id)
    images.check_background(images.sniff(head), size, services.settings.max_input_bytes)


def _check_logo(bucket: str, key: str, services: Services) -> None:
    try:
        size = services.store.head(bucket, key).size
    except SourceMissingError as exc:
        raise PermanentError(f"logo {key!r} does not exist in the input bucket", code="LogoMissing") from exc
    head = services.store.read(bucket, key, max_bytes=images.HEAD_BYTES)
    images.check_logo(images.sniff(head), size)


def _image_beside(bucket: str, sidecar_key: str, services: Services) -> str | None:
    stem = sidecar_key[: -len(jobspec.SIDECAR_SUFFIX)]
    for extension in (*IMAGE_EXTENSIONS, *(ext.upper() for ext in IMAGE_EXTENSIONS)):
        if services.store.exists(bucket, stem + extension):
            return stem + extension
    return None


def _raw_spec(source: ObjectRef, metadata: dict[str, str], services: Services) -> jobspec.RawSpec:
    sidecar = jobspec.sidecar_key_for(source.key)
    try:
        body = services.store.read(source.bucket, sidecar, max_bytes=64 * 1024)
    except SourceMissingError:
        return jobspec.raw_from_metadata(metadata) or jobspec.raw_from_filename(source.key)
    return jobspec.raw_from_sidecar(body)


def _problem(
    ref: ObjectRef, input_prefix: str, code: str, message: str, *, model: str, stem: str | None = None
) -> dict[str, Any]:
    problem = {"code": code, "message": message}
    return {
        "job_id": job_id_for(ref, problem, model),
        "stem": stem if stem is not None else stem_for(ref.key, input_prefix),
        "source": asdict(ref),
        "raw_spec": None,
        "size": 0,
        "problem": problem,
    }
