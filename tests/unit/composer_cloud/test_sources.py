"""`SourcePolicy`: the deployed composer fetches objects of the stack's own two buckets, nothing else.

Both shapes of the policy are covered: on AWS (virtual-hosted and path-style S3 URLs of one region) and
behind an endpoint override (the local stack's moto over HTTPS). The hostile URL list shared with the
Finalize tests (`tests.hostile`) is replayed with the bucket and key put where a real URL would carry them.
"""

from __future__ import annotations

import socket

import pytest

from poster_composer.cloud.sources import SourcePolicy
from poster_composer.errors import InvalidParameterError
from tests.hostile import EvilListener, EvilNet, hostile_urls

INPUT = "poster-in-123456789012-us-east-1"
OUTPUT = "poster-out-abc123"
OTHER = "someone-elses-bucket"
REGION = "us-east-1"
ENDPOINT = "https://localhost:4443"
KEY = "incoming/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"

ON_AWS = SourcePolicy(frozenset({INPUT, OUTPUT}), REGION)
BEHIND_ENDPOINT = SourcePolicy(frozenset({INPUT, OUTPUT}), REGION, ENDPOINT)

ACCEPTED_ON_AWS = [
    f"https://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    f"https://{OUTPUT}.s3.{REGION}.amazonaws.com/normalised/j.png",
    f"https://{INPUT}.s3.amazonaws.com/{KEY}",
    f"https://s3.{REGION}.amazonaws.com/{INPUT}/{KEY}",
    f"https://s3.amazonaws.com/{OUTPUT}/normalised/j.png",
    f"https://{INPUT}.s3.{REGION}.amazonaws.com:443/{KEY}",
    f"https://{INPUT.upper()}.S3.{REGION.upper()}.AMAZONAWS.COM/{KEY}",
    f"  https://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}  ",
    f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/%E6%B5%B7%E6%8A%A5 a+b.jpg",
]

