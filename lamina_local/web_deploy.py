"""`lamina deploy-web`: publish the built UI (web/dist) to a deployed stack, after `sam deploy`.

The template's WebBucket holds the assets and its WebDistribution serves them (and forwards /api, /services).
`sam deploy` creates both but uploads nothing, so this command:

1. finds the bucket and the distribution in the stack's outputs (`WebBucketName`, `WebDistributionId`), or
   takes them as `--bucket` / `--distribution-id`;
2. uploads every file of web/dist with its Content-Type and Cache-Control: hashed files under `assets/` are
   immutable for a year (a new build has new names), `index.html` is `no-cache` (revalidated on each visit,
   so a deploy shows at once), other root files (favicon...) are cached for an hour. Hashed assets already in
   the bucket with the same content are skipped; index.html is uploaded last, once everything it names is
   there;
3. invalidates `/` and `/index.html` (and any other root file) in CloudFront;
4. deletes what the build no longer holds. Old hashed assets are kept `--keep-assets-days` (7 by default):
   a tab opened before the deploy still loads the old index.html's lazy page chunks when it navigates.

    .venv/bin/lamina deploy-web --stack lamina            # after `sam deploy --stack-name lamina`
    .venv/bin/lamina deploy-web --bucket <b> --distribution-id <id> --dist web/dist
"""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIST = ROOT / "web" / "dist"
ASSETS_PREFIX = "assets/"

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"

# mimetypes reads /etc/mime.types, which differs between machines: the types a browser is strict about.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    if key.startswith(ASSETS_PREFIX):
        return IMMUTABLE
    return REVALIDATE if key == "index.html" else SHORT


def dist_files(dist: Path) -> dict[str, Path]:
    """The build's files by object key; build bookkeeping (`.vite/manifest.json`, `.source-hash`) stays home."""
    files = {}
    for path in sorted(dist.rglob("*")):
        key = path.relative_to(dist).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in key.split("/")):
            files[key] = path
    return files


@dataclass
class WebDeployReport:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    invalidation_id: str | None = None


def deploy_web(
    dist: Path,
    bucket: str,
    distribution_id: str | None,
    s3: Any,
    cloudfront: Any,
    keep_assets_days: float = 7,
    now: datetime | None = None,
) -> WebDeployReport:
    files = dist_files(dist)
    if "index.html" not in files:
        raise ValueError(f"{dist} holds no index.html: build the UI first (scripts/build-web)")
    existing: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            existing[item["Key"]] = item
    report = WebDeployReport()
    # index.html last: a visitor never gets an index.html naming assets not uploaded yet.
    for key in sorted(files, key=lambda key: (key == "index.html", key)):
        body = files[key].read_bytes()
        etag = existing.get(key, {}).get("ETag", "").strip('"')
        if key.startswith(ASSETS_PREFIX) and etag == hashlib.md5(body, usedforsecurity=False).hexdigest():
            report.unchanged.append(key)
            continue
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type(key), CacheControl=cache_control(key)
        )
        report.uploaded.append(key)
    if distribution_id:
        paths = ["/"] + [f"/{key}" for key in report.uploaded if not key.startswith(ASSETS_PREFIX)]
        invalidation = cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"lamina-deploy-web-{datetime.now(UTC).isoformat()}",
            },
        )
        report.invalidation_id = invalidation["Invalidation"]["Id"]
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_assets_days)
    stale = []
    for key, item in sorted(existing.items()):
        if key in files:
            continue
        if key.startswith(ASSETS_PREFIX) and item["LastModified"] > cutoff:
            report.kept.append(key)
        else:
            stale.append(key)
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1,000 keys
        batch = stale[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        report.deleted.extend(batch)
    return report


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    from lamina_local.cli import CliError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore's ClientError: no such stack
        raise CliError(f"stack {stack_name}: {error}") from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def add_deploy_web_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deploy = commands.add_parser(
        "deploy-web",
        help="upload web/dist to a deployed stack's WebBucket and invalidate its CloudFront distribution",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deploy.add_argument("--stack", help="the stack `sam deploy` created: its outputs name the bucket and CDN")
    deploy.add_argument("--bucket", help="the web bucket (instead of --stack)")
    deploy.add_argument("--distribution-id", help="the CloudFront distribution (instead of --stack)")
    deploy.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="the built UI (default: web/dist)")
    deploy.add_argument("--region", default=None, help="the stack's region (default: AWS_REGION)")
    deploy.add_argument(
        "--keep-assets-days", type=float, default=7, help="keep replaced hashed assets this long (default: 7)"
    )
    deploy.set_defaults(run=cmd_deploy_web)


def cmd_deploy_web(args: argparse.Namespace) -> int:
    import boto3

    from lamina_local.cli import CliError

    region = (
        args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    session = boto3.session.Session(region_name=region)
    bucket, distribution_id = args.bucket, args.distribution_id
    outputs: dict[str, str] = {}
    if args.stack:
        outputs = stack_outputs(session.client("cloudformation"), args.stack)
        bucket = bucket or outputs.get("WebBucketName")
        distribution_id = distribution_id or outputs.get("WebDistributionId")
        if not bucket:
            raise CliError(
                f"stack {args.stack} has no WebBucketName output: deploy infra/template.yaml first"
            )
    if not bucket:
        raise CliError("give --stack, or --bucket (and --distribution-id)")
    try:
        report = deploy_web(
            args.dist,
            bucket,
            distribution_id,
            session.client("s3"),
            session.client("cloudfront"),
            keep_assets_days=args.keep_assets_days,
        )
    except ValueError as error:
        raise CliError(str(error)) from None
    print(
        f"s3://{bucket}: {len(report.uploaded)} uploaded, {len(report.unchanged)} unchanged, "
        f"{len(report.deleted)} deleted, {len(report.kept)} old assets kept"
    )
    if report.invalidation_id:
        print(f"CloudFront {distribution_id}: invalidation {report.invalidation_id} created")
    else:
        print("no CloudFront distribution given: nothing invalidated")
    if url := outputs.get("WebUrl"):
        print(f"open {url}")
    return 0
