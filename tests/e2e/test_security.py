"""Security, end to end on the shared local stack: hostile result URLs, secret leaks, least privilege.

One module fixture runs a set of jobs (a good one, a normalised one, a refused upload, and one per
hostile-result scenario) with every AWS call of every handler recorded; the tests then check the
outcomes, scan every artifact for secrets, check each recorded call against the function's
expanded IAM policy, and read what moto's IAM enforcement decided for the whole e2e session (the
refusals of calls a role may not make are in tests/e2e/test_least_privilege.py).
"""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
import requests
from PIL import Image

from local_stack.iam.policies import policy_allows
from tests.conftest import fixture_image
from tests.e2e.conftest import RULES, SESSION_TOKEN, outcome
from tests.e2e.recorder import CallRecorder
from tests.hostile import CANARY, SIGNED, EvilNet, hostile_urls
from tests.iam import role_policies

if TYPE_CHECKING:
    from collections.abc import Iterator

    from local_stack.stack import LocalStack, Outcome
    from tests.e2e.capture import LogCapture

pytestmark = pytest.mark.e2e

SECRET_PARAMS = {"x-amz-signature", "x-amz-security-token", "signature"}


@dataclass
class Run:
    """What the module's jobs produced."""

    table: list[tuple[str, str, str]]
    responses: dict[str, tuple[str, str]]  # marker → (stem, expected code)
    outcomes: dict[str, Outcome]
    evil: EvilNet
    recorder: CallRecorder


def response_rules(allowed: str, evil: EvilNet) -> dict[str, tuple[dict[str, Any], str]]:
    """Composer rules for hostile *responses* from the allowed host → the code each must produce."""
    return {
        "[sec-redirect-evil]": (
            {"result_redirect": f"https://127.0.0.2:{evil.v4.port}/stolen.png{SIGNED}"},
            "ResultHostNotAllowed",
        ),
        "[sec-redirect-ipv6]": (
            {"result_redirect": f"https://[::1]:{evil.v6.port}/x.png{SIGNED}"},
            "ResultHostNotAllowed",
        ),
        "[sec-redirect-http]": ({"result_redirect": f"http://{allowed}/x.png{SIGNED}"}, "ResultUrlNotHttps"),
        "[sec-html]": ({"result_content_type": "text/html"}, "ResultNotImage"),
        "[sec-svg]": ({"result_content_type": "image/svg+xml"}, "ResultNotImage"),
        "[sec-too-big]": ({"result_extra_bytes": 60 * 1024 * 1024}, "ResultTooLarge"),
        "[sec-never-ends]": ({"result_stall_seconds": 45.0}, "ResultDownloadTimedOut"),
    }


def cmyk_jpeg() -> bytes:
    with Image.open(fixture_image("rocket.jpg")) as photo:
        buffer = io.BytesIO()
        photo.convert("CMYK").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def run(stack: LocalStack) -> Iterator[Run]:
    evil = EvilNet.start()
    allowed = urlsplit(stack.composer_origin).netloc
    table = hostile_urls(allowed, evil)
    responses = response_rules(allowed, evil)
    rules = [{"match": "[sec-hostile-urls]", "result_urls": [url for _, url, _ in table]}]
    rules += [{"match": marker, **rule} for marker, (rule, _) in responses.items()]
    stack.set_composer_config({"rules": RULES + rules})
    tag = uuid.uuid4().hex[:8]
    stems = {marker: f"sec-{index}-{tag}" for index, marker in enumerate(["[sec-hostile-urls]", *responses])}
    with CallRecorder(stack) as recorder:
        photo = fixture_image("rocket.jpg").read_bytes()
        for marker, stem in stems.items():
            stack.upload(json.dumps({"title": [f"{marker} Hostile"]}).encode(), f"incoming/{stem}.poster.json")
            stack.upload(photo, f"incoming/{stem}.jpg")
        extra = {"good": f"sec-good-{tag}", "cmyk": f"sec-cmyk-{tag}", "refused": f"sec-refused-{tag}"}
        stack.upload(json.dumps({"title": ["Secure Poster"], "n": 2}).encode(), f"incoming/{extra['good']}.poster.json")
        stack.upload(photo, f"incoming/{extra['good']}.jpg")
        stack.upload(cmyk_jpeg(), f"incoming/{extra['cmyk']}.jpg")
        stack.upload(json.dumps({"title": [], "n": 9}).encode(), f"incoming/{extra['refused']}.poster.json")
        stack.upload(photo, f"incoming/{extra['refused']}.jpg")
        outcomes = {marker: outcome(stack, stem, timeout=180) for marker, stem in {**stems, **extra}.items()}
    try:
        yield Run(table, {m: (stems[m], code) for m, (_, code) in responses.items()}, outcomes, evil, recorder)
    finally:
        evil.stop()


# ---------------------------------------------------------------- promise 1: only allow-listed hosts


