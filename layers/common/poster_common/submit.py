"""Submit: from an uploaded object to a parked job (or a failure record); ``submit_task`` talks to the API.

``plan_job`` does the cheap reads (which image, which spec) and names the job; ``start_job`` does
the work once per job id (the handler wraps it in Powertools idempotency): validate the spec, check
the image and the logo, and park the job in the quota gate's FIFO. ``poster_common.dispatch`` then
takes parked jobs, oldest first, whenever a provider slot is free, and calls ``submit_task``
(presign right before submitting, then POST the task) and ``execution_input``.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from poster_common import images, jobspec, normalise, profiles
from poster_common.errors import PermanentError, SidecarImageNotYetError, SourceMissingError, TransientError
from poster_common.models import Job, ObjectRef, SubmittedTask, job_id_for, stem_for
from poster_common.notify import FailureRecord, record_job_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from poster_common.config import Settings
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
    """Validate the job and park it for dispatch; permanent problems become a failure record."""
    settings = services.settings
    source = ObjectRef(**request["source"])
    try:
        if request["problem"]:
            raise PermanentError(request["problem"]["message"], code=request["problem"]["code"])
        spec = jobspec.validate(jobspec.RawSpec(**request["raw_spec"]))
        profile = profiles.find_profile(settings.model)
        if profile is not None:
            profile.check_spec(spec)  # what this model cannot carry fails now, not after waiting for a slot
        normalised = _check_background(source, request["size"], request["job_id"], services)
        if spec.logo_key:
            _check_logo(source.bucket, spec.logo_key, services)
        job = Job(request["job_id"], request["stem"], settings.model, source, spec, normalised=normalised)
    except PermanentError as exc:
        record_submit_failure(
            job_id=request["job_id"], stem=request["stem"], source=source, error=exc, services=services
        )
        return {"outcome": "FAILED", "code": exc.code}
    if not services.slots.park(job.to_dict()):
        logger.info("job %s was parked before: duplicate event", job.job_id)
        return {"outcome": "DUPLICATE"}
    logger.info("job %s parked", job.job_id)
    return {"outcome": "PARKED"}


def record_submit_failure(
    *, job_id: str, stem: str, source: ObjectRef, error: PermanentError | TransientError, services: Services
) -> None:
    """The failure record and FAILED event of a job that never reached the state machine."""
    logger.warning("job %s failed at submit: %s", job_id, error.code)
    record = FailureRecord(job_id, "submit", error.code, error.message, source, request_id=error.request_id)
    record_job_failure(stem, record, services)


def submit_task(
    job: Job,
    services: Services,
    *,
    before_attempt: Callable[[], None] | None = None,
    on_transient: Callable[[TransientError], None] | None = None,
) -> SubmittedTask:
    """POST the job's task in its model profile's shape (the background, and the logo, presigned right before).

    Raises
    ------
    PermanentError
        ``ModelProfileMissing``: the job was parked for a model that has no profile in this deployment.
    """
    settings, store = services.settings, services.store
    profile = profiles.find_profile(job.model)
    if profile is None:
        raise PermanentError(f"model {job.model!r} has no model profile here", code="ModelProfileMissing")
    logo_url = None
    if job.spec.logo_key:
        logo_url = store.presign_get(job.source.bucket, job.spec.logo_key, expires=settings.presign_expires_seconds)
    # Presigned right before submitting: a Lambda role's credentials expire, and the URL with them.
    background = job.background
    background_url = store.presign_get(
        background.bucket, background.key, version_id=background.version_id, expires=settings.presign_expires_seconds
    )
    request = profile.build_request(job.spec, background_url, logo_url)
    return services.api.submit(
        job.model,
        request.input,
        request.parameters,
        path=profile.submit_path,
        before_attempt=before_attempt,
        on_transient=on_transient,
    )


def execution_input(
    job: Job, task: dict[str, Any], settings: Settings, first_wait: int | None = None
) -> dict[str, Any]:
    """The state machine's input (no URL, key or signature: see docs/design.md); ``first_wait`` (whole seconds
    before the first Poll) defaults to the poll schedule's first step."""
    return {
        "job": job.to_dict(),
        "task": {"task_id": task["task_id"], "request_id": task.get("request_id")},
        "limits": {"max_attempts": settings.max_poll_attempts, "max_wait_seconds": settings.max_wait_seconds},
        "poll": {
            "status": "PENDING",
            "attempt": 0,
            "wait_seconds": settings.poll_schedule[0] if first_wait is None else first_wait,
            "elapsed_seconds": 0,
        },
    }


def _check_background(source: ObjectRef, size: int, job_id: str, services: Services) -> ObjectRef | None:
    """Refuse what cannot become a background; write the normalised copy of what needs one and return it.

    The copy goes to ``<NORMALISED_PREFIX><job_id>.<png|jpg>`` in the output bucket, outside the input
    prefix, so it never starts a job; its key is deterministic, so a retried check rewrites the same object.
    """
    settings, store = services.settings, services.store
    head = store.read(source.bucket, source.key, max_bytes=images.HEAD_BYTES, version_id=source.version_id)
    info = images.sniff(head)
    images.check_background(info, size, settings.max_input_bytes)
    images.check_complete(
        info, store.read_tail(source.bucket, source.key, nbytes=images.TAIL_BYTES, version_id=source.version_id)
    )
    reasons = images.normalisation_reasons(info)
    if not reasons:
        return None
    data = store.read(source.bucket, source.key, max_bytes=settings.max_input_bytes, version_id=source.version_id)
    copy = normalise.normalise(data, keep_format=info.format)
    normalised = ObjectRef(settings.output_bucket, _normalised_key(settings, job_id, info))
    store.put_bytes(normalised.bucket, normalised.key, copy.body, content_type=copy.content_type)
    logger.info("normalised the background of job %s (%s) to %dx%d", job_id, ",".join(reasons), copy.width, copy.height)
    return normalised


def _normalised_key(settings: Settings, job_id: str, info: images.ImageInfo) -> str:
    return f"{settings.normalised_prefix}{job_id}.{'png' if info.format == 'PNG' else 'jpg'}"


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
