"""Deploy rehearsal: the translated template is created on moto's CloudFormation, with each engine.

template.yaml is translated in process by aws-sam-translator (``tools/rehearsal.py``), its code folders are
zipped into a bucket as ``sam package`` would upload them (the unbuilt source: no ``sam build`` needed),
and ``create_stack`` runs with ``CAPABILITY_IAM`` on moto's server over HTTP. moto skips, with a warning, a
resource type its CloudFormation does not implement and still ends ``CREATE_COMPLETE``: every resource
not created must be of a type in `NOT_CREATED_BY_MOTO`, with the reason; no blanket skip.

What moto creates but does not model fully, so this rehearsal does not prove it (AWS does it; cfn-lint and
``sam validate`` in ``tools/lint_infra.py`` check the properties): a function's Layers, Architectures,
LoggingConfig and TracingConfig (read back from the template sent instead); a state machine's
DefinitionSubstitutions (applied here); a bucket's properties other than BucketEncryption and Tags
(versioning, lifecycle, public access block, ownership, the S3 -> SQS notification).
"""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local_stack.moto_server import MotoServer, aws_environment
from tools.rehearsal import Packaged, Rehearsal, expected_resources, rehearse, reset_moto, translate, upload_artifacts

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [
    pytest.mark.integration,
    # moto warns once per skipped resource: the tests below check each of them instead.
    pytest.mark.filterwarnings("ignore:Tried to parse .* but it.s not supported by moto:UserWarning"),
]

REGION = "us-east-1"
ENGINES = ("composer", "dashscope")

#: Every resource type of the template that moto 5.2.5's CloudFormation cannot create, and why (checked in
#: moto/cloudformation/parsing.py: only the CloudFormationModel subclasses it imports can be created; any
#: other type is skipped with "Tried to parse ... not supported"). AWS creates them all.
NOT_CREATED_BY_MOTO: dict[str, str] = {
    "AWS::ApiGatewayV2::Api": (
        "moto's apigatewayv2 backend has no CloudFormationModel (only the REST API's AWS::ApiGateway::* types "
        "do); so ComposerHttpApi's !Ref stays the literal ${ComposerHttpApi} in DASHSCOPE_BASE_URL"
    ),
    "AWS::CloudWatch::Alarm": "moto's cloudwatch models only AWS::CloudWatch::Dashboard for CloudFormation",
    # The completion webhook's (CompletionWebhookUrl, off in these rehearsals); local_stack/api_destinations.py
    # creates them through the API for the local stack.
    "AWS::Events::ApiDestination": "moto's events models only AWS::Events::Rule, EventBus, Archive for CloudFormation",
    "AWS::Events::Connection": "moto's events models only AWS::Events::Rule, EventBus, Archive for CloudFormation",
    "AWS::S3::BucketPolicy": "moto's s3 models only AWS::S3::Bucket for CloudFormation (policies: put_bucket_policy)",
    "AWS::SQS::QueuePolicy": "moto's sqs models only AWS::SQS::Queue for CloudFormation",
    "AWS::SecretsManager::Secret": "moto's secretsmanager has no CloudFormationModel at all",
}

#: The pipeline's functions (Engine-independent); the composer service's two come with Engine=composer.
PIPELINE_FUNCTIONS = ("Submit", "Slots", "Poll", "Finalize", "RecordFailure")
COMPOSER_FUNCTIONS = ("ComposerApiFunction", "ComposerWorkerFunction")


@pytest.fixture(scope="module")
def packaged() -> Packaged:
    return translate(region=REGION)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    """moto's server, with Step Functions' plain backend: with ``execute_state_machine`` on, moto's API answers
    from its interpreter's backend, which does not see the state machines its CloudFormation creates."""
    with pytest.MonkeyPatch.context() as patch, MotoServer() as server:
        for key, value in aws_environment(server.endpoint, REGION).items():
            patch.setenv(key, value)
        with urllib.request.urlopen(f"{server.endpoint}/moto-api/config", timeout=5) as response:
            previous = json.loads(response.read())
        server.post_config({"stepfunctions": {"execute_state_machine": False}})
        yield server
        reset_moto(server.endpoint)
        server.post_config(previous)  # moto's configuration is process-wide


@pytest.fixture(scope="module", params=ENGINES)
def deployed(request: pytest.FixtureRequest, moto_server: MotoServer, packaged: Packaged) -> tuple[str, Rehearsal]:
    """One engine's stack, created on an emptied moto."""
    engine: str = request.param
    reset_moto(moto_server.endpoint)
    upload_artifacts(boto3.client("s3", endpoint_url=moto_server.endpoint, region_name=REGION), packaged)
    cfn = boto3.client("cloudformation", endpoint_url=moto_server.endpoint, region_name=REGION)
    return engine, rehearse(cfn, copy.deepcopy(packaged), {"Engine": engine}, timeout=60)


