"""`lamina deploy-web` against moto: the stack's outputs name the bucket and distribution, web/dist is uploaded
with the headers browsers and CloudFront cache by, stale objects go, and index.html is invalidated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lamina_local.cli import main

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    # In-process moto: no endpoint URL, whatever the shell's environment points at.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def _build(dist: Path, files: dict[str, str]) -> Path:
    for key, text in files.items():
        (dist / key).parent.mkdir(parents=True, exist_ok=True)
        (dist / key).write_text(text)
    return dist


def _stack_with_web_outputs(session: boto3.session.Session, name: str) -> tuple[str, str]:
    """A stack whose outputs are the template's (WebBucketName, WebDistributionId); returns them."""
    distribution_id = session.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": "web",
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "web-assets", "DomainName": "web.s3.amazonaws.com"}]},
            "DefaultCacheBehavior": {"TargetOriginId": "web-assets", "ViewerProtocolPolicy": "allow-all"},
        }
    )["Distribution"]["Id"]
    template = {
        "Resources": {"WebBucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "WebBucketName": {"Value": {"Ref": "WebBucket"}},
            "WebDistributionId": {"Value": distribution_id},
            "WebUrl": {"Value": "https://d111111abcdef8.cloudfront.net"},
        },
    }
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    outputs = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    bucket = next(output["OutputValue"] for output in outputs if output["OutputKey"] == "WebBucketName")
    return bucket, distribution_id


def _objects(s3: Any, bucket: str) -> dict[str, dict[str, Any]]:
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.head_object(Bucket=bucket, Key=key) for key in keys}


def test_deploy_web_uploads_the_build_from_the_stack_outputs_and_invalidates_index_html(
    aws: boto3.session.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deployed stack whose bucket holds the previous build (an old chunk, a file since removed)
    bucket, distribution_id = _stack_with_web_outputs(aws, "lamina-web")
    s3 = aws.client("s3")
    s3.put_object(Bucket=bucket, Key="assets/index-OLD.js", Body=b"old")
    s3.put_object(Bucket=bucket, Key="robots.txt", Body=b"old")
    dist = _build(
        tmp_path / "dist",
        {
            "index.html": "<script src=/assets/index-NEW.js></script>",
            "assets/index-NEW.js": "console.log(1)",
            "assets/index-NEW.css": "body{}",
            "favicon.svg": "<svg/>",
            ".vite/manifest.json": "{}",
            ".source-hash": "abc",
        },
    )

    # WHEN `lamina deploy-web --stack` runs, keeping no old assets
    code = main(["deploy-web", "--stack", "lamina-web", "--dist", str(dist), "--keep-assets-days", "0"])

    # THEN the bucket holds exactly the build (not its bookkeeping), each file with its type and caching
    assert code == 0
    objects = _objects(s3, bucket)
    assert sorted(objects) == ["assets/index-NEW.css", "assets/index-NEW.js", "favicon.svg", "index.html"]
    assert objects["index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert objects["index.html"]["CacheControl"] == "no-cache"
    assert objects["assets/index-NEW.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert objects["assets/index-NEW.js"]["CacheControl"] == "public, max-age=31536000, immutable"
    assert objects["assets/index-NEW.css"]["ContentType"] == "text/css; charset=utf-8"
    assert objects["favicon.svg"]["ContentType"] == "image/svg+xml"
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().startswith(b"<script")
    # AND CloudFront is told to drop its copy of index.html (and of the root path that serves it)
    invalidations = aws.client("cloudfront").list_invalidations(DistributionId=distribution_id)
    [summary] = invalidations["InvalidationList"]["Items"]
    invalidation = aws.client("cloudfront").get_invalidation(DistributionId=distribution_id, Id=summary["Id"])
    paths = invalidation["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
    assert "/index.html" in paths and "/" in paths
    assert not any(path.startswith("/assets/") for path in paths)
    assert "open https://d111111abcdef8.cloudfront.net" in capsys.readouterr().out

    # WHEN the next build is deployed by bucket name, with the default grace for old assets
    _build(dist, {"index.html": "<script src=/assets/index-V3.js></script>", "assets/index-V3.js": "v3"})
    (dist / "assets" / "index-NEW.js").unlink()
    assert main(["deploy-web", "--bucket", bucket, "--dist", str(dist)]) == 0

    # THEN unchanged hashed assets are not uploaded again (root files always are), and the replaced chunk stays for open tabs
    out = capsys.readouterr().out
    assert "3 uploaded, 1 unchanged, 0 deleted, 1 old assets kept" in out
    assert "nothing invalidated" in out
    assert "assets/index-NEW.js" in _objects(s3, bucket)


def test_deploy_web_refuses_an_unbuilt_ui_and_a_stack_without_outputs(
    aws: boto3.session.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.client("s3").create_bucket(Bucket="lamina-web-empty")
    assert main(["deploy-web", "--bucket", "lamina-web-empty", "--dist", str(tmp_path)]) == 2
    assert "holds no index.html" in capsys.readouterr().err
    assert main(["deploy-web", "--stack", "no-such-stack", "--dist", str(tmp_path)]) == 2
    assert "stack no-such-stack" in capsys.readouterr().err
