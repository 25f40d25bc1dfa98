"""Creating the template's resources in the AWS emulator with direct API calls.

Only resources with behaviour the stack relies on are created (queues with redrive, buckets, KMS keys and
aliases, Cognito pools and clients, Secrets Manager secrets). Everything else (roles, log groups, layers,
functions, the ECS cluster) gets a synthetic physical id so references to it resolve. Creation is
idempotent, so it also works against a LocalStack that already holds the resources.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lamina_local.template import Template, TemplateError, UnresolvedReferenceError

SQS_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
)
USER_POOL_CLIENT_PROPERTIES = (
    "ClientName",
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


PROVISION_THREADS = 8


class ProvisioningError(RuntimeError):
    """The emulator (or the AWS endpoint given) refused to create a resource of the template."""


class Provisioner:
    def __init__(self, template: Template, client: Callable[[str], Any], *, api_endpoint: str) -> None:
        self.template = template
        self.client = client
        self.api_endpoint = api_endpoint
        self.created: list[str] = []

    def run(self) -> dict[str, dict[str, str]]:
        """Create every resource, dependencies first; fill and return `template.physical`."""
        creators: dict[str, Callable[[str], dict[str, str]]] = {
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::SecretsManager::Secret": self._secret,
        }
        template = self.template
        pending = []
        for logical_id, resource in template.resources.items():
            if not template.included(logical_id):
                continue
            if resource.get("Type") in creators:
                pending.append(logical_id)
            else:
                template.physical[logical_id] = self._synthetic(logical_id, resource.get("Type", ""))
        # Waves: everything whose references resolve is created concurrently (the emulator answers each call in
        # tens of milliseconds, mostly waiting); what refers to a resource of this wave waits for the next one.
        with ThreadPoolExecutor(max_workers=PROVISION_THREADS) as pool:
            while pending:
                futures = {
                    logical_id: pool.submit(creators[template.resources[logical_id]["Type"]], logical_id)
                    for logical_id in pending
                }
                deferred = []
                for logical_id, future in futures.items():
                    try:
                        template.physical[logical_id] = future.result()
                        self.created.append(logical_id)
                    except UnresolvedReferenceError as missing:
                        if missing.logical_id not in pending:
                            raise
                        deferred.append(logical_id)
                    except TemplateError:
                        raise
                    except Exception as error:
                        # Name the resource: "UserPool (AWS::Cognito::UserPool)" says more than a bare 501.
                        kind = template.resources[logical_id]["Type"]
                        raise ProvisioningError(f"could not create {logical_id} ({kind}): {error}") from error
                if len(deferred) == len(pending):
                    raise TemplateError(f"circular references between {', '.join(deferred)}")
                pending = deferred
        return template.physical

    # ---------------------------------------------------------------- synthetic ids

    def _synthetic(self, logical_id: str, type_: str) -> dict[str, str]:
        t = self.template
        name = f"{t.stack_name}-{logical_id}"
        region, account = t.region, t.account_id
        service = type_.split("::")[1].lower() if type_.count("::") >= 2 else "cloudformation"
        arn = f"arn:aws:{service}:{region}:{account}:{logical_id.lower()}/{name}"
        physical = {"Ref": name, "Arn": arn}
        if type_ == "AWS::Serverless::Function":
            properties = t.resources[logical_id].get("Properties") or {}
            name = str(properties.get("FunctionName") or name)
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            physical = {"Ref": name, "Arn": arn}
        elif type_ == "AWS::Serverless::HttpApi":
            physical = {"Ref": "local", "ApiEndpoint": self.api_endpoint, "Arn": arn}
        elif type_ == "AWS::Serverless::LayerVersion":
            physical = {"Ref": f"arn:aws:lambda:{region}:{account}:layer:{name}:1", "Arn": arn}
        elif type_ == "AWS::Logs::LogGroup":
            physical["Arn"] = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        return physical

    # ---------------------------------------------------------------- emulated resources

    def _queue(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        name = str(properties.get("QueueName") or f"{self.template.stack_name}-{logical_id}")
        attributes = {}
        for key in SQS_ATTRIBUTES:
            if key in properties:
                value = properties[key]
                attributes[key] = (
                    json.dumps(value)
                    if isinstance(value, dict)
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        # Path-style queue URLs end in /<account>/<name> (moto, LocalStack, AWS): the ARN follows, one call saved.
        account = url.rstrip("/").split("/")[-2]
        arn = f"arn:aws:sqs:{self.template.region}:{account}:{name}"
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _bucket(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        name = str(properties.get("BucketName") or f"{self.template.stack_name}-{logical_id}".lower())
        s3 = self.client("s3")
        try:
            if self.template.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.template.region}
                )
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if (properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.template.region}.amazonaws.com",
        }

    def _kms_key(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        kms = self.client("kms")
        alias = self._alias_for(logical_id)
        if alias:
            try:
                existing = kms.describe_key(KeyId=alias)["KeyMetadata"]
                return {"Ref": existing["KeyId"], "Arn": existing["Arn"], "KeyId": existing["KeyId"]}
            except kms.exceptions.NotFoundException:
                pass
        metadata = kms.create_key(
            Description=str(properties.get("Description", logical_id)),
            KeyUsage=str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
            KeySpec=str(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
        )["KeyMetadata"]
        return {"Ref": metadata["KeyId"], "Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}

    def _alias_for(self, key_logical_id: str) -> str | None:
        for resource in self.template.resources_of("AWS::KMS::Alias").values():
            target = (resource.get("Properties") or {}).get("TargetKeyId")
            if target in ({"Ref": key_logical_id}, {"Fn::GetAtt": [key_logical_id, "Arn"]}):
                return str(self.template.resolve((resource.get("Properties") or {})["AliasName"]))
        return None

    def _kms_alias(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        name, target = str(properties["AliasName"]), str(properties["TargetKeyId"])
        kms = self.client("kms")
        try:
            kms.create_alias(AliasName=name, TargetKeyId=target)
        except kms.exceptions.AlreadyExistsException:
            kms.update_alias(AliasName=name, TargetKeyId=target)
        return {"Ref": name}

    def _user_pool(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        name = str(properties.get("UserPoolName") or f"{self.template.stack_name}-{logical_id}")
        cognito = self.client("cognito-idp")
        pool_id = next(
            (
                pool["Id"]
                for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]
                if pool["Name"] == name
            ),
            None,
        )
        if pool_id is None:
            arguments: dict[str, Any] = {"PoolName": name}
            for key in ("Policies", "UsernameAttributes", "AutoVerifiedAttributes", "UsernameConfiguration"):
                if key in properties:
                    arguments[key] = properties[key]
            if "Schema" in properties:
                arguments["Schema"] = properties["Schema"]
            if "AccountRecoverySetting" in properties:
                arguments["AccountRecoverySetting"] = properties["AccountRecoverySetting"]
            pool_id = cognito.create_user_pool(**arguments)["UserPool"]["Id"]
        region, account = self.template.region, self.template.account_id
        return {
            "Ref": pool_id,
            "Arn": f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool_id}",
            "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
            "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
            "UserPoolId": pool_id,
        }

    def _user_pool_client(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        pool_id = str(properties["UserPoolId"])
        name = str(properties.get("ClientName") or logical_id)
        cognito = self.client("cognito-idp")
        clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        client_id = next((c["ClientId"] for c in clients if c["ClientName"] == name), None)
        if client_id is None:
            arguments = {key: properties[key] for key in USER_POOL_CLIENT_PROPERTIES if key in properties}
            arguments["ClientName"] = name
            client_id = cognito.create_user_pool_client(UserPoolId=pool_id, **arguments)["UserPoolClient"][
                "ClientId"
            ]
        return {"Ref": client_id, "ClientId": client_id}

    def _secret(self, logical_id: str) -> dict[str, str]:
        properties = self.template.properties(logical_id)
        name = str(properties.get("Name") or f"{self.template.stack_name}-{logical_id}")
        value = properties.get("SecretString")
        if value is None:
            value = secrets.token_urlsafe(32)
        manager = self.client("secretsmanager")
        try:
            arn = manager.create_secret(Name=name, SecretString=str(value))["ARN"]
        except manager.exceptions.ResourceExistsException:
            arn = manager.put_secret_value(SecretId=name, SecretString=str(value))["ARN"]
        return {"Ref": arn, "Id": arn}


def provision(template: Template, client: Callable[[str], Any], *, api_endpoint: str) -> list[str]:
    """Create the template's resources through `client(service)`; return the logical ids created.

    `client` is called from several threads: it must hand out ready-made, thread-safe boto3 clients.
    """
    provisioner = Provisioner(template, client, api_endpoint=api_endpoint)
    provisioner.run()
    return provisioner.created
