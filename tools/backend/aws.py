"""AWS clients from the standard credential chain (environment, profile, SSO, instance
role: never a key in settings or state), and every failure said once, with what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.exceptions

from tools.backend.desired import Backend


class BackendError(RuntimeError):
    """A bootstrap or check that cannot go on; the message says what to fix."""


def clients(backend: Backend) -> tuple[Any, Any, Any]:
    """(s3, kms, sts) for the backend's region; `endpoint` serves an S3-compatible store."""
    session = boto3.session.Session(region_name=backend.region)
    s3 = (
        session.client("s3", endpoint_url=backend.endpoint)
        if backend.endpoint
        else (session.client("s3"))
    )
    return s3, session.client("kms"), session.client("sts")


@contextmanager
def translated(action: str) -> Iterator[None]:
    try:
        yield
    except BackendError:
        raise
    except botocore.exceptions.NoCredentialsError:
        raise BackendError(
            f"{action}: no AWS credentials. Use the standard chain: AWS_PROFILE (aws sso "
            "login / aws configure), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an "
            "instance role; vos-infra never takes a key from its settings"
        ) from None
    except botocore.exceptions.EndpointConnectionError as error:
        raise BackendError(f"{action}: cannot reach AWS ({error})") from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException", "403", "Forbidden"):
            raise BackendError(
                f"{action}: access denied ({message or code}). The credentials need the S3 "
                "bucket and KMS key permissions listed in docs/production-backend.md"
            ) from None
        if code in ("InvalidClientTokenId", "UnrecognizedClientException",
                    "SignatureDoesNotMatch", "ExpiredToken"):  # fmt: skip
            raise BackendError(
                f"{action}: AWS rejected the credentials ({code}); renew them "
                "(aws sso login, or new access keys)"
            ) from None
        raise BackendError(f"{action}: {code}: {message}") from None
