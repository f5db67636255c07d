"""The completion webhook in ``template.yaml`` (README "Webhooks"): off by default, and when on, an EventBridge rule
that sends each completion event's detail to an API destination with a stack-managed key, EventBridge's longest
retries, a locked-down DLQ with an alarm, and a role that may do one thing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local_stack.iam.policies import policy_allows
from local_stack.template import Template
from tests.iam import role_policies
from tests.unit.infra.cfn_yaml import REPO

URL = "https://hooks.example.com/poster"
WEBHOOK_RESOURCES = [
    "WebhookSigningSecret",
    "WebhookConnection",
    "WebhookDestination",
    "WebhookRule",
    "WebhookRuleRole",
    "WebhookDLQ",
    "WebhookDLQPolicy",
    "WebhookDLQAlarm",
]
OUT = "arn:aws:s3:::poster-local-outputbucket"


def _template(**parameters: str) -> Template:
    return Template(REPO / "template.yaml", parameters, stack_name="poster-local")


@pytest.fixture(scope="module")
def off() -> Template:
    return _template()


@pytest.fixture(scope="module")
def on() -> Template:
    return _template(CompletionWebhookUrl=URL)


@pytest.fixture(scope="module")
def links() -> Template:
    return _template(CompletionWebhookUrl=URL, WebhookIncludeLinks="true", WebhookLinkExpirySeconds="900")


def _props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = resources[logical_id]["Properties"]
    return props


# ------------------------------------------------------------------ parameters and conditions


def test_parameters_default_to_no_webhook_and_no_links(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert params["CompletionWebhookUrl"]["Default"] == ""
    assert params["WebhookRateLimitPerSecond"]["Default"] == 10
    rate = params["WebhookRateLimitPerSecond"]
    assert (rate["MinValue"], rate["MaxValue"]) == (1, 300)
    assert params["WebhookIncludeLinks"]["Default"] == "false"
    assert params["WebhookIncludeLinks"]["AllowedValues"] == ["false", "true"]
    assert params["WebhookLinkExpirySeconds"]["Default"] == 3600


def test_the_webhook_url_must_be_https_or_empty(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["CompletionWebhookUrl"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch(URL)
    assert not pattern.fullmatch("http://hooks.example.com/poster")
    assert not pattern.fullmatch("https://hooks.example.com/a b")


def test_every_webhook_resource_and_output_is_conditional(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert {lid for lid, r in resources.items() if lid.startswith("Webhook")} == set(WEBHOOK_RESOURCES)
    for logical_id in WEBHOOK_RESOURCES:
        assert resources[logical_id]["Condition"] == "HasWebhook", logical_id
    for output in ("WebhookDLQUrl", "WebhookSecretArn"):
        assert template["Outputs"][output]["Condition"] == "HasWebhook"
    assert template["Conditions"]["HasWebhook"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CompletionWebhookUrl"}, ""]}]}


def test_off_by_default_on_with_a_url(off: Template, on: Template) -> None:
    assert not any(off.resource_enabled(lid) for lid in WEBHOOK_RESOURCES)
    assert all(on.resource_enabled(lid) for lid in WEBHOOK_RESOURCES)
    assert not off.condition("WebhookLinks") and not on.condition("WebhookLinks")


def test_links_need_both_a_url_and_the_parameter() -> None:
    assert not _template(WebhookIncludeLinks="true").condition("WebhookLinks")
    assert _template(CompletionWebhookUrl=URL, WebhookIncludeLinks="true").condition("WebhookLinks")


# ------------------------------------------------------------------ rule, destination, connection, secret


def test_rule_sends_the_completion_events_detail_to_the_api_destination(resources: dict[str, Any]) -> None:
    props = _props(resources, "WebhookRule")
    assert props["EventBusName"] == "default"  # where notify.publish_finished puts it (EVENT_BUS_NAME)
    assert props["EventPattern"] == {"source": ["poster-pipeline"], "detail-type": ["Poster job finished"]}
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["WebhookDestination", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["WebhookRuleRole", "Arn"]}
    assert target["InputPath"] == "$.detail"
    assert "InputTransformer" not in target and "Input" not in target


def test_rule_pattern_matches_what_notify_publishes(resources: dict[str, Any]) -> None:
    from poster_common.notify import EVENT_DETAIL_TYPE, EVENT_SOURCE

    pattern = _props(resources, "WebhookRule")["EventPattern"]
    assert pattern == {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE]}


def test_retries_are_eventbridges_maximum_then_the_dlq(resources: dict[str, Any]) -> None:
    (target,) = _props(resources, "WebhookRule")["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["WebhookDLQ", "Arn"]}}


def test_api_destination_posts_to_the_url_at_the_rate_limit(resources: dict[str, Any]) -> None:
    props = _props(resources, "WebhookDestination")
    assert props["HttpMethod"] == "POST"
    assert props["InvocationEndpoint"] == {"Ref": "CompletionWebhookUrl"}
    assert props["InvocationRateLimitPerSecond"] == {"Ref": "WebhookRateLimitPerSecond"}
    assert props["ConnectionArn"] == {"Fn::GetAtt": ["WebhookConnection", "Arn"]}


def test_connection_sends_the_generated_secret_as_an_api_key_header(resources: dict[str, Any]) -> None:
    props = _props(resources, "WebhookConnection")
    assert props["AuthorizationType"] == "API_KEY"
    key = props["AuthParameters"]["ApiKeyAuthParameters"]
    assert key["ApiKeyName"] == "X-Poster-Webhook-Key"
    # a dynamic reference resolved by CloudFormation: the value is in no template, parameter or output
    assert key["ApiKeyValue"] == {"Fn::Sub": "{{resolve:secretsmanager:${WebhookSigningSecret}:SecretString}}"}
    secret = _props(resources, "WebhookSigningSecret")
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["ExcludePunctuation"] is True  # header-safe
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def test_outputs_name_the_secret_and_the_dlq_never_the_value(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["WebhookSecretArn"]["Value"] == {"Ref": "WebhookSigningSecret"}
    assert outputs["WebhookDLQUrl"]["Value"] == {"Ref": "WebhookDLQ"}
    assert "resolve:secretsmanager" not in str(outputs)


# ------------------------------------------------------------------ least privilege


def test_rule_role_may_only_invoke_this_api_destination(resources: dict[str, Any]) -> None:
    props = _props(resources, "WebhookRuleRole")
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert "ManagedPolicyArns" not in props
    (policy,) = props["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:InvokeApiDestination"
    assert statement["Resource"] == {"Fn::GetAtt": ["WebhookDestination", "Arn"]}


def test_rule_role_evaluated(on: Template) -> None:
    (policy,) = on.cfn_resources["WebhookRuleRole"]["Properties"]["Policies"]
    document = on.resolve(policy["PolicyDocument"])
    destination = on.get_att("WebhookDestination", "Arn")
    assert policy_allows([document], "events:InvokeApiDestination", destination)
    assert not policy_allows([document], "events:InvokeApiDestination", destination + "-other")
    assert not policy_allows([document], "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default")


def test_dlq_is_encrypted_tls_only_and_takes_dead_letters_from_the_rule_only(resources: dict[str, Any]) -> None:
    queue = _props(resources, "WebhookDLQ")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600
    policy = _props(resources, "WebhookDLQPolicy")
    assert policy["Queues"] == [{"Ref": "WebhookDLQ"}]
    allow, deny = policy["PolicyDocument"]["Statement"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == {"Fn::GetAtt": ["WebhookDLQ", "Arn"]}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["WebhookRule", "Arn"]}}}
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "sqs:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_an_alarm_watches_the_webhook_dlq(resources: dict[str, Any]) -> None:
    alarm = _props(resources, "WebhookDLQAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WebhookDLQ", "QueueName"]}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


@pytest.mark.parametrize("fixture", ["off", "on"])
def test_finalize_reads_no_poster_without_links(fixture: str, request: pytest.FixtureRequest) -> None:
    template: Template = request.getfixturevalue(fixture)
    documents = role_policies(template)["FinalizeFunction"]
    assert not policy_allows(documents, "s3:GetObject", f"{OUT}/posters/x/0.png")
    assert template.function("FinalizeFunction").environment["COMPLETION_LINK_SECONDS"] == "0"


def test_finalize_may_read_the_posters_it_links_and_nothing_else(links: Template) -> None:
    documents = role_policies(links)["FinalizeFunction"]
    assert policy_allows(documents, "s3:GetObject", f"{OUT}/posters/x/0.png")
    assert policy_allows(documents, "s3:GetObject", f"{OUT}/posters/x/manifest.json")
    assert not policy_allows(documents, "s3:GetObject", f"{OUT}/failed/x.json")
    assert not policy_allows(documents, "s3:GetObject", f"{OUT}/normalised/x.png")
    assert not policy_allows(documents, "s3:GetObject", "arn:aws:s3:::poster-local-input-123456789012-us-east-1/x")
    assert links.function("FinalizeFunction").environment["COMPLETION_LINK_SECONDS"] == "900"


def test_only_finalize_gets_the_link_setting_as_one_global_variable(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["COMPLETION_LINK_SECONDS"] == {"Fn::If": ["WebhookLinks", {"Ref": "WebhookLinkExpirySeconds"}, "0"]}


def test_readme_documents_the_webhook_contract() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Webhooks", 1)[1].split("\n## ", 1)[0]
    for word in ("X-Poster-Webhook-Key", "WebhookSecretArn", "WebhookDLQUrl", "correlation_id", "links", "185"):
        assert word in section, word
    for parameter in ("CompletionWebhookUrl", "WebhookRateLimitPerSecond", "WebhookIncludeLinks"):
        assert f"`{parameter}`" in readme, parameter
