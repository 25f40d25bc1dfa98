"""Credentials that can touch one session's workspace prefix and nothing else.

In AWS the runner assumes LAMINA_WORKSPACE_ROLE_ARN with an STS *session policy* naming the prefix: the
resulting credentials are the intersection of the role's policy and this document, so even a bug in the
runner cannot read another session's files with them. Without a role (locally, moto) the process's own
credentials are used and the prefix is enforced by the code alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# STS refuses session policies over 2,048 packed characters; ours is far below.
SESSION_POLICY_MAX_CHARS = 2048
DEFAULT_CREDENTIALS_TTL_S = 3600
# STS role-session names allow [\w+=,.@-]{2,64}.
ROLE_SESSION_NAME_MAX = 64


@dataclass(frozen=True)
class ScopedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


def session_policy(bucket: str, prefix: str, partition: str = "aws") -> dict[str, Any]:
    """The IAM policy document that allows object reads, writes and deletes, and listing, under `prefix`."""
    if not prefix.endswith("/"):
        raise ValueError("a workspace prefix ends with '/' (so 'a/b' cannot reach 'a/bc/')")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WorkspaceObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
            },
            {
                "Sid": "WorkspaceListing",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ],
    }


def role_session_name(session_id: str) -> str:
    name = "".join(ch if ch.isalnum() or ch in "+=,.@-_" else "-" for ch in f"ws-{session_id}")
    return name[:ROLE_SESSION_NAME_MAX]


def assume_scoped_role(
    sts: Any,
    *,
    role_arn: str,
    bucket: str,
    prefix: str,
    session_id: str,
    ttl_s: int = DEFAULT_CREDENTIALS_TTL_S,
) -> ScopedCredentials:
    """Temporary credentials for `role_arn` narrowed to `bucket/prefix` by a session policy."""
    import json

    policy = json.dumps(session_policy(bucket, prefix), separators=(",", ":"))
    if len(policy) > SESSION_POLICY_MAX_CHARS:
        raise ValueError("workspace session policy too long for STS")
    response = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=role_session_name(session_id),
        Policy=policy,
        DurationSeconds=ttl_s,
    )
    credentials = response["Credentials"]
    return ScopedCredentials(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
    )
