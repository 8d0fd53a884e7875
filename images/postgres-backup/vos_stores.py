"""Where the backup service's sealed copies go: a folder (dev: a volume of its own) or an
S3 bucket (prod). Names are relative, with '/' (base/..., wals/...)."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from vos_seal import SEALED


class Store(Protocol):
    """Where the sealed copies go: names are relative, with '/' (base/..., wals/...)."""

    def names(self) -> set[str]: ...
    def put(self, name: str, path: Path) -> None: ...
    def get(self, name: str, path: Path) -> None: ...
    def delete(self, name: str) -> None: ...


class DirectoryStore:
    """A folder (dev: a volume of its own). Objects appear whole: written aside, renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> set[str]:
        return {
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob(f"*{SEALED}")
            if path.is_file()
        }

    def put(self, name: str, path: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(path, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)

    def get(self, name: str, path: Path) -> None:
        shutil.copyfile(self.root / name, path)

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


class S3Store:
    """A bucket (prod), under a prefix; `client` is a boto3 S3 client. The bucket's own
    rules (TLS only, SSE-KMS by default, versioning, a lifecycle) are the state backend's."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/") + "/"

    def names(self) -> set[str]:
        found: set[str] = set()
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix):
            found |= {item["Key"][len(self.prefix) :] for item in page.get("Contents", [])}
        return found

    def put(self, name: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self.prefix + name)

    def get(self, name: str, path: Path) -> None:
        self.client.download_file(self.bucket, self.prefix + name, str(path))

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def store_from(args: argparse.Namespace) -> Store:
    if args.store_dir:
        return DirectoryStore(Path(args.store_dir))
    import boto3  # only where a bucket is the store
    from botocore.config import Config

    proxy: dict[str, Any] = {}
    if args.proxy:
        # An HTTPS proxy that knows the service by its client certificate (the stack's
        # egress proxy); TLS to the store runs inside the tunnel, end to end.
        proxy = {
            "proxies": {"https": args.proxy},
            "proxies_config": {
                "proxy_ca_bundle": args.proxy_ca,
                "proxy_client_cert": (args.proxy_cert, args.proxy_key),
            },
        }
    client = boto3.client(
        "s3",
        region_name=args.s3_region,
        endpoint_url=args.s3_endpoint,
        config=Config(
            # botocore's standard retries (3 attempts; AWS_MAX_ATTEMPTS may say otherwise).
            retries={"mode": "standard"},
            # One name per store, known in advance: the proxy allows exactly it (AWS: the
            # bucket's own name; another store: its endpoint's).
            s3={"addressing_style": "path" if args.s3_endpoint else "virtual"},
            **proxy,
        ),
    )
    return S3Store(client, args.s3_bucket, args.s3_prefix)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store-dir", help="a folder as the store (dev)")
    parser.add_argument("--s3-bucket", help="a bucket as the store (prod)")
    parser.add_argument("--s3-region")
    parser.add_argument("--s3-endpoint", help="another S3 endpoint (tests: moto)")
    parser.add_argument("--s3-prefix", default="postgres", help="where under the bucket")
    parser.add_argument("--proxy", help="https://host:port of the way out (the egress proxy)")
    parser.add_argument("--proxy-ca", help="the CA of the proxy's certificate")
    parser.add_argument("--proxy-cert", help="this service's certificate at the proxy")
    parser.add_argument("--proxy-key")