def test_translated_template_has_code_in_s3_and_no_local_paths(packaged: Packaged) -> None:
    resources = packaged.template["Resources"]
    code = [r["Properties"].get("Code") or r["Properties"].get("Content") for r in resources.values()]
    locations = [c for c in code if c is not None]
    assert len(locations) == len(packaged.artifacts) == 9  # 7 functions, 2 layers
    assert all(set(c) == {"S3Bucket", "S3Key"} for c in locations)
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in resources.values())


def test_stack_reaches_create_complete(deployed: tuple[str, Rehearsal]) -> None:
    engine, result = deployed
    assert result.status == "CREATE_COMPLETE", (engine, result.reason)
    assert result.unexpected == {}, f"created although its condition is false with Engine={engine}"


def test_every_resource_not_created_is_of_a_type_moto_cannot_create(deployed: tuple[str, Rehearsal]) -> None:
    engine, result = deployed
    unexplained = {name: kind for name, kind in result.not_created.items() if kind not in NOT_CREATED_BY_MOTO}
    assert unexplained == {}, f"Engine={engine}: not created, and not a type moto is known to skip"
    # And the other way: a listed type moto now creates must leave the table.
    created_types = {kind for kind, _ in result.created.values()}
    assert not created_types & set(NOT_CREATED_BY_MOTO), "moto creates it now: drop it from NOT_CREATED_BY_MOTO"


def test_the_table_names_only_types_moto_lacks_and_the_template_uses(packaged: Packaged) -> None:
    from moto.cloudformation.parsing import get_model_map

    supported = set(get_model_map())
    assert not set(NOT_CREATED_BY_MOTO) & supported
    used = {r["Type"] for r in packaged.template["Resources"].values()}
    assert set(NOT_CREATED_BY_MOTO) <= used
    # Every other type the template uses, moto creates.
    assert used - set(NOT_CREATED_BY_MOTO) <= supported


def test_what_each_engine_deploys(deployed: tuple[str, Rehearsal], packaged: Packaged) -> None:
    engine, result = deployed
    expected = expected_resources(packaged.template, {"Engine": engine})
    composer_only = {name for name in packaged.template["Resources"] if name.startswith("Composer")}
    if engine == "composer":
        assert composer_only <= set(expected)
        assert set(COMPOSER_FUNCTIONS) <= set(result.created)
    else:
        assert not composer_only & set(expected)
        assert not composer_only & set(result.created)


def test_outputs(deployed: tuple[str, Rehearsal]) -> None:
    engine, result = deployed
    outputs = result.outputs
    assert outputs["Engine"] == engine
    if engine == "dashscope":
        assert "ComposerApiBaseUrl" not in outputs
        assert "ComposerResultBucketName" not in outputs
        return
    api_id = _http_api_id(result)
    assert outputs["ComposerApiBaseUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/v1"
    assert result.created["ComposerResultBucket"][1] == outputs["ComposerResultBucketName"]


def _http_api_id(result: Rehearsal) -> str:
    """The HTTP API's id; moto does not create it (see NOT_CREATED_BY_MOTO), so its !Ref stays unresolved."""
    if "ComposerHttpApi" in result.created:
        return result.created["ComposerHttpApi"][1]
    assert result.not_created.get("ComposerHttpApi") == "AWS::ApiGatewayV2::Api"
    return "${ComposerHttpApi}"


def test_pipeline_functions_environment(deployed: tuple[str, Rehearsal], moto_server: MotoServer) -> None:
    engine, result = deployed
    client = _client(moto_server, "lambda")
    for name in PIPELINE_FUNCTIONS:
        function_name = result.outputs[f"{name}FunctionName"]
        config = client.get_function_configuration(FunctionName=function_name)
        env: dict[str, str] = config["Environment"]["Variables"]
        assert config["Runtime"] == "python3.12"
        assert env["INPUT_BUCKET"] == result.outputs["InputBucketName"]
        assert env["OUTPUT_BUCKET"] == result.outputs["OutputBucketName"]
        assert env["STATE_MACHINE_ARN"] == result.outputs["StateMachineArn"]
        if engine == "composer":
            bucket = result.outputs["ComposerResultBucketName"]
            assert env["RESULT_HOST_ALLOWLIST"] == f"{bucket}.s3.{REGION}.amazonaws.com", name
            assert env["DASHSCOPE_BASE_URL"] == result.outputs["ComposerApiBaseUrl"], name
            assert env["DASHSCOPE_MODEL"] == "wanx-ast"
            assert env["COMPOSER_RESULT_BUCKET"] == bucket
        else:
            assert env["DASHSCOPE_REGION"] == "beijing", name
            # Empty: the code takes the region preset's base URL and result hosts.
            assert env.get("DASHSCOPE_BASE_URL", "") == "", name
            assert env.get("RESULT_HOST_ALLOWLIST", "") == "", name
            assert env["DASHSCOPE_MODEL"] == "wan2.5-i2i-preview"
            assert not [key for key in env if key.startswith("COMPOSER_")], name


def test_functions_have_their_packaged_code_and_layer(
    deployed: tuple[str, Rehearsal], moto_server: MotoServer, packaged: Packaged
) -> None:
    """moto keeps a CloudFormation function's code and environment but drops its Layers and Architectures
    (moto/awslambda/models.py, LambdaFunction.create_from_cloudformation_json): those are read from the
    template sent, and the layer versions from moto's Lambda."""
    engine, result = deployed
    client = _client(moto_server, "lambda")
    resources = packaged.template["Resources"]
    layer_names = {layer["LayerName"] for layer in client.list_layers()["Layers"]}
    assert len(layer_names) == (2 if engine == "composer" else 1)
    for name, (kind, physical) in result.created.items():
        if kind != "AWS::Lambda::Function":
            continue
        assert client.get_function_configuration(FunctionName=physical)["CodeSize"] > 0, name
        props = resources[name]["Properties"]
        assert props["Architectures"] == ["arm64"]
        refs = [ref["Ref"] for ref in props["Layers"]]
        assert len(refs) == 1, name
        layer = refs[0]
        assert layer.startswith("ComposerLayer" if name.startswith("Composer") else "CommonLayer"), name
        assert layer in result.created, name


def _client(server: MotoServer, service: Any) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION)