def test_every_hostile_result_url_is_refused_with_its_code(run: Run, stack: LocalStack) -> None:
    # GIVEN a task whose results are the 40 hostile URLs of tests/hostile.py
    result = run.outcomes["[sec-hostile-urls]"]
    # THEN nothing was copied, the job failed at finalize, and the manifest names each URL's specific code
    assert result.failure is not None
    assert (result.failure["stage"], result.failure["code"]) == ("finalize", "NoResultCopied")
    assert result.manifest is not None
    codes = [entry["code"] for entry in result.manifest["results"]]
    assert codes == [code for _, _, code in run.table]
    assert len(codes) >= 30
    listed = stack.client("s3").list_objects_v2(Bucket=stack.output_bucket, Prefix=f"posters/{result.stem}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [f"posters/{result.stem}/manifest.json"]


def test_every_hostile_response_is_refused_with_its_code(run: Run) -> None:
    # GIVEN allowed result URLs that redirect off the list, to http, answer non-images, too much, or never end
    for marker, (_stem, code) in run.responses.items():
        result = run.outcomes[marker]
        # THEN each job failed at finalize and its manifest names the specific code
        assert result.failure is not None, marker
        assert result.failure["code"] == "NoResultCopied", marker
        assert result.manifest is not None
        assert [entry["code"] for entry in result.manifest["results"]] == [code], marker


def test_no_off_list_address_received_a_connection(run: Run) -> None:
    # GIVEN listeners on 127.0.0.2, another port of 127.0.0.1 and ::1 that hostile URLs and redirects pointed at
    # THEN none of them ever received a connection during the whole run
    assert run.evil.connections == dict.fromkeys(run.evil.connections, 0)


def test_the_good_and_the_normalised_jobs_still_succeed(run: Run, stack: LocalStack) -> None:
    assert run.outcomes["good"].status == "SUCCEEDED", run.outcomes["good"].failure
    cmyk = run.outcomes["cmyk"]
    assert cmyk.status == "SUCCEEDED", cmyk.failure
    listed = stack.client("s3").list_objects_v2(Bucket=stack.output_bucket, Prefix="normalised/")
    assert any(o["Key"].endswith(".jpg") for o in listed.get("Contents", []))
    refused = run.outcomes["refused"]
    assert refused.failure is not None and refused.failure["code"] == "InvalidParameter"


# ---------------------------------------------------------------- promise 2: secrets never leak


def secret_values(stack: LocalStack, run: Run) -> dict[str, str]:
    """Every secret seen during the run: the API key, the session token, presigned and result signatures."""
    values = {"api key": stack.api_key, "session token": SESSION_TOKEN, "canary signature": CANARY}
    assert stack.iam is not None
    values.update(stack.iam.credentials_in_use())  # the admin's secret key, each role session's secret key and token
    s3 = boto3.session.Session().client("s3", endpoint_url=stack.moto_endpoint, region_name="us-east-1")
    own = s3.generate_presigned_url("get_object", Params={"Bucket": stack.input_bucket, "Key": "x"}, ExpiresIn=60)
    urls = [own, *run.recorder.presigned]
    assert run.recorder.presigned, "Submit presigned nothing during the run"
    assert stack.composer is not None
    for result in run.outcomes.values():
        task_id = (result.manifest or result.failure or {}).get("task_id")
        if not task_id:
            continue
        answer = requests.get(
            f"{stack.composer_origin}/api/v1/tasks/{task_id}",
            headers={"Authorization": f"Bearer {stack.api_key}"},
            verify=str(stack.composer.cert_path),
            timeout=(3.05, 30),
        ).json()
        urls += [item["url"] for item in answer["output"].get("results", []) if item.get("url")]
    for url in urls:
        for name, value in parse_qsl(urlsplit(url).query):
            if name.lower() in SECRET_PARAMS and len(value) >= 8:
                values[f"{name} of {urlsplit(url).path}"] = value
    assert any(name.startswith("Signature of /results/") for name in values), f"no result signature in {sorted(values)}"
    collected = set(values.values())
    for url in (p for p in run.recorder.presigned if p):
        query = {name.lower(): value for name, value in parse_qsl(urlsplit(url).query)}
        carried = [query[name] for name in SECRET_PARAMS if name in query]
        # each presigned URL's signature and session token (the signing role's) are among the values scanned for
        assert carried, f"no signature in a presigned URL of {urlsplit(url).path}"
        assert set(carried) <= collected, f"a presigned signature or token of {urlsplit(url).path} was not collected"
    return values


def artifacts(stack: LocalStack, logs: LogCapture) -> dict[str, str]:
    """Everything a leak could land in: logs, execution histories, every S3 object, tables, events, the DLQ."""
    found = {"logs": logs.text()}
    sfn = stack.client("stepfunctions")
    for execution in stack.executions():
        detail = sfn.describe_execution(executionArn=execution.arn)
        found[f"execution {execution.name}"] = json.dumps([detail, stack.history(execution.arn)], default=str)
    s3 = stack.client("s3")
    for bucket in (stack.input_bucket, stack.output_bucket):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                obj = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
                found[f"s3://{bucket}/{version['Key']}"] = obj["Body"].read().decode("latin-1") + json.dumps(
                    obj.get("Metadata", {})
                )
    dynamodb = stack.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        found[f"table {table}"] = json.dumps(dynamodb.scan(TableName=table)["Items"], default=str)
    found["events"] = json.dumps(stack.events(wait_seconds=0))
    found["dlq"] = json.dumps(stack.dlq_messages())
    return found


def test_no_secret_appears_in_logs_histories_objects_records_or_events(
    run: Run, stack: LocalStack, captured_logs: LogCapture
) -> None:
    # GIVEN every secret value the run handled (API key, session token, presigned and result signatures)
    secrets = secret_values(stack, run)
    # WHEN every artifact of the whole e2e session is scanned (raw and URL-encoded forms)
    scanned = artifacts(stack, captured_logs)
    leaks = [
        (secret, where)
        for secret, value in secrets.items()
        for where, text in scanned.items()
        if value in text or quote(value, safe="") in text
    ]
    print(f"\nleak scan: {len(secrets)} secret values x {len(scanned)} artifacts; leaks found: {len(leaks)}")
    # THEN none is found
    assert leaks == []
    assert len(scanned) > 20


# ---------------------------------------------------------------- promise 3: least privilege, exercised


def test_every_aws_call_is_allowed_by_the_functions_own_policy(run: Run, stack: LocalStack) -> None:
    # GIVEN every AWS call each handler made during the run, and each function's expanded policy
    assert stack.template is not None
    policies = role_policies(stack.template)
    secret_arns = list(stack.resources.secret_arns.values())
    calls = run.recorder.by_function()
    assert {"SubmitFunction", "PollFunction", "FinalizeFunction", "RecordFailureFunction"} <= set(calls)
    denied = []
    for function, requests_made in calls.items():
        for action, resource in sorted(requests_made):
            arn = resource
            if action == "secretsmanager:GetSecretValue" and not resource.startswith("arn:"):
                arn = next(a for a in secret_arns if f":secret:{resource}" in a)
            # THEN each (action, resource) is allowed by that function's policy alone
            if not policy_allows(policies[function], action, arn):
                denied.append((function, action, arn))
    print("\nAWS calls per function:", {f: len(c) for f, c in calls.items()})
    assert denied == [], "\n".join(map(str, denied))


def test_moto_authorised_every_role_under_its_own_policy_and_refused_no_handler(run: Run, stack: LocalStack) -> None:
    # GIVEN every authorisation moto made since the shared stack started (enforcement on: the whole e2e session)
    assert stack.iam is not None and stack.iam.admin is not None and stack.iam_enforcement is not None
    decisions = stack.iam_enforcement.snapshot()
    admin = stack.iam.admin.arn
    runs = {session.arn: owner for owner, session in stack.iam.handler_sessions.items()}
    runs |= {session.arn: f"{owner} (event source)" for owner, session in stack.iam.event_source_sessions.items()}
    enforced = Counter(
        (runs[d.principal], d.service + (" (presigned URL)" if d.presigned else ""))
        for d in decisions
        if d.principal in runs
    )
    refused = [d for d in decisions if d.principal in runs and not d.allowed]
    print("\nmoto-enforced AWS calls per role and service:")
    for (role, service), count in sorted(enforced.items()):
        print(f"  {role:34} {service:28} {count}")
    print(
        f"  total {sum(enforced.values())}; refused: {len(refused)}; the harness (admin): "
        f"{sum(1 for d in decisions if d.principal == admin)}"
    )
    for owner, expanded in sorted(stack.iam.policies.items()):  # informative: what the run never needed
        granted = {a for doc in expanded.inline for st in doc["Statement"] for a in _listed(st["Action"])}
        used = {d.action for d in decisions if d.allowed and runs.get(d.principal, "").split(" ")[0] == owner}
        print(f"  {owner}: granted, not used in this run: {sorted(granted - used) or 'nothing'}")
    # THEN every function, the state machine (its Lambda invokes) and Submit's event source signed with their own
    # role, the composer's fetches of presigned backgrounds were authorised as their signer ...
    assert {role for role, _ in enforced} == {
        "SubmitFunction",
        "SlotsFunction",
        "PollFunction",
        "FinalizeFunction",
        "RecordFailureFunction",
        "PosterStateMachine",
        "SubmitFunction (event source)",
    }
    assert enforced["PosterStateMachine", "lambda"] > 0
    assert enforced["SubmitFunction", "s3 (presigned URL)"] > 0
    # ... and moto refused none of their calls
    assert refused == []


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
