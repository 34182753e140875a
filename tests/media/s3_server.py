"""An S3-compatible HTTP server for tests: moto's server mode on 127.0.0.1, one bucket.

The code under test reaches it only over HTTP through boto3, as it would MinIO or a cloud's
object storage.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import boto3
import requests

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spotcheck-test", "AWS_SECRET_ACCESS_KEY": "spotcheck-test"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """`python -m moto.server` on a free port, with one fresh bucket."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, "the S3 server exited"
            try:
                requests.get(self.url, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the S3 server did not start"
                time.sleep(0.1)
        self.bucket = self.new_bucket()

    @property
    def settings(self) -> dict[str, str]:
        """The app's settings (and credentials) for this bucket."""
        return {"MEDIA_STORAGE": "s3", "S3_ENDPOINT_URL": self.url, "S3_BUCKET": self.bucket.name,
                "S3_REGION": "us-east-1", **CREDENTIALS}

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self) -> Bucket:
        """Create another empty bucket on this server."""
        bucket = Bucket(self.client(), f"spotcheck-{uuid.uuid4().hex[:12]}")
        bucket.client.create_bucket(Bucket=bucket.name)
        return bucket

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Bucket:
    """One bucket, as a test looks at it from outside the app."""

    def __init__(self, client, name: str) -> None:
        self.client = client
        self.name = name

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under prefix."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name,
                                                                      Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)