def _function_arn(result: Rehearsal, logical_id: str) -> str:
    return f"arn:aws:lambda:{REGION}:123456789012:function:{result.created[logical_id][1]}"


def test_sqs_triggers(deployed: tuple[str, Rehearsal], moto_server: MotoServer) -> None:
    engine, result = deployed
    mappings = {
        m["FunctionArn"]: m for m in _client(moto_server, "lambda").list_event_source_mappings()["EventSourceMappings"]
    }
    submit = mappings.pop(_function_arn(result, "SubmitFunction"))
    assert submit["EventSourceArn"].endswith(":" + result.outputs["UploadQueueUrl"].rsplit("/", 1)[1])
    assert (submit["BatchSize"], submit["ScalingConfig"], submit["FunctionResponseTypes"]) == (
        5,
        {"MaximumConcurrency": 2},
        ["ReportBatchItemFailures"],
    )
    if engine == "composer":
        worker = mappings.pop(_function_arn(result, "ComposerWorkerFunction"))
        render_queue = result.created["ComposerRenderQueue"][1].rsplit("/", 1)[1]
        assert worker["EventSourceArn"].endswith(":" + render_queue)
        assert (worker["BatchSize"], worker["ScalingConfig"]) == (1, {"MaximumConcurrency": 10})
    assert mappings == {}


def test_slots_rules_target_the_slots_function(deployed: tuple[str, Rehearsal], moto_server: MotoServer) -> None:
    _engine, result = deployed
    events = _client(moto_server, "events")
    rules = {rule["Name"]: rule for rule in events.list_rules()["Rules"]}
    sweep = rules[result.created["SlotsFunctionSweep"][1]]
    ended = rules[result.created["SlotsFunctionExecutionEnded"][1]]
    assert sweep["ScheduleExpression"] == "rate(1 minute)"
    assert result.outputs["StateMachineArn"] in ended["EventPattern"]
    for rule in (sweep, ended):
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [t["Arn"] for t in targets] == [_function_arn(result, "SlotsFunction")]


def test_state_machine_definition_names_the_stacks_functions(
    deployed: tuple[str, Rehearsal], moto_server: MotoServer, packaged: Packaged
) -> None:
    """moto stores DefinitionString as sent and ignores DefinitionSubstitutions (AWS applies them): apply the
    template's substitutions here, each a function's Arn, and nothing may be left over."""
    _engine, result = deployed
    machine = _client(moto_server, "stepfunctions").describe_state_machine(
        stateMachineArn=result.outputs["StateMachineArn"]
    )
    props = packaged.template["Resources"]["PosterStateMachine"]["Properties"]
    values = {}
    for placeholder, value in props["DefinitionSubstitutions"].items():
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn"
        values[placeholder] = _function_arn(result, logical_id)
    definition = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), machine["definition"])
    assert "${" not in definition  # every placeholder has a substitution
    for name in ("Poll", "Finalize", "RecordFailure", "Slots"):
        assert _function_arn(result, f"{name}Function") in definition, name
    assert machine["roleArn"].split("/")[-1] == result.created["PosterStateMachineRole"][1]
