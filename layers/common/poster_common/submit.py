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
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from poster_common import images, jobspec, normalise, profiles
from poster_common.errors import PermanentError, SidecarImageNotYetError, SourceMissingError, TransientError
from poster_common.models import Delivery, Job, ObjectRef, SubmittedTask, format_job_id, job_id_for, stem_for
from poster_common.notify import FailureRecord, record_job_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from poster_common.config import Settings
    from poster_common.services import Services
    from poster_common.triggers import PosterRequest

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
UNSUPPORTED_EXTENSIONS = (".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif")
SIDECAR_WITHOUT_IMAGE = "the sidecar has no image beside it (.png, .jpg or .jpeg with the same stem)"


def plan_job(request: PosterRequest, services: Services, *, last_try: bool = True) -> dict[str, Any] | None:
    """Name the job a request stands for; None when an uploaded object is not ours to process.

    A sidecar whose image is not there yet raises ``SidecarImageNotYetError`` (the message comes back
    later) until ``last_try``, when it becomes a ``SidecarWithoutImage`` failure record. A "Poster
    requested" event is always answered: an object that cannot be a job becomes a failure record.
    """
    settings = services.settings
    ref = request.ref
    if request.problem is not None:
        return _problem(request, *request.problem, services=services)
    if not request.by_event:
        if not ref.key.startswith(settings.input_prefix) or ref.key.endswith("/"):
            logger.info("ignoring %s: outside the input prefix", ref.key)
            return None
        if ref.key.endswith(jobspec.SIDECAR_SUFFIX):
            image_key = _image_beside(ref.bucket, ref.key, services)
            if image_key is None:
                if not last_try:
                    raise SidecarImageNotYetError(f"no image beside {ref.key} yet")
                stem = ref.key[len(settings.input_prefix) : -len(jobspec.SIDECAR_SUFFIX)]
                return _problem(request, "SidecarWithoutImage", SIDECAR_WITHOUT_IMAGE, services=services, stem=stem)
            request = replace(request, ref=ObjectRef(ref.bucket, image_key))
    extension = posixpath.splitext(request.ref.key)[1].lower()
    if extension in UNSUPPORTED_EXTENSIONS or (request.by_event and extension not in IMAGE_EXTENSIONS):
        message = f"{extension or 'a file without extension'} is not supported: upload a PNG or JPEG"
        return _problem(request, "UnsupportedImageFormat", message, services=services)
    if extension not in IMAGE_EXTENSIONS:
        logger.info("ignoring %s: not an image", request.ref.key)
        return None
    try:
        head = services.store.head(request.ref.bucket, request.ref.key, request.ref.version_id)
    except SourceMissingError as exc:
        return _problem(request, exc.code, exc.message, services=services)
    source = ObjectRef(request.ref.bucket, request.ref.key, head.version_id or request.ref.version_id, head.etag)
    raw = _raw_spec(source, head.metadata, request.spec, services)
    return {
        "job_id": job_id_for(source, _identity(raw), settings.model),
        "stem": stem_for(source.key, settings.input_prefix),
        "source": asdict(source),
        "raw_spec": asdict(raw),
        "size": head.size,
        "problem": None,
        "correlation_id": request.correlation_id,
    }


def start_job(request: dict[str, Any], services: Services) -> dict[str, Any]:
    """Validate the job and park it (one job per format) for dispatch; permanent problems become a failure record."""
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
    except PermanentError as exc:
        record = _submit_failure(request["job_id"], source, exc, correlation_id=request.get("correlation_id"))
        record_job_failure(request["stem"], record, services)
        return {"outcome": "FAILED", "code": exc.code}
    job = Job(request["job_id"], request["stem"], settings.model, source, spec, normalised=normalised)
    parked = [services.slots.park(part.to_dict()) for part in _one_job_per_format(job, request, services)]
    if not any(parked):
        logger.info("job %s was parked before: duplicate event", job.job_id)
        return {"outcome": "DUPLICATE"}
    logger.info("job %s parked (%d of %d jobs new)", job.job_id, sum(parked), len(parked))
    return {"outcome": "PARKED"}


