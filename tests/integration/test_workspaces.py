"""The workspace store against moto's S3: restore, checkpoint of changes only, deletions, multipart files,
keys that would escape the workspace, and credentials narrowed to the session's prefix by a session policy."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.localstack


@pytest.fixture
def s3(stack_env: dict[str, str]) -> Iterator[tuple[Any, str]]:
    from lamina.settings import get_settings
    from lamina.workspaces.store import workspace_client

    settings = get_settings()
    yield workspace_client(settings), settings.bucket_name


def test_checkpoint_uploads_changes_only_and_restore_round_trips(s3: tuple[Any, str], tmp_path: Path) -> None:
    from lamina.workspaces import store
    from lamina.workspaces.store import Workspace, session_prefix

    client, bucket = s3
    prefix = session_prefix(uuid.uuid4(), uuid.uuid4())
    root = tmp_path / "first"
    # GIVEN a workspace with small files, a multipart-sized one and a symlink out of it
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("print('a')")
    (root / "notes.md").write_text("notes")
    big = os.urandom(store.MULTIPART_THRESHOLD + 1024)
    (root / "big.bin").write_bytes(big)
    (root / "escape").symlink_to("/etc/hostname")
    with Workspace(client, bucket, prefix, root) as workspace:
        # WHEN it is checkpointed THEN everything but the symlink is uploaded
        assert workspace.checkpoint().uploaded == ["big.bin", "notes.md", "src/a.py"]
        # WHEN nothing changed THEN nothing is uploaded; a touched but identical file is not re-sent
        assert workspace.checkpoint().uploaded == []
        os.utime(root / "notes.md", ns=(1, 1))
        assert workspace.checkpoint().uploaded == []
        # WHEN one file changes and one is deleted THEN only those reach S3
        (root / "src" / "a.py").write_text("print('changed')")
        (root / "notes.md").unlink()
        stats = workspace.checkpoint()
        assert (stats.uploaded, stats.deleted) == (["src/a.py"], ["notes.md"])
    # AND a key that would escape the workspace is never restored
    client.put_object(Bucket=bucket, Key=prefix + "../outside.txt", Body=b"x")
    # WHEN another directory restores the prefix THEN it holds the same files
    second = tmp_path / "second"
    with Workspace(client, bucket, prefix, second) as workspace:
        restored = workspace.restore()
        assert restored.downloaded == 2
        assert (second / "src" / "a.py").read_text() == "print('changed')"
        assert (second / "big.bin").read_bytes() == big
        assert not (tmp_path / "outside.txt").exists()
        # AND restored files count as synced
        assert workspace.checkpoint().uploaded == []


def test_session_policy_scopes_credentials_to_the_prefix(stack_env: dict[str, str]) -> None:
    from lamina import aws
    from lamina.workspaces.credentials import assume_scoped_role, session_policy

    # GIVEN a session's prefix
    prefix = f"workspaces/{uuid.uuid4()}/{uuid.uuid4()}/files/"
    policy = session_policy("bucket", prefix)
    # THEN the policy allows objects and listing under the prefix only
    objects, listing = policy["Statement"]
    assert objects["Resource"] == f"arn:aws:s3:::bucket/{prefix}*"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    with pytest.raises(ValueError):
        session_policy("bucket", prefix.rstrip("/"))
    # WHEN the runner assumes its workspace role with it (moto's STS) THEN it gets temporary credentials
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName=f"ws-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    credentials = assume_scoped_role(
        aws.client("sts"), role_arn=role, bucket="bucket", prefix=prefix, session_id="s"
    )
    assert credentials.session_token and credentials.access_key_id != os.environ.get("AWS_ACCESS_KEY_ID")
