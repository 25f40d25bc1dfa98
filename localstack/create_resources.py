"""Create the stack's queues (with their DLQs), bucket and KMS key in LocalStack, as infra/template.yaml says.

Names and attributes are read from the template, never restated here, so LocalStack holds exactly what a
`sam deploy` of stack STACK_NAME would (for the services LocalStack's community edition has). Idempotent.
Prints the function environment (EVENTS_QUEUE_URL=..., LAMINA_BUCKET=...) the resources resolve to.

    python create_resources.py [--endpoint-url http://127.0.0.1:4566] [--stack-name lamina] [--env-file F]

Needs boto3 and PyYAML only (both ship with LocalStack, in its image and in localstack/.venv).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
DEFAULT_ENDPOINT_URL = "http://127.0.0.1:4566"
DEFAULT_STACK_NAME = "lamina"
DEFAULT_REGION = "us-east-1"
LOCALSTACK_ACCOUNT_ID = "000000000000"
# SQS attributes the template sets that CreateQueue accepts as they are.
COPIED_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "DelaySeconds",
    "MaximumMessageSize",
    "SqsManagedSseEnabled",
)
# The CloudFormation short-form tags a template may use.
INTRINSIC_TAGS: tuple[str, ...] = (
    *("Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select"),
    *("Split", "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr"),
)


class TemplateError(ValueError):
    """The template uses a construct this script does not resolve."""


class _CloudFormationLoader(yaml.SafeLoader):
    """Turns short-form intrinsics (!Ref X) into their long form ({"Ref": "X"})."""


def _intrinsic(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in INTRINSIC_TAGS:
    _CloudFormationLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)
    return template


def substitute(value: Any, pseudo: dict[str, str]) -> str:
    """Resolve a plain string or a !Sub over pseudo parameters (${AWS::StackName}, ...)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in pseudo:
                raise TemplateError(f"cannot resolve ${{{name}}} outside CloudFormation")
            return pseudo[name]

        return re.sub(r"\$\{([^}]+)\}", replace, value["Fn::Sub"])
    raise TemplateError(f"unsupported name expression {value!r}")


class ResourceCreator:
    """Creates the template's SQS, S3 and KMS resources; remembers what !Ref resolves to for each."""

    def __init__(
        self, template: dict[str, Any], session: boto3.Session, endpoint_url: str, stack: str
    ) -> None:
        self.resources: dict[str, Any] = template["Resources"]
        self.template = template
        self.sqs = session.client("sqs", endpoint_url=endpoint_url)
        self.s3 = session.client("s3", endpoint_url=endpoint_url)
        self.kms = session.client("kms", endpoint_url=endpoint_url)
        self.region = session.region_name or DEFAULT_REGION
        self.pseudo = {
            "AWS::StackName": stack,
            "AWS::AccountId": LOCALSTACK_ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.refs: dict[str, str] = {}  # logical id -> what !Ref gives (queue URL, bucket name, key id)
        self.queue_arns: dict[str, str] = {}

    def _of_type(self, resource_type: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r["Type"] == resource_type]

    def create_all(self) -> None:
        queues = self._of_type("AWS::SQS::Queue")
        # Dead-letter queues first: a main queue's RedrivePolicy needs their ARN.
        redriven = {q for q in queues if "RedrivePolicy" in self.resources[q].get("Properties", {})}
        for logical_id in sorted(set(queues) - redriven) + sorted(redriven):
            self.create_queue(logical_id)
        for logical_id in self._of_type("AWS::S3::Bucket"):
            self.create_bucket(logical_id)
        for logical_id in self._of_type("AWS::KMS::Key"):
            self.create_key(logical_id)

    def create_queue(self, logical_id: str) -> None:
        properties = self.resources[logical_id].get("Properties", {})
        name = substitute(properties["QueueName"], self.pseudo)
        attributes = {k: _attribute(properties[k]) for k in COPIED_QUEUE_ATTRIBUTES if k in properties}
        redrive = properties.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = (
                f'{{"deadLetterTargetArn":"{self.queue_arns[target]}",'
                f'"maxReceiveCount":"{redrive["maxReceiveCount"]}"}}'
            )
        try:
            url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            # Created earlier with other attributes (an older template): bring it up to date.
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.refs[logical_id] = url
        self.queue_arns[logical_id] = arn

    def create_bucket(self, logical_id: str) -> None:
        properties = self.resources[logical_id].get("Properties", {})
        name = substitute(properties["BucketName"], self.pseudo)
        try:
            if self.region == "us-east-1":
                self.s3.create_bucket(Bucket=name)
            else:
                self.s3.create_bucket(
                    Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
                )
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.refs[logical_id] = name

    def create_key(self, logical_id: str) -> None:
        aliases = [
            substitute(r["Properties"]["AliasName"], self.pseudo)
            for r in self.resources.values()
            if r["Type"] == "AWS::KMS::Alias" and r["Properties"].get("TargetKeyId") == {"Ref": logical_id}
        ]
        for alias in aliases:
            try:
                self.refs[logical_id] = self.kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "NotFoundException":
                    raise
        properties = self.resources[logical_id].get("Properties", {})
        key_id = self.kms.create_key(Description=str(properties.get("Description", logical_id)))[
            "KeyMetadata"
        ]["KeyId"]
        for alias in aliases:
            self.kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        self.refs[logical_id] = key_id

    def environment(self) -> dict[str, str]:
        """The Globals environment variables that are plain !Ref to a resource created here."""
        variables = self.template.get("Globals", {}).get("Function", {}).get("Environment", {})
        result = {}
        for name, value in variables.get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in self.refs:
                result[name] = self.refs[value["Ref"]]
        return result


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT_URL))
    parser.add_argument("--stack-name", default=os.environ.get("LAMINA_STACK_NAME", DEFAULT_STACK_NAME))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION))
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--env-file", type=Path, help="also write the environment to this dotenv file")
    args = parser.parse_args(argv)

    session = boto3.Session(
        # LocalStack accepts any credentials; never pick up real ones by accident.
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=args.region,
    )
    creator = ResourceCreator(load_template(args.template), session, args.endpoint_url, args.stack_name)
    creator.create_all()
    lines = [f"{name}={value}" for name, value in sorted(creator.environment().items())]
    lines.append(f"AWS_ENDPOINT_URL={args.endpoint_url}")
    print("\n".join(lines))
    if args.env_file:
        args.env_file.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