def _one_job_per_format(job: Job, request: dict[str, Any], services: Services) -> list[Job]:
    """The job itself, or one job per format (their request opened in the quota gate's table first).

    A model that cannot render at a size (its profile ignores ``formats``) gets the one job; its manifest says so.
    """
    correlation_id = request.get("correlation_id")
    profile = profiles.find_profile(job.model)
    formats = () if profile is None or "formats" in profile.ignored_fields else job.spec.formats
    if not formats:
        return [replace(job, delivery=Delivery(correlation_id=correlation_id))]
    labels = tuple(f.label for f in formats)
    services.format_sets.open(job.job_id, labels)
    return [
        replace(
            job,
            job_id=format_job_id(job.job_id, poster_format),
            delivery=Delivery(correlation_id, poster_format, job.job_id, labels),
        )
        for poster_format in formats
    ]


def record_submit_failure(job: Job, error: PermanentError | TransientError, services: Services) -> None:
    """The failure record and FAILED event of a job that never reached the state machine."""
    record_job_failure(job.stem, _submit_failure(job.job_id, job.source, error), services, job=job)


def _submit_failure(
    job_id: str, source: ObjectRef, error: PermanentError | TransientError, *, correlation_id: str | None = None
) -> FailureRecord:
    logger.warning("job %s failed at submit: %s", job_id, error.code)
    return FailureRecord(
        job_id, "submit", error.code, error.message, source, request_id=error.request_id, correlation_id=correlation_id
    )


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
    request = profile.build_request(job.spec, background_url, logo_url, job.delivery.size)
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


def _raw_spec(source: ObjectRef, metadata: dict[str, str], inline: Any, services: Services) -> jobspec.RawSpec:
    """The event's inline spec, else the sidecar, the metadata or the file name; over the brand files' defaults."""
    if inline is not None:
        raw = jobspec.raw_from_event(inline)
    else:
        try:
            body = services.store.read(source.bucket, jobspec.sidecar_key_for(source.key), max_bytes=64 * 1024)
        except SourceMissingError:
            raw = jobspec.raw_from_metadata(metadata) or jobspec.raw_from_filename(source.key)
        else:
            raw = jobspec.raw_from_sidecar(body)
    return jobspec.with_defaults(raw, _brand_defaults(source, services))


def _brand_defaults(source: ObjectRef, services: Services) -> dict[str, Any]:
    """The ``brand.json`` files from the input prefix down to the image's folder, the nearest winning."""
    defaults: dict[str, Any] = {}
    for folder in jobspec.brand_folders(source.key, services.settings.input_prefix):
        key = folder + jobspec.BRAND_FILE
        try:
            body = services.store.read(source.bucket, key, max_bytes=64 * 1024)
        except SourceMissingError:
            continue
        defaults.update(jobspec.brand_defaults(body, key))
    return defaults


def _identity(raw: jobspec.RawSpec) -> Any:
    """What names a job besides the image version and the model: the validated spec, so the same spec sent by
    upload (sidecar, metadata) or by event is one job; a spec that fails validation is named by its raw data."""
    try:
        return jobspec.validate(raw).to_dict()
    except PermanentError:
        return raw.data


def _problem(
    request: PosterRequest, code: str, message: str, *, services: Services, stem: str | None = None
) -> dict[str, Any]:
    settings, ref = services.settings, request.ref
    problem = {"code": code, "message": message}
    return {
        "job_id": job_id_for(ref, problem, settings.model),
        "stem": stem or request.stem or stem_for(ref.key, settings.input_prefix),
        "source": asdict(ref),
        "raw_spec": None,
        "size": 0,
        "problem": problem,
        "correlation_id": request.correlation_id,
    }