REFUSED_ON_AWS = {
    "other bucket, virtual-hosted": f"https://{OTHER}.s3.{REGION}.amazonaws.com/{KEY}",
    "other bucket, path-style": f"https://s3.{REGION}.amazonaws.com/{OTHER}/{KEY}",
    "other bucket, legacy global": f"https://{OTHER}.s3.amazonaws.com/{KEY}",
    "region mismatch, virtual-hosted": f"https://{INPUT}.s3.eu-west-1.amazonaws.com/{KEY}",
    "region mismatch, path-style": f"https://s3.eu-west-1.amazonaws.com/{INPUT}/{KEY}",
    "dash-region legacy host": f"https://{INPUT}.s3-{REGION}.amazonaws.com/{KEY}",
    "dualstack host": f"https://{INPUT}.s3.dualstack.{REGION}.amazonaws.com/{KEY}",
    "accelerate host": f"https://{INPUT}.s3-accelerate.amazonaws.com/{KEY}",
    "website host": f"https://{INPUT}.s3-website-{REGION}.amazonaws.com/{KEY}",
    "http": f"http://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "http, path-style": f"http://s3.{REGION}.amazonaws.com/{INPUT}/{KEY}",
    "other port": f"https://{INPUT}.s3.{REGION}.amazonaws.com:8443/{KEY}",
    "port 80 on https": f"https://{INPUT}.s3.{REGION}.amazonaws.com:80/{KEY}",
    "malformed port": f"https://{INPUT}.s3.{REGION}.amazonaws.com:44x/{KEY}",
    "double port": f"https://{INPUT}.s3.{REGION}.amazonaws.com:443:80/{KEY}",
    "userinfo user:pw@": f"https://user:pw@{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "userinfo bucket-host@evil": f"https://{INPUT}.s3.{REGION}.amazonaws.com@evil.test/{INPUT}/{KEY}",
    "userinfo empty @": f"https://@{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "backslash authority": f"https://{INPUT}.s3.{REGION}.amazonaws.com\\@evil.test/{KEY}",
    "fragment": f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/a.jpg#frag",
    "fragment hiding the authority": f"https://evil.test#@{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "query hiding the authority": f"https://evil.test?@{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "no key, virtual-hosted": f"https://{INPUT}.s3.{REGION}.amazonaws.com/",
    "no path, virtual-hosted": f"https://{INPUT}.s3.{REGION}.amazonaws.com",
    "no key, path-style": f"https://s3.{REGION}.amazonaws.com/{INPUT}/",
    "bucket only, path-style": f"https://s3.{REGION}.amazonaws.com/{INPUT}",
    "dot segments, path-style": f"https://s3.{REGION}.amazonaws.com/{INPUT}/../{OTHER}/{KEY}",
    "dot segments before the bucket": f"https://s3.{REGION}.amazonaws.com/../{INPUT}/{KEY}",
    "look-alike suffix, global": f"https://{INPUT}.s3.amazonaws.com.evil.test/{KEY}",
    "look-alike suffix, regional": f"https://{INPUT}.s3.{REGION}.amazonaws.com.evil.test/{KEY}",
    "look-alike suffix, path-style": f"https://s3.{REGION}.amazonaws.com.evil.test/{INPUT}/{KEY}",
    "look-alike prefix": f"https://evil{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "look-alike domain": f"https://{INPUT}.s3.{REGION}.amazonaws.co/{KEY}",
    "look-alike domain (amazonaws.com-evil)": f"https://{INPUT}.s3.{REGION}.amazonaws.com-evil.test/{KEY}",
    "trailing dot": f"https://{INPUT}.s3.{REGION}.amazonaws.com./{KEY}",
    "bucket as a path under evil": f"https://evil.test/{INPUT}/{KEY}",
    "IPv4 literal (an S3 address)": f"https://52.216.0.1/{INPUT}/{KEY}",
    "IPv4 literal, metadata service": f"https://169.254.169.254/{INPUT}/{KEY}",
    "IPv6 literal": f"https://[::1]/{INPUT}/{KEY}",
    "IPv4-mapped IPv6": f"https://[::ffff:169.254.169.254]/{INPUT}/{KEY}",
    "decimal IPv4": f"https://2852039166/{INPUT}/{KEY}",
    "localhost": f"https://localhost/{INPUT}/{KEY}",
    "percent-encoded host": f"https://%73{INPUT[1:]}.s3.{REGION}.amazonaws.com/{KEY}",
    "percent-encoded dots in host": f"https://{INPUT}%2Es3%2E{REGION}%2Eamazonaws%2Ecom/{KEY}",
    "percent-encoded bucket, path-style": f"https://s3.{REGION}.amazonaws.com/%70{INPUT[1:]}/{KEY}",
    "percent-encoded slash in the bucket": f"https://s3.{REGION}.amazonaws.com/{INPUT}%2F..%2F{OTHER}/{KEY}",
    "fullwidth letter in host": f"https://{INPUT}.s3.{REGION}.ａmazonaws.com/{KEY}",
    "Cyrillic look-alike": f"https://{INPUT}.s3.{REGION}.amazonaws.c\u043em/{KEY}",
    "punycode": f"https://xn--{INPUT}-9ib.s3.{REGION}.amazonaws.com/{KEY}",
    "file": "file:///etc/passwd",
    "file with the bucket host": f"file://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "gopher": f"gopher://{INPUT}.s3.{REGION}.amazonaws.com/_GET",
    "ftp": f"ftp://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "data": "data:image/png;base64,iVBORw0KGgo=",
    "javascript": "javascript:alert(1)",
    "scheme-relative": f"//{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "no scheme": f"{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "empty": "",
    "not a URL": "hello",
}


@pytest.mark.parametrize("url", ACCEPTED_ON_AWS)
def test_objects_of_the_stacks_own_buckets_are_accepted_on_aws(url: str) -> None:
    # GIVEN an S3 object URL of the input or output bucket, in the stack's region (either addressing style)
    # WHEN the policy checks it
    ON_AWS.check(url, "image_url")
    # THEN it names one of the two buckets
    assert ON_AWS.bucket_of(url) in {INPUT, OUTPUT}


@pytest.mark.parametrize("url", list(REFUSED_ON_AWS.values()), ids=list(REFUSED_ON_AWS))
def test_anything_else_is_refused_on_aws_with_an_invalid_url_error(url: str) -> None:
    # GIVEN a URL off the two buckets, or an S3 URL in a shape the policy does not accept
    # WHEN the policy checks it
    with pytest.raises(InvalidParameterError) as raised:
        ON_AWS.check(url, "logo")
    # THEN it is refused with the API's InvalidParameter "Invalid URL" error naming the field
    assert raised.value.status == 400
    assert raised.value.code == "InvalidParameter"
    assert raised.value.message.startswith("Invalid URL '")
    assert "logo must be an object of this stack's input or output bucket" in raised.value.message


def test_the_refusal_message_never_carries_the_query_string() -> None:
    # GIVEN a refused URL carrying a signature
    url = f"https://{OTHER}.s3.{REGION}.amazonaws.com/a.jpg?X-Amz-Signature=s3cr3t&X-Amz-Security-Token=t0k3n"
    # WHEN it is refused
    with pytest.raises(InvalidParameterError) as raised:
        ON_AWS.check(url, "image_url")
    # THEN the message shows the URL without its query
    assert "s3cr3t" not in raised.value.message and "t0k3n" not in raised.value.message
    assert f"https://{OTHER}.s3.{REGION}.amazonaws.com/a.jpg" in raised.value.message


ACCEPTED_BEHIND_ENDPOINT = [
    f"{ENDPOINT}/{INPUT}/{KEY}",
    f"{ENDPOINT}/{OUTPUT}/normalised/j.png",
    f"https://LOCALHOST:4443/{INPUT}/{KEY}",
]

REFUSED_BEHIND_ENDPOINT = {
    "other bucket": f"{ENDPOINT}/{OTHER}/{KEY}",
    "http on the endpoint's port": f"http://localhost:4443/{INPUT}/{KEY}",
    "other port": f"https://localhost:4444/{INPUT}/{KEY}",
    "default port": f"https://localhost/{INPUT}/{KEY}",
    "zero-padded port": f"https://localhost:04443/{INPUT}/{KEY}",
    "IPv4 literal of the endpoint": f"https://127.0.0.1:4443/{INPUT}/{KEY}",
    "IPv6 literal of the endpoint": f"https://[::1]:4443/{INPUT}/{KEY}",
    "trailing dot": f"https://localhost.:4443/{INPUT}/{KEY}",
    "look-alike suffix": f"https://localhost.evil.test:4443/{INPUT}/{KEY}",
    "userinfo": f"https://user@localhost:4443/{INPUT}/{KEY}",
    "userinfo endpoint@evil": f"https://localhost:4443@evil.test/{INPUT}/{KEY}",
    "fragment": f"{ENDPOINT}/{INPUT}/incoming/a.jpg#x",
    "dot segments": f"{ENDPOINT}/{INPUT}/../{OTHER}/{KEY}",
    "no key": f"{ENDPOINT}/{INPUT}/",
    "AWS virtual-hosted URL (the override is in force)": f"https://{INPUT}.s3.{REGION}.amazonaws.com/{KEY}",
    "AWS path-style URL": f"https://s3.{REGION}.amazonaws.com/{INPUT}/{KEY}",
    "metadata service": f"https://169.254.169.254/{INPUT}/{KEY}",
    "percent-encoded host": f"https://%6cocalhost:4443/{INPUT}/{KEY}",
    "percent-encoded bucket": f"{ENDPOINT}/%70{INPUT[1:]}/{KEY}",
    "file": f"file://localhost:4443/{INPUT}/{KEY}",
    "gopher": f"gopher://localhost:4443/{INPUT}/{KEY}",
}


@pytest.mark.parametrize("url", ACCEPTED_BEHIND_ENDPOINT)
def test_behind_an_endpoint_override_only_that_origin_path_style_is_accepted(url: str) -> None:
    # GIVEN the local stack's S3 endpoint override and a path-style URL of one of the buckets on it
    # WHEN / THEN it is accepted
    BEHIND_ENDPOINT.check(url, "image_url")


@pytest.mark.parametrize("url", list(REFUSED_BEHIND_ENDPOINT.values()), ids=list(REFUSED_BEHIND_ENDPOINT))
def test_behind_an_endpoint_override_anything_else_is_refused(url: str) -> None:
    # GIVEN the endpoint override and a URL of another origin, bucket or shape
    # WHEN / THEN it is refused with "Invalid URL"
    with pytest.raises(InvalidParameterError, match=r"^Invalid URL"):
        BEHIND_ENDPOINT.check(url, "image_url")


# Entries of tests/hostile.py that are the allowed origin itself, so accepted by design: the same host and port
# (an explicit :443, or none), the scheme in capitals (urlsplit lower-cases it, as HTTP does), and CR/LF in the
# path (dropped by urlsplit; the fetcher percent-encodes them: the request still goes to the bucket's own host).
SAME_ORIGIN = {"allowed host, no port (443)", "upper-case scheme", "CRLF header injection"}


@pytest.fixture(scope="module")
def evil() -> EvilNet:
    # The listeners are never started here (unit tests have no sockets): only their ports go into the URLs.
    listeners = [
        EvilListener("127.0.0.2", port=40001),
        EvilListener("127.0.0.1", port=40002),
        EvilListener("::1", socket.AF_INET6, port=40003),
    ]
    return EvilNet(*listeners)


def test_the_hostile_url_list_is_refused_on_aws(evil: EvilNet) -> None:
    # GIVEN the shared hostile URL list, built around the input bucket's regional host, carrying a key
    host = f"{INPUT}.s3.{REGION}.amazonaws.com"
    table = [
        (label, url.replace("/results/t/0.png", "/incoming/a.jpg"))
        for label, url, _ in hostile_urls(host + ":443", evil)
    ]
    # WHEN each is checked
    accepted = [label for label, url in table if _accepts(ON_AWS, url)]
    # THEN only the same-origin spellings pass, and they name the input bucket
    assert set(accepted) <= SAME_ORIGIN
    assert all(ON_AWS.bucket_of(url) == INPUT for label, url in table if label in accepted)
    assert len(table) - len(accepted) >= 40


def test_the_hostile_url_list_is_refused_behind_an_endpoint(evil: EvilNet) -> None:
    # GIVEN the shared hostile URL list around the endpoint override's origin, with the bucket in the path
    table = [
        (label, url.replace("/results/t/0.png", f"/{INPUT}/incoming/a.jpg"))
        for label, url, _ in hostile_urls("localhost:4443", evil)
    ]
    # WHEN each is checked
    accepted = [label for label, url in table if _accepts(BEHIND_ENDPOINT, url)]
    # THEN only the capitalised scheme (the same origin) passes
    assert set(accepted) <= {"upper-case scheme"}
    assert len(table) - len(accepted) >= 42


def _accepts(policy: SourcePolicy, url: str) -> bool:
    try:
        policy.check(url, "image_url")
    except InvalidParameterError:
        return False
    return True
