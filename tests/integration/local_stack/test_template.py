"""Template resolution: SAM's YAML loader, parameters, conditions, intrinsics, functions, substitutions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local_stack.sam import load_template
from local_stack.stack import DEFAULT_TEMPLATE
from local_stack.template import Template, TemplateError, substitute_placeholders

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "template.yaml"

pytestmark = pytest.mark.integration

real_template = pytest.mark.skipif(not DEFAULT_TEMPLATE.exists(), reason="template.yaml not written yet")


def test_short_tags_become_long_form() -> None:
    text = """
AWSTemplateFormatVersion: 2010-09-09
A: !Ref X
B: !GetAtt Q.Arn
C: !Sub "${AWS::Region}-x"
D: !If [Cond, !Join [",", [a, b]], !Ref AWS::NoValue]
E: !Select [0, !Split [",", "a,b"]]
F: !Equals [!Ref P, "v"]
G: !Not [!Condition H]
I: !GetAtt [Q, QueueName]
J: !Base64 abc
"""
    doc = load_template(text)

    assert doc["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date
    assert doc["A"] == {"Ref": "X"}
    assert doc["B"] == {"Fn::GetAtt": ["Q", "Arn"]}
    assert doc["C"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert doc["D"] == {"Fn::If": ["Cond", {"Fn::Join": [",", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]}
    assert doc["E"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert doc["F"] == {"Fn::Equals": [{"Ref": "P"}, "v"]}
    assert doc["G"] == {"Fn::Not": [{"Condition": "H"}]}
    assert doc["I"] == {"Fn::GetAtt": ["Q", "QueueName"]}
    assert doc["J"] == {"Fn::Base64": "abc"}


def test_unknown_tags_and_non_mappings_are_rejected() -> None:
    with pytest.raises(TemplateError):
        load_template("A: !Bogus x\n")
    with pytest.raises(TemplateError):
        load_template("- a\n")


def test_fixture_functions_handlers_environment_and_events() -> None:
    template = Template(FIXTURE_TEMPLATE, {"Greeting": "hi"}, stack_name="ls-test")

    functions = {f.logical_id: f for f in template.functions()}
    assert set(functions) == {"SubmitFunction", "WorkFunction", "RecordFailureFunction"}
    submit = functions["SubmitFunction"]
    assert (submit.module, submit.attribute) == ("ls_fixture_functions.submit.app", "lambda_handler")
    assert (submit.timeout_seconds, submit.memory_mb) == (60, 256)
    assert functions["WorkFunction"].memory_mb == 512
    assert functions["WorkFunction"].timeout_seconds == 20  # from Globals
    env = submit.environment
    assert env["GREETING"] == "hi"
    assert env["STACK_GREETING"] == "ls-test-hi"
    assert env["INPUT_BUCKET"] == "ls-test-input-123456789012"
    assert env["OUTPUT_BUCKET"] == "ls-test-outputbucket"
    assert env["JOINED"] == "a,y"
    assert env["WAIT_SECONDS"] == "0"
    assert env["DLQ_NAME"] == "ls-test-UploadDLQ"
    assert env["ONLY_IN_DEV"] == "yes"
    assert env["STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:123456789012:stateMachine:JobStateMachine"
    assert "STATE_MACHINE_ARN" not in functions["WorkFunction"].environment
    (event,) = submit.sqs_events
    assert (event.queue_logical_id, event.batch_size, event.maximum_concurrency) == ("UploadQueue", 2, 2)
    assert event.reports_batch_item_failures


def test_conditions_select_values_and_resources() -> None:
    dev = Template(FIXTURE_TEMPLATE)
    prod = Template(FIXTURE_TEMPLATE, {"Stage": "prod"})

    assert [b.logical_id for b in dev.buckets()] == ["InputBucket", "OutputBucket"]
    assert "ProdOnlyBucket" in [b.logical_id for b in prod.buckets()]
    prod_env = prod.function("WorkFunction").environment
    assert prod_env["GREETING"] == "prod-hello"
    assert "ONLY_IN_DEV" not in prod_env  # AWS::NoValue removes the variable


def test_resources_buckets_queues_secret_table() -> None:
    template = Template(FIXTURE_TEMPLATE, stack_name="ls-test")

    (bucket, _) = template.buckets()
    assert bucket.versioned
    (notification,) = bucket.notifications
    assert (notification.queue_logical_id, notification.prefix, notification.events) == (
        "UploadQueue",
        "incoming/",
        ("s3:ObjectCreated:*",),
    )
    queues = template.queues()
    assert [q.logical_id for q in queues] == ["UploadDLQ", "UploadQueue"]  # the DLQ is created first
    upload = queues[1]
    assert (upload.dead_letter_logical_id, upload.max_receive_count, upload.visibility_timeout) == ("UploadDLQ", 2, 120)
    assert json.loads(upload.attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(":ls-test-UploadDLQ")
    assert [s.name for s in template.secrets()] == ["ls-test/api-key"]
    (table,) = template.tables()
    assert table.key_schema == ({"AttributeName": "id", "KeyType": "HASH"},)
    assert table.ttl_attribute == "expiration"


def test_state_machine_substitutions_use_function_arns() -> None:
    template = Template(FIXTURE_TEMPLATE, stack_name="ls-test")

    machine = template.state_machine()
    definition = json.loads(machine.definition())
    assert machine.name == "JobStateMachine"
    assert definition["States"]["Work"]["Parameters"]["FunctionName"] == template.function("WorkFunction").arn
    assert definition["States"]["WaitForTask"]["SecondsPath"] == "$.poll.wait_seconds"  # `$.` untouched


def test_set_physical_changes_what_refs_resolve_to() -> None:
    template = Template(FIXTURE_TEMPLATE)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ls-test/api-key-AbCdEf"

    template.set_physical("ApiKeySecret", ref=arn, Id=arn)

    assert template.function("WorkFunction").environment["SECRET_ARN"] == arn


def test_unknown_parameter_and_placeholder_are_errors() -> None:
    with pytest.raises(TemplateError, match="PollSchedul"):
        Template(FIXTURE_TEMPLATE, {"PollSchedul": "0"})
    with pytest.raises(TemplateError, match="Stage='staging'"):
        Template(FIXTURE_TEMPLATE, {"Stage": "staging"})  # AllowedValues, as CloudFormation checks
    with pytest.raises(TemplateError, match="not a number"):
        Template(FIXTURE_TEMPLATE, {"WaitSeconds": "soon"})
    with pytest.raises(TemplateError, match=r"\$\{Missing\}"):
        substitute_placeholders('{"A": "${Known}", "B": "${Missing}"}', {"Known": "x"})
    assert substitute_placeholders('{"A.$": "$.a", "B": "${K}"}', {"K": "v"}) == '{"A.$": "$.a", "B": "v"}'


@real_template
def test_real_template_rejects_overrides_cloudformation_would_reject() -> None:
    with pytest.raises(TemplateError, match="PollSchedule"):
        Template(DEFAULT_TEMPLATE, {"PollSchedule": "0.5"})


@real_template
def test_real_template_functions_and_environment() -> None:
    template = Template(DEFAULT_TEMPLATE, {"PollSchedule": "0", "MaxWaitSeconds": "30"})

    functions = template.functions()
    assert functions, "template.yaml declares no function"
    for spec in functions:
        folder = Path(spec.code_uri).name or Path(spec.code_uri).parent.name
        assert spec.module == f"functions.{folder}.app"
        assert spec.attribute == "lambda_handler"
        assert spec.environment["POLL_SCHEDULE"] == "0"
        assert spec.environment["MAX_WAIT_SECONDS"] == "30"
        assert spec.environment["INPUT_BUCKET"] == template.buckets()[0].name
    queue_fed = {f.logical_id: f for f in functions if f.sqs_events}
    assert set(queue_fed) == {"SubmitFunction", "ComposerWorkerFunction"}
    submit = queue_fed["SubmitFunction"]
    assert submit.environment["STATE_MACHINE_ARN"] == template.state_machine().arn
    (event,) = submit.sqs_events
    assert (event.maximum_concurrency or 2) >= 2
    (render,) = queue_fed["ComposerWorkerFunction"].sqs_events
    assert render.batch_size == 1
    assert render.maximum_concurrency == 10  # ComposerMaxInProgress: the composer's quota
    assert submit.environment["MODEL_MAX_IN_PROGRESS"] == "10"


@real_template
def test_real_state_machine_has_every_placeholder_substituted() -> None:
    template = Template(DEFAULT_TEMPLATE)
    machine = template.state_machine()
    arns = {f.arn for f in template.functions()}

    definition = machine.definition()  # raises on an unknown ${...}

    assert not re.search(r"\$\{\w+\}", definition)
    resources = {
        state["Parameters"]["FunctionName"]
        for state in _task_states(json.loads(definition))
        if "FunctionName" in state.get("Parameters", {})
    }
    assert resources and resources <= arns


def _task_states(definition: dict[str, object]) -> list[dict[str, dict[str, str]]]:
    states = definition.get("States")
    assert isinstance(states, dict)
    return [state for state in states.values() if state.get("Type") == "Task"]


@real_template
def test_real_template_rules_and_event_sources_are_read_from_the_translation() -> None:
    template = Template(DEFAULT_TEMPLATE, {"Engine": "dashscope"})

    assert not [lid for lid, r in template.cfn_resources.items() if r["Type"].startswith("AWS::Serverless::")]
    rules = {rule.logical_id: rule for rule in template.rules()}
    sweep, ended = rules["SlotsFunctionSweep"], rules["SlotsFunctionExecutionEnded"]
    assert (sweep.function_logical_ids, sweep.schedule_expression) == (("SlotsFunction",), "rate(1 minute)")
    assert ended.function_logical_ids == ("SlotsFunction",)
    assert ended.event_pattern is not None
    assert ended.event_pattern["detail"]["stateMachineArn"] == [template.state_machine().arn]
    # the render worker's mapping carries Condition UseComposer, as its function does
    assert [(f.logical_id, [e.name for e in f.sqs_events]) for f in template.functions() if f.sqs_events] == [
        ("SubmitFunction", ["Uploads"])
    ]
