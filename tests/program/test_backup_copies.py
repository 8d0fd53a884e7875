"""backup.postgres.offsite as the program renders it: the copies' own volume (kept like the
data, mounted writable only in the backup service), the key from the stack's credential
(its Vault secret) as a private file, the window from the retention; nothing of it with
`none`; the same volume on a Swarm; a bucket reached through the egress proxy."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from components.postgres_backup import files
from tests.helpers import SWARM_IMAGE, output, swarm_overrides
from tools.offline.mocks import unwrap
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

VOLUME = "vos-prod-postgres-backup-offsite"


def _prod(**changes: Any) -> Evaluation:
    return evaluate("prod", with_overrides(read_stack_config("prod"), **changes))


def _mounts(evaluation: Evaluation, resource: str) -> dict[str, dict[str, Any]]:
    volumes = unwrap(evaluation.named(resource).inputs)["volumes"]
    return {v["containerPath"]: v for v in volumes}


def test_the_copies_get_a_volume_of_their_own_kept_like_data_and_the_stack_key() -> None:
    evaluation = evaluate("prod")
    volume = evaluation.named("postgres-backup-server-offsite")
    assert unwrap(volume.inputs)["name"] == VOLUME
    assert volume.options["retainOnDelete"] is True
    mounts = _mounts(evaluation, "postgres-backup-server")
    assert mounts[files.OFFSITE_STORE] == {
        "volumeName": VOLUME, "readOnly": False, "containerPath": files.OFFSITE_STORE,
    }  # fmt: skip
    # No other container mounts it (not even its files carrier): the backup service's alone.
    mounting = [
        r.name
        for r in evaluation.of_type("docker:index/container:Container")
        if VOLUME in str(unwrap(r.inputs).get("volumes"))
    ]
    assert mounting == ["postgres-backup-server"]
    backup = containers(evaluation)["postgres-backup"]
    command = backup.command
    assert command[command.index("--offsite-key") + 1] == files.OFFSITE_KEY
    assert command[command.index("--store-dir") + 1] == files.OFFSITE_STORE
    assert command[command.index("--offsite-window-days") + 1] == "7"  # prod's 7d
    key = backup.files[files.OFFSITE_KEY]
    assert key.mode == "0400"
    # The key is the stack's credential, the value Vault keeps (and restores read).
    credential = output(evaluation.named("credentials-postgres-backup-encryption-key"), "result")
    stored = unwrap(evaluation.named("vault-postgres-backup-encryption-key").inputs)
    assert key.content == credential == stored["data"]["value"]
    assert len(credential) >= 64


def test_the_window_follows_the_retention_and_none_renders_no_copies() -> None:
    weeks = containers(_prod(backup={"postgres": {"retention": "4w"}}))["postgres-backup"]
    assert weeks.command[weeks.command.index("--offsite-window-days") + 1] == "28"
    evaluation = _prod(backup={"postgres": {"offsite": "none"}})
    backup = containers(evaluation)["postgres-backup"]
    assert "--offsite-key" not in backup.command and "--store-dir" not in backup.command
    assert files.OFFSITE_KEY not in backup.files
    assert not [r for r in evaluation.registrations if r.name.endswith("-offsite")]
    assert files.OFFSITE_STORE not in _mounts(evaluation, "postgres-backup-server")


def test_on_a_swarm_the_service_mounts_the_same_named_volume() -> None:
    overrides = swarm_overrides("prod")
    overrides["services"] = {
        **overrides["services"],
        "postgresBackup": {"enabled": True, "image": SWARM_IMAGE},
    }
    evaluation = evaluate("prod", with_overrides(read_stack_config("prod"), **overrides))
    (service,) = [
        unwrap(r.inputs)
        for r in evaluation.of_type("docker:index/service:Service")
        if unwrap(r.inputs)["name"] == "vos-prod-postgres-backup"
    ]
    mounts = service["taskSpec"]["containerSpec"]["mounts"]
    assert {"type": "volume", "source": VOLUME, "target": files.OFFSITE_STORE} in [
        {k: m.get(k) for k in ("type", "source", "target")} for m in mounts
    ]


S3 = {
    "bucket": "vos-prod-backups",
    "region": "eu-central-1",
    "accessKeyId": "AKIAEXAMPLEKEYID0001",
    "secretAccessKey": "an-example-secret-access-key-value",
}


def test_copies_to_a_bucket_go_out_through_the_proxy_with_their_own_identity_and_keys() -> None:
    config = with_overrides(
        read_stack_config("prod"), backup={"postgres": {"offsite": "s3", "s3": S3}}
    )
    # As `pulumi config set --secret --path 'vos-infra:backup.postgres.s3.secretAccessKey'`
    # leaves it: the whole top-level key is secret (operator_secrets.py).
    evaluation = evaluate(
        "prod", StackConfig(config.values, [*config.secret_keys, "vos-infra:backup"])
    )
    rendered = containers(evaluation)
    backup = rendered["postgres-backup"]
    command = backup.command
    given = dict(zip(command[::2], command[1::2], strict=True))
    assert given["--s3-bucket"] == "vos-prod-backups" and given["--s3-region"] == "eu-central-1"
    assert given["--proxy"] == "https://egress-proxy:3129"
    assert "--store-dir" not in given and "--s3-endpoint" not in given
    assert not [r for r in evaluation.registrations if r.name.endswith("-offsite")]
    credentials = backup.files[files.S3_CREDENTIALS]
    assert credentials.mode == "0400"
    assert "aws_secret_access_key = an-example-secret-access-key-value" in credentials.content
    assert backup.env["AWS_SHARED_CREDENTIALS_FILE"] == files.S3_CREDENTIALS
    assert backup.env["AWS_EC2_METADATA_DISABLED"] == "true"
    # Its identity at the proxy: a certificate of its own, CN postgres-backup.
    identity = x509.load_pem_x509_certificate(backup.files[files.EGRESS_CERT].content.encode())
    (name,) = identity.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert name.value == "postgres-backup"
    assert backup.files[files.EGRESS_KEY].mode == "0400"
    # Vault keeps the keys like every credential.
    stored = unwrap(evaluation.named("vault-postgres-backup-s3-credentials").inputs)["data"]
    assert stored["secret_access_key"] == S3["secretAccessKey"]
    # The proxy lets that identity reach the bucket's name, and only it.
    (squid,) = [f for p, f in rendered["egress-proxy"].files.items() if p.endswith("squid.conf")]
    assert "acl app_postgres_backup user_cert CN postgres-backup" in squid.content
    allow = [line for line in squid.content.splitlines() if "app_postgres_backup_to" in line]
    assert allow == [
        "acl app_postgres_backup_to_443 dstdomain -n "
        "vos-prod-backups.s3.eu-central-1.amazonaws.com",
        "http_access allow app_postgres_backup app_postgres_backup_to_443 port_443",
    ]
