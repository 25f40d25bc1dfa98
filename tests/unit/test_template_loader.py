"""Reading a SAM template the way `lamina up` does: tags, parameters, conditions, Globals, intrinsics."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina_local.template import Template, TemplateError, UnresolvedReferenceError

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [local, dev, prod]}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example,https://b.example"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 9
    Layers: [!Ref Core]
    Environment:
      Variables:
        STAGE: !Ref Stage
        QUEUE_URL: !Ref Jobs
        ONLY_IN_PROD: !If [IsProd, "yes", !Ref AWS::NoValue]
Resources:
  Core:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: core/}
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-jobs"
      VisibilityTimeout: 54
      RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDlq.Arn, maxReceiveCount: 3}
  JobsDlq:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${AWS::StackName}-jobs-dlq"}
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: worker.handler
      MemorySize: 256
      ReservedConcurrentExecutions: 2
      Environment:
        Variables:
          JOINED: !Join [";", !Ref Origins]
          ARN: !Sub ["${Arn}/x", {Arn: !GetAtt Jobs.Arn}]
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: 4
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 minute), Input: '{"task": "tick"}'}
"""


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    (tmp_path / "core").mkdir()
    (tmp_path / "fn").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def provisioned(template: Template) -> Template:
    """Stand-in physical ids, as provisioning would record them."""
    template.physical = {
        "Jobs": {"Ref": "https://sqs/123/lamina-jobs", "Arn": "arn:aws:sqs:us-east-1:123:lamina-jobs"},
        "JobsDlq": {
            "Ref": "https://sqs/123/lamina-jobs-dlq",
            "Arn": "arn:aws:sqs:us-east-1:123:lamina-jobs-dlq",
        },
        "ProdOnly": {"Ref": "https://sqs/123/prod-only", "Arn": "arn:aws:sqs:us-east-1:123:prod-only"},
        "Core": {"Ref": "arn:layer"},
        "Worker": {"Ref": "lamina-Worker", "Arn": "arn:fn"},
    }
    return template


def test_globals_parameters_conditions_and_intrinsics_resolve(template_path: Path) -> None:
    # GIVEN the template with default parameters, provisioned
    template = provisioned(Template.load(template_path))
    # WHEN the stack is read
    stack = template.stack()
    worker = stack.functions["Worker"]
    # THEN Globals merge under the function's own values and every intrinsic is resolved
    assert worker.timeout_s == 9 and worker.memory_mb == 256 and worker.reserved_concurrency == 2
    assert worker.layer_dirs == (template_path.parent / "core",)
    assert worker.environment == {
        "STAGE": "dev",
        "QUEUE_URL": "https://sqs/123/lamina-jobs",
        "JOINED": "https://a.example;https://b.example",
        "ARN": "arn:aws:sqs:us-east-1:123:lamina-jobs/x",
    }
    # AND a condition that is false drops its resource; events become mappings and schedules
    assert "ProdOnly" not in stack.queues
    assert stack.queues["Jobs"].dead_letter_logical_id == "JobsDlq"
    assert stack.queues["Jobs"].max_receive_count == 3
    (mapping,) = stack.sqs_mappings
    assert (mapping.queue, mapping.batch_size, mapping.max_batching_window_s) == ("Jobs", 4, 2.0)
    assert mapping.report_batch_item_failures
    (schedule,) = stack.schedules
    assert schedule.expression == "rate(1 minute)" and schedule.input == '{"task": "tick"}'


def test_parameter_overrides_flip_conditions(template_path: Path) -> None:
    template = provisioned(Template.load(template_path, {"Stage": "prod"}))
    assert template.stack().functions["Worker"].environment["ONLY_IN_PROD"] == "yes"


def test_bad_parameters_are_refused_with_their_name(template_path: Path) -> None:
    with pytest.raises(TemplateError, match="Stage"):
        Template.load(template_path, {"Stage": "moon"})
    with pytest.raises(TemplateError, match="Nope"):
        Template.load(template_path, {"Nope": "1"})


def test_references_to_unprovisioned_resources_say_which(template_path: Path) -> None:
    with pytest.raises(UnresolvedReferenceError) as error:
        Template.load(template_path).stack()
    assert error.value.logical_id in {"Jobs", "JobsDlq", "Core"}
