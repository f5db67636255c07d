"""`LocalStack`: the whole pipeline on one machine, read from ``template.yaml``.

``start()`` runs, in order: dummy AWS credentials and ``AWS_ENDPOINT_URL`` in ``os.environ``, the moto
server, the engine, the resources the template declares, the union of the functions' environments (plus
the engine's address) in ``os.environ``, the Lambda seam routing moto's ``invoke`` to the real handlers,
and the SQS event-source emulation. ``stop()`` undoes all of it, including the environment.

The engine follows the template's ``Engine`` parameter, as it deploys:

- ``composer`` (the template's default): the composer service the template defines, run as it deploys.
  Its functions go through the seam, its table, queue and result bucket live in moto, its HTTP API is
  served over HTTPS by `local_stack.http_api`, and S3 is reached over HTTPS (`MotoServer.start_tls`),
  so Finalize fetches results from the result bucket's endpoint exactly as from the regional host on AWS.
- ``dashscope``: the composer's local server (`poster-composer serve`, a subprocess) stands in for
  DashScope; its quota and fault injection (``composer_config``) drive the pipeline's failure paths.

A rule whose target is an EventBridge API destination (the template's completion webhook, when
``CompletionWebhookUrl`` is set) is delivered by `local_stack.api_destinations`, with ``event_sources``.

With ``enforce_iam=True`` it also creates an admin user and one IAM role per function and state
machine with exactly the template's expanded policies, makes each handler sign with its own role
(`local_stack.iam`), and switches moto's IAM enforcement on once set-up is done
(`local_stack.iam.enforcement`).

The handlers run in this process and share ``os.environ``; so one `LocalStack` runs at a time per
process, and it refuses to start when two functions give one variable different values.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from local_stack.api_destinations import ApiDestinationEmulator, ApiDestinationOptions, start_api_destinations
from local_stack.composer_process import ComposerProcess
from local_stack.errors import LocalStackError
from local_stack.event_source import EventSourceMapping
from local_stack.http_api import HttpApiFront, http_apis
from local_stack.iam import IamRoles, RoleSession, run_as
from local_stack.iam.enforcement import MotoIamEnforcement
from local_stack.lambda_seam import Handler, LambdaSeam, LambdaTarget
from local_stack.moto_server import MotoServer, aws_environment
from local_stack.observe import Execution, Outcome, StackObservation, UploadResult
from local_stack.outputs import publish_outputs, resolved_outputs
from local_stack.resources import CreatedResources, create_resources
from local_stack.sfn_events import ExecutionEventEmulator, event_rules
from local_stack.template import FunctionSpec, Template

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_TEMPLATE", "Execution", "LocalStack", "LocalStackError", "Outcome", "UploadResult"]

_LOG = logging.getLogger(__name__)
DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def _own_parameter_cache(handler: Handler) -> Handler:
    """``handler`` with Powertools' parameter cache emptied before each run.

    On AWS each function has its own cache; locally the handlers share one, so a function could use the
    API key another one read. With ``enforce_iam`` each function reads what it needs under its own role.
    """

    def run(event: Any, context: Any) -> Any:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]
        return handler(event, context)

    return run


class LocalStack(StackObservation):
    """The pipeline on moto + the composer, configured from the SAM template (context manager).

    Parameters
    ----------
    template : Path | str
        The SAM template (default: the project's ``template.yaml``).
    parameters : Mapping[str, str] | None
        Template parameter overrides, e.g. ``{"PollSchedule": "0", "MaxWaitSeconds": "30"}``.
    stack_name : str
        ``AWS::StackName`` (names of buckets, queues, functions derive from it).
    environment : Mapping[str, str] | None
        Extra variables set last (they win over the template and the composer's address).
    handlers : Mapping[str, Handler] | None
        Replace a function's handler by logical id (``{"PollFunction": fake}``); the others are
        imported from ``CodeUri`` + ``Handler``.
    composer : bool
        Run the engine (see the module docstring) and point ``DASHSCOPE_BASE_URL`` & co. at it; off, the
        pipeline talks to nothing.
    composer_config : dict | None
        ``Engine=dashscope``: passed to the stand-in server as ``--config``.
    composer_command : list[str] | None
        ``Engine=dashscope``: replace ``python -m poster_composer`` (tests use a stub).
    composer_tls : bool
        ``Engine=dashscope``: serve the stand-in over HTTPS (``REQUESTS_CA_BUNDLE`` = its certificate).
    api_key : str | None
        The secret's value (default: a fresh ``sk-local-…``).
    event_sources : bool
        Run the SQS event-source emulation (off: tests drive the queue themselves).
    retry_visibility_seconds : int
        How soon a failed SQS message reappears locally.
    schedule_seconds : float | None
        Period of the emulated ``Schedule`` events (default: the template's rate); the status-change
        events of ended executions are emulated too (``local_stack/sfn_events.py``), with
        ``event_sources``.
    enforce_iam : bool
        Least privilege, enforced: each function (and the state machine) gets an IAM role with exactly
        its expanded policies (aws-sam-translator in process, ``local_stack.sam``), each handler signs with its own
        role's STS session, the stack's own clients with an admin user's key, and moto refuses
        whatever a policy does not allow (see `local_stack.iam`, `local_stack.iam.enforcement`).
    api_destinations : ApiDestinationOptions | None
        The API destination emulation's retry override and CA bundle (`local_stack.api_destinations`).

    Attributes (after `start`)
    --------------------------
    moto_endpoint, input_bucket, output_bucket, queue_url, dlq_url, events_queue_url,
    state_machine_arn, composer_origin (``""`` without composer), api_key, environment (the
    variables the handlers see), template, resources, seam, event_sources (mappings),
    composer (the process, or None); with ``enforce_iam``: iam (the roles and their sessions) and
    iam_enforcement (moto's decisions); api_destinations (the emulation, or None without such a rule).

    Examples
    --------
    >>> with LocalStack(parameters={"PollSchedule": "0"}) as stack:  # doctest: +SKIP
    ...     stack.upload(Path("photo.jpg"), "incoming/photo.jpg")
    ...     outcome = stack.wait_for_outcome("photo", timeout=60)
    """

    _running: LocalStack | None = None

    def __init__(
        self,
        template: Path | str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        *,
        stack_name: str = "poster-local",
        environment: Mapping[str, str] | None = None,
        handlers: Mapping[str, Handler] | None = None,
        composer: bool = True,
        composer_config: dict[str, Any] | None = None,
        composer_command: list[str] | None = None,
        composer_tls: bool = True,
        api_key: str | None = None,
        event_sources: bool = True,
        retry_visibility_seconds: int = 2,
        schedule_seconds: float | None = None,
        enforce_iam: bool = False,
        api_destinations: ApiDestinationOptions | None = None,
    ) -> None:
        self.template_path = Path(template).resolve()
        self.parameters = dict(parameters or {})
        self.stack_name = stack_name
        self.extra_environment = dict(environment or {})
        self.handler_overrides = dict(handlers or {})
        self.use_composer = composer
        self.composer_config = composer_config
        self.composer_command = composer_command
        self.composer_tls = composer_tls
        self.requested_api_key = api_key
        self.use_event_sources = event_sources
        self.retry_visibility_seconds = retry_visibility_seconds
        self.schedule_seconds = schedule_seconds
        self.enforce_iam = enforce_iam
        self.execution_events: ExecutionEventEmulator | None = None
        self.api_destination_options = api_destinations
        self.api_destinations: ApiDestinationEmulator | None = None
        self.iam: IamRoles | None = None
        self.iam_enforcement: MotoIamEnforcement | None = None
        self._init_runtime_state()

    def _init_runtime_state(self) -> None:
        """What start-up fills in: the servers, the resources and the endpoints (empty until then)."""
        self.moto: MotoServer | None = None
        self.composer: ComposerProcess | None = None
        self.engine = ""
        self.http_api_fronts: list[HttpApiFront] = []
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self.template: Template | None = None
        self.resources = CreatedResources()
        self.seam = LambdaSeam()
        self.event_sources: list[EventSourceMapping] = []
        self.environment: dict[str, str] = {}
        self.moto_endpoint = ""
        self.input_bucket = ""
        self.output_bucket = ""
        self.queue_url = ""
        self.dlq_url = ""
        self.events_queue_url = ""
        self.state_machine_arn = ""
        self.composer_origin = ""
        self.api_key = ""
        self._saved_environ: dict[str, str | None] = {}
        self._added_paths: list[str] = []
        self._started = False
        self._clients: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start everything (see the module docstring); on failure, undo what was started.

        Raises
        ------
        LocalStackError
            If two functions set one variable to different values, or a handler cannot be imported.
        TemplateError
            If the template cannot be resolved locally.
        """
        if self._started:
            return self
        if LocalStack._running is not None:
            raise LocalStackError(
                "another LocalStack is running in this process (they share os.environ and moto's state); stop it first"
            )
        LocalStack._running = self
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.iam, self.iam_enforcement = None, None
        self._start_moto()
        template = Template(
            self.template_path, self.parameters, stack_name=self.stack_name, queue_endpoint=self.moto_endpoint
        )
        self.template = template
        self.engine = self._engine(template)
        role_arns = self._create_roles(template)
        overrides = {**self._start_engine(template), **self.extra_environment}
        self._create_resources(template, overrides, role_arns)
        if self.iam is not None:
            self.iam.put_policies(self._admin_session())
            self.iam.assume(self._admin_session())
            self.iam.install()
        # Resolve again: the secret ARN, queue URLs and state machine ARN are now the real ones.
        functions = template.functions()
        self.environment = {**self._union_environment(functions), **overrides}
        self._set_environ(self.environment)
        self._locate_endpoints(functions)
        targets = self._install_handlers(template, functions)
        if self.use_event_sources:
            self._start_event_sources(template, functions, targets)
            self.api_destinations = start_api_destinations(
                template, self.resources, session=self._admin_session(), options=self.api_destination_options
            )
        publish_outputs(self._admin_session(), self.moto_endpoint, self.stack_name, resolved_outputs(template))
        if self.iam is not None:  # last: everything above was set up without enforcement
            self.iam_enforcement = MotoIamEnforcement(self.moto_endpoint, self.iam).install()

    def _start_moto(self) -> None:
        """moto's server, the dummy credentials and endpoint in ``os.environ``, a clean state."""
        self.moto = MotoServer()
        self.moto.start()
        self.moto_endpoint = self.moto.endpoint
        self._set_environ(aws_environment(self.moto_endpoint))
        self._reset_moto()

    def _create_roles(self, template: Template) -> dict[str, str]:
        """With ``enforce_iam``: the admin user and one role per function and state machine (their ARNs)."""
        if not self.enforce_iam:
            return {}
        self.iam = IamRoles(template, self.stack_name)
        self.iam.create_admin(boto3.session.Session())
        return self.iam.create_roles(self._admin_session())

    def _create_resources(self, template: Template, overrides: dict[str, str], role_arns: dict[str, str]) -> None:
        """Everything the template declares, in moto; the functions with their environment and role."""
        environment = self._union_environment(template.functions())
        self.resources = create_resources(
            template,
            api_key=self.requested_api_key,
            environment_overrides=overrides,
            event_bus_name={**environment, **overrides}.get("EVENT_BUS_NAME", "default"),
            session=self._admin_session(),
            role_arns=role_arns,
        )
        self.api_key = self.resources.api_key

    def _install_handlers(self, template: Template, functions: list[FunctionSpec]) -> dict[str, LambdaTarget]:
        """The real handlers behind moto's Lambda API (the seam), and the HTTP API fronts that invoke them."""
        self._add_import_paths(template)
        self._cold_start(template, functions)
        targets = {spec.logical_id: self._target(spec) for spec in functions}
        for target in targets.values():
            self.seam.register(target)
        self.seam.install()
        for front in self.http_api_fronts:  # API Gateway's invocations: the stack's own (admin) session
            front.start(self._admin_session().client("lambda", endpoint_url=self.moto_endpoint))
        return targets

    def _start_event_sources(
        self, template: Template, functions: list[FunctionSpec], targets: dict[str, LambdaTarget]
    ) -> None:
        """The SQS event source mappings, and the emulated EventBridge rules (status changes, the schedule)."""
        for spec in functions:
            for event in spec.sqs_events:
                if not event.enabled:
                    continue
                mapping = EventSourceMapping(
                    self.seam.counted(targets[spec.logical_id]),
                    self.resources.queue_urls[event.queue_logical_id],
                    batch_size=event.batch_size,
                    report_batch_item_failures=event.reports_batch_item_failures,
                    maximum_concurrency=event.maximum_concurrency or 2,
                    retry_visibility_seconds=self.retry_visibility_seconds,
                    session=self._event_source_session(spec.logical_id),
                    retry_session=self._admin_session(),
                )
                self.event_sources.append(mapping.start())
        rules = event_rules(template)
        if rules.status_change_function or rules.schedule_function:
            status_fn, schedule_fn = rules.status_change_function, rules.schedule_function
            self.execution_events = ExecutionEventEmulator(
                self.state_machine_arn,
                status_target=self.seam.counted(targets[status_fn]) if status_fn else None,
                statuses=rules.statuses,
                schedule_target=self.seam.counted(targets[schedule_fn]) if schedule_fn else None,
                schedule_seconds=self.schedule_seconds or rules.schedule_seconds,
                session=self._admin_session(),
            ).start()

    def _start_engine(self, template: Template) -> dict[str, str]:
        """Start what answers the pipeline (module docstring); the variables that point it there."""
        if not self.use_composer:
            return {}
        if self.engine == "composer":
            return self._serve_composer_service(template)
        self.composer = ComposerProcess(self.composer_config, tls=self.composer_tls, command=self.composer_command)
        self.composer.start()
        self.composer_origin = self.composer.origin
        return self.composer.pipeline_environment()

    def _stop_engine(self) -> None:
        for front in self.http_api_fronts:
            front.stop()
        self.http_api_fronts = []
        if self.composer is not None:
            self.composer.stop()
            self.composer = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def _engine(self, template: Template) -> str:
        """``composer`` or ``dashscope``: the ``Engine`` the template is deployed with (``dashscope``, a
        stand-in server, for a template without that parameter)."""
        spec = (template.document.get("Parameters") or {}).get("Engine")
        engine = str(self.parameters.get("Engine") or (spec or {}).get("Default") or "dashscope")
        if engine == "composer" and (self.composer_config is not None or self.composer_command is not None):
            raise LocalStackError(
                "composer_config and composer_command configure the DashScope stand-in: pass parameters "
                "{'Engine': 'dashscope'} with them"
            )
        return engine

    def _serve_composer_service(self, template: Template) -> dict[str, str]:
        """S3 over HTTPS and the template's HTTP API in front of the composer's API function.

        Returns the variables that point the pipeline (and every AWS client) at them.
        """
        assert self.moto is not None
        from poster_composer.tls import ensure_certificate

        self._tls_dir = tempfile.TemporaryDirectory(prefix="poster-local-tls-")
        cert, key = ensure_certificate(Path(self._tls_dir.name))
        s3_endpoint = self.moto.start_tls(cert, key)
        environment = {"AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_CA_BUNDLE": str(cert), "REQUESTS_CA_BUNDLE": str(cert)}
        self._set_environ(environment)
        self.http_api_fronts = [HttpApiFront(spec, cert, key) for spec in http_apis(template)]
        if len(self.http_api_fronts) != 1:
            raise LocalStackError(
                f"Engine=composer needs one HTTP API in the template, found {len(self.http_api_fronts)}"
            )
        self.composer_origin = self.http_api_fronts[0].origin
        return {
            **environment,
            "DASHSCOPE_BASE_URL": f"{self.composer_origin}/api/v1",
            "RESULT_HOST_ALLOWLIST": s3_endpoint.removeprefix("https://"),
        }

    def _admin_session(self) -> Any:
        """The session the stack's own clients use: the admin user's with ``enforce_iam``, else the environment's."""
        if self.iam is not None and self.iam.admin is not None:
            return self.iam.admin.session()
        return boto3.session.Session()

    def _event_source_session(self, logical_id: str) -> Any:
        """What an SQS event source of ``logical_id`` polls with: a session of its role with ``enforce_iam``."""
        if self.iam is None:
            return None
        self._role(logical_id)  # a clear error for a function without a generated role
        return self.iam.event_source_sessions[logical_id].session()

    def _role(self, logical_id: str) -> RoleSession:
        """The session ``logical_id``'s handler signs with (``enforce_iam`` only)."""
        assert self.iam is not None
        try:
            return self.iam.handler_session(logical_id)
        except KeyError as error:
            raise LocalStackError(f"enforce_iam: {error.args[0]}") from None

    def stop(self) -> None:
        """Stop the event sources, the seam, the composer and moto; restore ``os.environ``."""
        if self.iam_enforcement is not None:
            self.iam_enforcement.uninstall()
        if self.iam is not None:
            self.iam.uninstall()
        if self.execution_events is not None:
            self.execution_events.stop()
            self.execution_events = None
        if self.api_destinations is not None:
            self.api_destinations.stop()
            self.api_destinations = None
        for mapping in self.event_sources:
            mapping.stop()
        self.event_sources = []
        self.seam.uninstall()
        self._stop_engine()
        if self.moto is not None:
            self._reset_moto()
            self.moto.stop()
            self.moto = None
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ = {}
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths = []
        self._started = False
        if LocalStack._running is self:
            LocalStack._running = None

    def _reset_moto(self) -> None:
        """Clear moto's in-process state (shared by every server and mock in this process)."""
        assert self.moto is not None
        import urllib.request

        request = urllib.request.Request(f"{self.moto.endpoint}/moto-api/reset", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except OSError:
            _LOG.debug("moto reset failed", exc_info=True)
            return
        from local_stack.moto_server import MOTO_CONFIG

        self.moto.post_config(MOTO_CONFIG)

    def _set_environ(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            if key not in self._saved_environ:
                self._saved_environ[key] = os.environ.get(key)
            os.environ[key] = value

    @staticmethod
    def _union_environment(functions: list[FunctionSpec]) -> dict[str, str]:
        union: dict[str, str] = {}
        owner: dict[str, str] = {}
        conflicts = []
        for spec in functions:
            for key, value in spec.environment.items():
                if key in union and union[key] != value:
                    conflicts.append(f"{key}: {owner[key]}={union[key]!r} vs {spec.logical_id}={value!r}")
                    continue
                union[key] = value
                owner.setdefault(key, spec.logical_id)
        if conflicts:
            raise LocalStackError(
                "the handlers share os.environ locally, but functions disagree on " + "; ".join(conflicts)
            )
        return union

    def _locate_endpoints(self, functions: list[FunctionSpec]) -> None:
        assert self.template is not None
        created = self.resources
        self.input_bucket = self.environment.get("INPUT_BUCKET") or created.buckets.get("InputBucket", "")
        self.output_bucket = self.environment.get("OUTPUT_BUCKET") or created.buckets.get("OutputBucket", "")
        queue_ids = [event.queue_logical_id for spec in functions for event in spec.sqs_events]
        if queue_ids:
            self.queue_url = created.queue_urls[queue_ids[0]]
            dead_letter = {q.logical_id: q.dead_letter_logical_id for q in self.template.queues()}
            dlq_id = dead_letter.get(queue_ids[0])
            self.dlq_url = created.queue_urls[dlq_id] if dlq_id else ""
        self.events_queue_url = created.events_queue_url
        if created.state_machine_arns:
            self.state_machine_arn = next(iter(created.state_machine_arns.values()))

    def _add_import_paths(self, template: Template) -> None:
        """Put the template folder and each layer's ``ContentUri`` (as ``/opt/python`` would) on sys.path."""
        for path in [template.root, *self._layer_dirs(template)]:
            text = str(path.resolve())
            if text not in sys.path:
                sys.path.insert(0, text)
                self._added_paths.append(text)

    @staticmethod
    def _layer_dirs(template: Template) -> list[Path]:
        """Each layer's ``ContentUri`` (its ``python/`` folder when it has one)."""
        dirs = []
        for layer_id in template.logical_ids("AWS::Serverless::LayerVersion"):
            content = (template.resources[layer_id].get("Properties") or {}).get("ContentUri")
            if isinstance(content, str):
                layer = template.root / content
                dirs.append(layer / "python" if (layer / "python").is_dir() else layer)
        return dirs

    def _cold_start(self, template: Template, functions: list[FunctionSpec]) -> None:
        """Forget what an earlier stack in this process left in the handlers' and layers' caches.

        Handlers cache clients and settings per execution environment (``functools.cache`` at module
        level, Powertools' parameter cache); a new stack has a new endpoint and a new API key, so every
        ``cache_clear()`` of a module under a ``CodeUri`` or a layer's ``ContentUri`` is called, as a
        cold start would. Plain module globals are not reset.
        """
        roots = [(template.root / spec.code_uri).resolve() for spec in functions]
        roots += [path.resolve() for path in self._layer_dirs(template)]
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if not file or not any(Path(file).resolve().is_relative_to(root) for root in roots):
                continue
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and getattr(value, "__module__", None) == name:
                    clear()
        try:
            from aws_lambda_powertools.utilities import parameters
        except ImportError:  # pragma: no cover - Powertools is a project dependency
            return
        parameters.clear_caches()  # type: ignore[no-untyped-call]

    def _target(self, spec: FunctionSpec) -> LambdaTarget:
        handler = self.handler_overrides.get(spec.logical_id)
        if handler is None:
            try:
                module = importlib.import_module(spec.module)
                handler = getattr(module, spec.attribute)
            except (ImportError, AttributeError) as error:
                raise LocalStackError(
                    f"{spec.logical_id}: cannot import {spec.module}.{spec.attribute}: {error}"
                ) from error
        if self.iam is not None:
            handler = run_as(self._role(spec.logical_id), _own_parameter_cache(handler))
        return LambdaTarget(
            name=spec.name,
            arn=spec.arn,
            handler=handler,
            environment=dict(spec.environment),
            timeout_seconds=spec.timeout_seconds,
            memory_mb=spec.memory_mb,
        )
