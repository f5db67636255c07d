"""Result PNGs in the service's private bucket, handed out as presigned GETs.

On AWS the URLs are on the bucket's regional virtual-hosted host (``<bucket>.s3.<region>.amazonaws.com``),
the one host the template adds to the pipeline's result allow-list; the bucket's lifecycle rule
deletes results after a day, as the provider's result URLs expire.
"""

from __future__ import annotations

from typing import Any

RESULT_PREFIX = "results/"


def result_key(task_id: str, index: int) -> str:
    """``results/<task_id>/<index>.png``."""
    return f"{RESULT_PREFIX}{task_id}/{index}.png"


class ResultBucket:
    """Writes results and presigns their URLs.

    Parameters
    ----------
    s3
        A boto3 S3 client; presigned URLs take its endpoint and addressing style (see `s3_client`).
    bucket
        The service's result bucket.
    url_seconds
        Lifetime asked for each URL.
    """

    def __init__(self, s3: Any, bucket: str, url_seconds: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._url_seconds = url_seconds

    def put(self, task_id: str, index: int, png: bytes) -> str:
        """Store one result and return its key."""
        key = result_key(task_id, index)
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=png, ContentType="image/png")
        return key

    def url(self, key: str) -> str:
        """A presigned GET of ``key``."""
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._url_seconds
            )
        )


def s3_client(region: str, endpoint: str | None) -> Any:
    """An S3 client whose presigned URLs use the regional virtual-hosted host on AWS.

    Behind an endpoint override (the local stack's moto), path style on that endpoint instead: a
    virtual host under ``localhost`` does not resolve.
    """
    import boto3
    from botocore.config import Config

    if endpoint is None:
        config = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
        return boto3.client("s3", region_name=region, endpoint_url=f"https://s3.{region}.amazonaws.com", config=config)
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)
