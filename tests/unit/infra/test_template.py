"""Security and contract properties of ``template.yaml`` (static: no AWS, no SAM CLI, no network)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from typing import Any

import pytest

from poster_common.config import Settings
from tests.unit.infra.cfn_yaml import REPO

FUNCTIONS = {
    "SubmitFunction": "submit",
    "PollFunction": "poll",
    "FinalizeFunction": "finalize",
    "RecordFailureFunction": "record_failure",
    "SlotsFunction": "slots",
}
STATE_MACHINE_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-poster"
}
DOCUMENTED_RESULT_HOSTS = [
    "dashscope-result-bj.oss-cn-beijing.aliyuncs.com",
    "dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com",
    "dashscope-result-sh.oss-cn-shanghai.aliyuncs.com",
    "dashscope-result-wlcb.oss-cn-wulanchabu.aliyuncs.com",
    "dashscope-result-zjk.oss-cn-zhangjiakou.aliyuncs.com",
    "dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com",
    "dashscope-result-hy.oss-cn-heyuan.aliyuncs.com",
    "dashscope-result-cd.oss-cn-chengdu.aliyuncs.com",
    "dashscope-result-gz.oss-cn-guangzhou.aliyuncs.com",
]
# Actions that AWS only grants on "*": X-Ray segments and the vended-logs delivery of Step Functions.
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
ONLY_ON_SUBMIT: set[str] = set()  # STATE_MACHINE_ARN is built from the state machine's fixed name


def _design_env_vars() -> list[str]:
    """The variable names in docs/design.md's Environment table (the contract)."""
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell)
    return names


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_env(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    merged = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    merged.update(own)
    return merged


def _inline_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in _as_list(resource["Properties"].get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            statements += _as_list(policy["Statement"])
    return statements


def _prop(resources: dict[str, Any], logical_id: str, *path: str) -> Any:
    node = resources[logical_id]["Properties"]
    for key in path:
        node = node[key]
    return node


# ------------------------------------------------------------------ parameters


def test_parameters_defaults_match_the_documented_contract(template: dict[str, Any]) -> None:
    # GIVEN the template's parameters
    params = template["Parameters"]
    # THEN the defaults are the ones docs/design.md documents
    assert params["Engine"]["Default"] == "composer"
    assert params["Engine"]["AllowedValues"] == ["composer", "dashscope"]
    assert params["ComposerMaxInProgress"]["Default"] == 10
    assert params["ModelName"]["Default"] == ""  # the engine's own: wanx-ast (composer) / wan2.5-i2i-preview
    assert params["DashScopeRegion"]["Default"] == "beijing"
    assert params["ApiBaseUrl"]["Default"] == ""  # the region's
    assert params["ApiKeySecretName"]["Default"] == "poster-pipeline/dashscope-api-key"
    assert params["InputPrefix"]["Default"] == "incoming/"
    assert params["OutputPrefix"]["Default"] == "posters/"
    assert params["FailurePrefix"]["Default"] == "failed/"
    assert params["PollSchedule"]["Default"] == "1,1,2,2,2,4,4,4,5"
    assert params["MaxPollAttempts"]["Default"] == 720
    assert params["MaxWaitSeconds"]["Default"] == 3600
    assert params["MaxInputBytes"]["Default"] == 52428800
    assert params["MaxResultBytes"]["Default"] == 52428800
    assert {"SubmitConcurrency", "LogRetentionDays"} <= set(params)


def test_result_host_allowlist_defaults_to_the_nine_documented_hosts(template: dict[str, Any]) -> None:
    # Empty in the template: the pipeline then allows the region preset's hosts (Beijing: the nine documented ones).
    assert template["Parameters"]["ResultHostAllowlist"]["Default"] == ""
    assert list(Settings.from_env({"RESULT_HOST_ALLOWLIST": ""}).result_host_allowlist) == DOCUMENTED_RESULT_HOSTS


def test_poll_schedule_parameter_accepts_whole_seconds_only(template: dict[str, Any]) -> None:
    # A Wait state's SecondsPath needs an integer, so fractional schedules are refused at deploy.
    pattern = re.compile(template["Parameters"]["PollSchedule"]["AllowedPattern"])
    assert pattern.fullmatch("1,1,2,2,2,4,4,4,5")
    assert not pattern.fullmatch("1,1.5,2")


@pytest.mark.parametrize("name", ["InputPrefix", "OutputPrefix", "FailurePrefix"])
def test_prefix_parameters_must_end_with_slash(template: dict[str, Any], name: str) -> None:
    pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
    assert pattern.fullmatch("incoming/")
    assert not pattern.fullmatch("incoming")
    assert not pattern.fullmatch("/incoming/")


# ------------------------------------------------------------------ buckets


@pytest.mark.parametrize("bucket", ["InputBucket", "OutputBucket"])
def test_bucket_blocks_public_access_encrypts_and_disables_acls(resources: dict[str, Any], bucket: str) -> None:
    props = resources[bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"} for r in rules)
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_input_bucket_is_versioned(resources: dict[str, Any]) -> None:
    assert _prop(resources, "InputBucket", "VersioningConfiguration", "Status") == "Enabled"


@pytest.mark.parametrize("bucket", ["InputBucket", "OutputBucket"])
def test_bucket_policy_denies_requests_without_tls(resources: dict[str, Any], bucket: str) -> None:
    # GIVEN the bucket policy attached to the bucket
    policies = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    # THEN one statement denies every S3 action on the bucket and its objects without TLS
    deny = [
        s
        for s in statements
        if s["Effect"] == "Deny" and s["Condition"].get("Bool", {}).get("aws:SecureTransport") in ("false", False)
    ]
    assert len(deny) == 1
    assert deny[0]["Principal"] == "*"
    assert deny[0]["Action"] in ("s3:*", ["s3:*"])
    resources_denied = _as_list(deny[0]["Resource"])
    assert {"Fn::GetAtt": [bucket, "Arn"]} in resources_denied
    assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in resources_denied


def test_input_notification_goes_to_the_queue_filtered_on_the_input_prefix(
    resources: dict[str, Any],
) -> None:
    # GIVEN the input bucket's notification configuration (S3 notifications unless UploadNotifications=eventbridge)
    bucket = resources["InputBucket"]
    condition, via_eventbridge, via_queue = bucket["Properties"]["NotificationConfiguration"]["Fn::If"]
    assert condition == "UploadsViaEventBridge"
    assert via_eventbridge == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    configs = via_queue["QueueConfigurations"]
    # THEN every object creation under InputPrefix (and nothing else) is sent to UploadQueue
    assert len(configs) == 1
    config = configs[0]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": ["UploadQueue", "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": {"Ref": "InputPrefix"}}]
    # AND the queue policy exists before S3 validates the destination
    assert "UploadQueuePolicy" in _as_list(bucket.get("DependsOn", []))


def test_eventbridge_routes_end_in_the_upload_queue(template: dict[str, Any], resources: dict[str, Any]) -> None:
    # GIVEN the two rules that turn events into jobs
    assert template["Parameters"]["UploadNotifications"]["Default"] == "sqs"
    created = resources["ObjectCreatedRule"]
    requested = resources["PosterRequestedRule"]
    # THEN S3's "Object Created" under InputPrefix of the input bucket (only when chosen) goes to the queue
    assert created["Condition"] == "UploadsViaEventBridge"
    pattern = created["Properties"]["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (["aws.s3"], ["Object Created"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": {"Ref": "InputPrefix"}}]
    bucket_name = resources["InputBucket"]["Properties"]["BucketName"]
    assert pattern["detail"]["bucket"]["name"] == [bucket_name]
    # AND "Poster requested" from the configured source always does
    pattern = requested["Properties"]["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == ([{"Ref": "PosterRequestSource"}], ["Poster requested"])
    assert "Condition" not in requested
    for rule in (created, requested):
        assert rule["Properties"]["Targets"] == [{"Id": "upload-queue", "Arn": {"Fn::GetAtt": ["UploadQueue", "Arn"]}}]


# ------------------------------------------------------------------ queue


def test_upload_queue_redrives_to_the_dlq_after_five_receives(resources: dict[str, Any]) -> None:
    redrive = _prop(resources, "UploadQueue", "RedrivePolicy")
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["UploadDLQ", "Arn"]}
    assert redrive["maxReceiveCount"] == 5


@pytest.mark.parametrize("queue", ["UploadQueue", "UploadDLQ"])
def test_queues_are_encrypted(resources: dict[str, Any], queue: str) -> None:
    props = resources[queue]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props


def test_upload_queue_visibility_is_at_least_six_submit_timeouts(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    submit_timeout = resources["SubmitFunction"]["Properties"].get(
        "Timeout", template["Globals"]["Function"]["Timeout"]
    )
    assert _prop(resources, "UploadQueue", "VisibilityTimeout") >= 6 * submit_timeout


def test_queue_policy_lets_only_the_input_bucket_and_the_two_rules_send(resources: dict[str, Any]) -> None:
    # GIVEN the queue policy
    props = resources["UploadQueuePolicy"]["Properties"]
    assert props["Queues"] == [{"Ref": "UploadQueue"}]
    allows = [s for s in props["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    # THEN the only Allows are SendMessage from S3, for the input bucket of this account, and from the two rules
    assert len(allows) == 2
    allow = allows[0]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
    conditions = allow["Condition"]
    source_arn = next(v["aws:SourceArn"] for v in conditions.values() if "aws:SourceArn" in v)
    bucket_name = resources["InputBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert source_arn == {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}"}
    assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    rules = allows[1]
    assert rules["Principal"] == {"Service": "events.amazonaws.com"}
    assert rules["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
    assert rules["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["PosterRequestedRule", "Arn"]},
        {"Fn::If": ["UploadsViaEventBridge", {"Fn::GetAtt": ["ObjectCreatedRule", "Arn"]}, {"Ref": "AWS::NoValue"}]},
    ]


# ------------------------------------------------------------------ functions


def test_submit_consumes_the_queue_with_partial_batch_failures_and_bounded_concurrency(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # GIVEN Submit's event sources
    events = resources["SubmitFunction"]["Properties"]["Events"]
    sqs = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
    assert len(sqs) == 1
    event = sqs[0]
    # THEN it reads UploadQueue, reports per-record failures and caps its concurrency at >= 2
    assert event["Queue"] == {"Fn::GetAtt": ["UploadQueue", "Arn"]}
    assert 1 <= event["BatchSize"] <= 10
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = event["ScalingConfig"]["MaximumConcurrency"]
    assert concurrency == {"Ref": "SubmitConcurrency"}
    parameter = template["Parameters"]["SubmitConcurrency"]
    assert parameter["MinValue"] >= 2
    assert parameter["Default"] >= 2


@pytest.mark.parametrize(("logical_id", "folder"), FUNCTIONS.items())
def test_function_code_handler_layer_and_tracing(
    template: dict[str, Any], resources: dict[str, Any], logical_id: str, folder: str
) -> None:
    props = resources[logical_id]["Properties"]
    globals_ = template["Globals"]["Function"]
    assert props["CodeUri"] == f"functions/{folder}/"
    assert (REPO / "functions" / folder).is_dir()
    assert props["Handler"] == "app.lambda_handler"
    assert props["Layers"] == [{"Ref": "CommonLayer"}]
    # Tracing is a switch (the Tracing parameter): Active traces, and only then is the X-Ray SDK imported.
    assert props.get("Tracing", globals_.get("Tracing")) == {"Ref": "Tracing"}
    assert template["Parameters"]["Tracing"]["AllowedValues"] == ["Active", "PassThrough"]
    assert globals_["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
        "Fn::If": ["TracingActive", "false", "true"]
    }
    assert props.get("Runtime", globals_.get("Runtime")) == "python3.12"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_logs_to_a_log_group_with_retention(resources: dict[str, Any], logical_id: str) -> None:
    log_group = resources[logical_id]["Properties"]["LoggingConfig"]["LogGroup"]
    target = resources[log_group["Ref"]]
    assert target["Type"] == "AWS::Logs::LogGroup"
    assert target["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_common_layer_is_built_by_sam_for_python312(resources: dict[str, Any]) -> None:
    layer = resources["CommonLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"


def test_layer_requirements_are_pinned() -> None:
    lines = [
        line.strip()
        for line in (REPO / "layers" / "common" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "aws-lambda-powertools[tracer]==3.37.0" in lines
    assert any(re.fullmatch(r"requests==[0-9.]+", line) for line in lines)
    assert all("==" in line for line in lines)


def test_composer_layer_pins_the_composer_extra() -> None:
    # GIVEN the ComposerLayer's requirements and pyproject.toml's "composer" extra
    layer = [
        line.strip()
        for line in (REPO / "layers" / "composer" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["composer"]
    # THEN they pin the same packages at the same versions (the layer is what runs; the extra is what is tested)
    assert sorted(layer) == sorted(extra)
    assert all("==" in line for line in layer)
    assert "pyphen==0.18.1" in layer and "budoux==0.10.1" in layer


# ------------------------------------------------------------------ environment


def test_design_doc_lists_the_expected_variables() -> None:
    # Guards the parser below: if design.md's table changes shape, this fails loudly.
    names = _design_env_vars()
    assert {"DASHSCOPE_BASE_URL", "RESULT_HOST_ALLOWLIST", "HTTP_READ_TIMEOUT", "STATE_MACHINE_ARN"} <= set(names)
    assert len(names) == len(set(names)) >= 20


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_documented_variable_is_set_for_every_function(template: dict[str, Any], logical_id: str) -> None:
    env = _function_env(template, logical_id)
    expected = set(_design_env_vars())
    if logical_id != "SubmitFunction":
        expected -= ONLY_ON_SUBMIT
    assert expected <= set(env), sorted(expected - set(env))
    assert env["POWERTOOLS_SERVICE_NAME"] == "poster-pipeline"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "PosterPipeline"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert "POWERTOOLS_IDEMPOTENCY_DISABLED" not in env
    assert env["EVENT_BUS_NAME"] == "default"


def test_no_variable_gets_two_values_across_functions(template: dict[str, Any]) -> None:
    # The local stack runs every handler in one process: a variable must mean one thing.
    seen: dict[str, Any] = {}
    for logical_id in FUNCTIONS:
        for name, value in _function_env(template, logical_id).items():
            assert seen.setdefault(name, value) == value, f"{name} differs in {logical_id}"


def test_env_values_come_from_the_parameters(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    composer_api = {"Fn::Sub": "https://${ComposerHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/v1"}
    assert env["DASHSCOPE_BASE_URL"] == {"Fn::If": ["UseComposer", composer_api, {"Ref": "ApiBaseUrl"}]}
    assert env["DASHSCOPE_MODEL"] == {
        "Fn::If": ["HasModelName", {"Ref": "ModelName"}, {"Fn::If": ["UseComposer", "wanx-ast", "wan2.5-i2i-preview"]}]
    }
    assert env["API_KEY_SECRET_NAME"] == {"Ref": "ApiKeySecretName"}
    # Engine composer: exactly the result bucket's regional virtual-hosted host, nothing else.
    result_host = {"Fn::Sub": "${ComposerResultBucket}.s3.${AWS::Region}.amazonaws.com"}
    assert env["RESULT_HOST_ALLOWLIST"] == {"Fn::If": ["UseComposer", result_host, {"Ref": "ResultHostAllowlist"}]}
    assert env["INPUT_PREFIX"] == {"Ref": "InputPrefix"}
    assert env["OUTPUT_PREFIX"] == {"Ref": "OutputPrefix"}
    assert env["FAILURE_PREFIX"] == {"Ref": "FailurePrefix"}
    assert env["POLL_SCHEDULE"] == {"Ref": "PollSchedule"}
    assert env["INPUT_BUCKET"] == {"Ref": "InputBucket"}
    assert env["OUTPUT_BUCKET"] == {"Ref": "OutputBucket"}
    assert env["IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}
    assert env["STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    assert env["SLOT_TABLE"] == {"Ref": "SlotTable"}
    # The quota gate follows the engine: the composer's own quota, or the provider's.
    assert env["MODEL_MAX_IN_PROGRESS"] == {
        "Fn::If": ["UseComposer", {"Ref": "ComposerMaxInProgress"}, {"Ref": "ModelMaxInProgress"}]
    }
    assert env["MODEL_SUBMISSIONS_PER_SECOND"] == {
        "Fn::If": ["UseComposer", {"Ref": "ComposerSubmissionsPerSecond"}, {"Ref": "ModelSubmissionsPerSecond"}]
    }
    name = template["Resources"]["PosterStateMachine"]["Properties"]["Name"]
    assert name == {"Fn::Sub": "${AWS::StackName}-poster"}


# ------------------------------------------------------------------ IAM


def _policy_holders(resources: dict[str, Any]) -> list[str]:
    return [
        name
        for name, r in resources.items()
        if r["Type"] in {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
    ]


def test_no_allow_statement_grants_data_actions_on_every_resource(resources: dict[str, Any]) -> None:
    for name in _policy_holders(resources):
        for statement in _inline_statements(resources[name]):
            if statement.get("Effect") != "Allow":
                continue
            actions = _as_list(statement["Action"])
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), (name, actions)
            if "*" in _as_list(statement["Resource"]):
                assert set(actions) <= STAR_RESOURCE_ACTIONS, (name, actions)


def _allowed(resources: dict[str, Any], logical_id: str) -> dict[str, list[Any]]:
    """action → the resources it is allowed on, from inline statements."""
    allowed: dict[str, list[Any]] = {}
    for statement in _inline_statements(resources[logical_id]):
        if statement.get("Effect") == "Allow":
            for action in _as_list(statement["Action"]):
                allowed.setdefault(action, []).extend(_as_list(statement["Resource"]))
    return allowed


def _templates(resources: dict[str, Any], logical_id: str) -> list[tuple[str, Any]]:
    policies = _as_list(resources[logical_id]["Properties"].get("Policies", []))
    return [next(iter(p.items())) for p in policies if isinstance(p, dict) and "Statement" not in p]


def test_submit_permissions_are_scoped(resources: dict[str, Any]) -> None:
    allowed = _allowed(resources, "SubmitFunction")
    normalised = {"Fn::Sub": "${OutputBucket.Arn}/normalised/*"}  # re-encoded backgrounds, read back to presign
    assert allowed["s3:GetObject"] == [{"Fn::Sub": "${InputBucket.Arn}/*"}, normalised]
    assert allowed["s3:GetObjectVersion"] == [{"Fn::Sub": "${InputBucket.Arn}/*"}]
    assert allowed["s3:PutObject"] == [
        {"Fn::Sub": "${OutputBucket.Arn}/${FailurePrefix}*"},
        REQUEST_MANIFESTS,  # the last format of a multi-format request failing at submit writes the request's
        normalised,
    ]
    assert allowed["secretsmanager:GetSecretValue"] == [{"Ref": "ApiKeySecret"}]
    assert allowed["states:StartExecution"] == [{"Ref": "PosterStateMachine"}]
    assert allowed["dynamodb:GetItem"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert allowed[action] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}, {"Fn::GetAtt": ["SlotTable", "Arn"]}]
    # the quota gate's table, and the task durations that time the first Poll (read only)
    assert allowed["dynamodb:Query"] == [
        {"Fn::GetAtt": ["SlotTable", "Arn"]},
        {"Fn::GetAtt": ["TaskDurationTable", "Arn"]},
    ]
    assert ("EventBridgePutEventsPolicy", {"EventBusName": "default"}) in _templates(resources, "SubmitFunction")


def test_poll_only_reads_the_secret_and_the_task_durations(resources: dict[str, Any]) -> None:
    assert _allowed(resources, "PollFunction") == {
        "secretsmanager:GetSecretValue": [{"Ref": "ApiKeySecret"}],
        "dynamodb:Query": [{"Fn::GetAtt": ["TaskDurationTable", "Arn"]}],
        "dynamodb:PutItem": [{"Fn::GetAtt": ["TaskDurationTable", "Arn"]}],
    }
    assert _templates(resources, "PollFunction") == []


REQUEST_MANIFESTS = {"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}*/manifest.json"}


def _settles_format_sets_only(resources: dict[str, Any], logical_id: str) -> None:
    """UpdateItem on the quota gate's table, only on ``set#`` items (poster_common/format_sets.py)."""
    [statement] = [s for s in _inline_statements(resources[logical_id]) if s.get("Sid") == "SettleFormatSets"]
    assert statement["Action"] == "dynamodb:UpdateItem"
    assert statement["Resource"] == {"Fn::GetAtt": ["SlotTable", "Arn"]}
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["set#*"]}}


def test_finalize_writes_posters_only(resources: dict[str, Any]) -> None:
    allowed = _allowed(resources, "FinalizeFunction")
    assert allowed["s3:PutObject"] == [{"Fn::Sub": "${OutputBucket.Arn}/${OutputPrefix}*"}]
    assert allowed["dynamodb:UpdateItem"] == [{"Fn::GetAtt": ["SlotTable", "Arn"]}]
    _settles_format_sets_only(resources, "FinalizeFunction")
    assert allowed["secretsmanager:GetSecretValue"] == [{"Ref": "ApiKeySecret"}]
    assert not any(a.startswith("s3:Get") for a in allowed)
    assert ("EventBridgePutEventsPolicy", {"EventBusName": "default"}) in _templates(resources, "FinalizeFunction")


def test_record_failure_writes_failure_records_only(resources: dict[str, Any]) -> None:
    allowed = _allowed(resources, "RecordFailureFunction")
    assert allowed == {
        "s3:PutObject": [{"Fn::Sub": "${OutputBucket.Arn}/${FailurePrefix}*"}, REQUEST_MANIFESTS],
        "dynamodb:UpdateItem": [{"Fn::GetAtt": ["SlotTable", "Arn"]}],
    }
    _settles_format_sets_only(resources, "RecordFailureFunction")
    assert _templates(resources, "RecordFailureFunction") == [
        ("EventBridgePutEventsPolicy", {"EventBusName": "default"})
    ]


# ------------------------------------------------------------------ state machine, table, secret


def test_state_machine_definition_logging_tracing_and_invoke_policies(resources: dict[str, Any]) -> None:
    machine = resources["PosterStateMachine"]
    props = machine["Properties"]
    assert machine["Type"] == "AWS::Serverless::StateMachine"
    assert props["Type"] == "STANDARD"
    assert props["DefinitionUri"] == "statemachine/poster.asl.json"
    assert (REPO / props["DefinitionUri"]).is_file()
    assert props["DefinitionSubstitutions"] == {
        "PollFunctionArn": {"Fn::GetAtt": ["PollFunction", "Arn"]},
        "FinalizeFunctionArn": {"Fn::GetAtt": ["FinalizeFunction", "Arn"]},
        "RecordFailureFunctionArn": {"Fn::GetAtt": ["RecordFailureFunction", "Arn"]},
        "SlotsFunctionArn": {"Fn::GetAtt": ["SlotsFunction", "Arn"]},
    }
    assert props["Logging"]["Level"] == "ERROR"
    assert props["Logging"]["IncludeExecutionData"] is False
    destination = props["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert resources[destination["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    assert props["Tracing"] == {"Enabled": {"Fn::If": ["TracingActive", True, False]}}
    invoked = {
        body["FunctionName"]["Ref"]
        for kind, body in _templates(resources, "PosterStateMachine")
        if kind == "LambdaInvokePolicy"
    }
    assert invoked == {"PollFunction", "FinalizeFunction", "RecordFailureFunction", "SlotsFunction"}


def test_idempotency_table_shape(resources: dict[str, Any]) -> None:
    props = resources["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_api_key_secret_is_created_under_the_parameter_name(resources: dict[str, Any]) -> None:
    props = resources["ApiKeySecret"]["Properties"]
    assert props["Name"] == {"Ref": "ApiKeySecretName"}
    assert "GenerateSecretString" in props
    assert "SecretString" not in props


def test_alarms_watch_the_dlq_and_failed_or_timed_out_executions(resources: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
    } <= watched
    for alarm in alarms:
        if alarm["Namespace"] != "PosterPipeline":  # the quota alarms have their own thresholds
            assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    dlq_alarm = next(a for a in alarms if a["Namespace"] == "AWS/SQS")
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["UploadDLQ", "QueueName"]}}]


def test_outputs_name_what_tests_and_users_look_up(template: dict[str, Any]) -> None:
    assert {
        "InputBucketName",
        "OutputBucketName",
        "UploadQueueUrl",
        "UploadDLQUrl",
        "StateMachineArn",
        "ApiKeySecretArn",
        "IdempotencyTableName",
        *(f"{name.removesuffix('Function')}FunctionName" for name in FUNCTIONS),
    } <= set(template["Outputs"])


def test_slots_function_gets_status_changes_and_a_schedule(resources: dict[str, Any]) -> None:
    # GIVEN the function that releases slots and dispatches parked jobs
    events = resources["SlotsFunction"]["Properties"]["Events"]
    # THEN it hears about executions that died, and runs on a schedule
    pattern = events["ExecutionEnded"]["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert pattern["detail"]["stateMachineArn"] == [STATE_MACHINE_ARN]
    assert events["Sweep"]["Type"] == "Schedule"
    allowed = _allowed(resources, "SlotsFunction")
    assert allowed["states:StartExecution"] == [STATE_MACHINE_ARN]
    # the quota gate's table, and the task durations that time the first Poll (read only)
    assert allowed["dynamodb:Query"] == [
        {"Fn::GetAtt": ["SlotTable", "Arn"]},
        {"Fn::GetAtt": ["TaskDurationTable", "Arn"]},
    ]


def test_slot_table_and_quota_parameters(template: dict[str, Any], resources: dict[str, Any]) -> None:
    props = resources["SlotTable"]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    params = template["Parameters"]
    assert params["ModelMaxInProgress"]["Default"] == 1
    assert params["ModelSubmissionsPerSecond"]["Default"] == 2


def test_quota_alarms_watch_throttling_and_the_oldest_parked_job(resources: dict[str, Any]) -> None:
    alarms = {
        r["Properties"]["MetricName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    for metric in ("ProviderThrottled", "OldestParkedJobAge"):
        assert alarms[metric]["Namespace"] == "PosterPipeline"
        assert alarms[metric]["Dimensions"] == [{"Name": "service", "Value": "poster-pipeline"}]
    assert alarms["OldestParkedJobAge"]["Threshold"] == {"Ref": "ParkedJobAgeAlarmSeconds"}


def test_every_setting_is_one_documented_variable() -> None:
    # Settings declare their variable once (poster_common/config.py); the design's table is the contract.
    declared = {setting.metadata["env"] for setting in dataclasses.fields(Settings)}

    assert declared == set(_design_env_vars())
