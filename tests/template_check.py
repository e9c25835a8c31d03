"""Checks what template.yaml deploys, after SAM's own transform: the runtime, architecture and
build method, the Function URL, JSON logs with retention, and a role that can read exactly one
secret and nothing else. Run by tests/template.rs; needs cfn-lint (which brings the SAM
translator), installed by scripts/test.sh. Reaches no network."""

import json
import os
import sys

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "template.yaml"), encoding="utf-8") as f:
    template, problems = decode_str(f.read())
assert not problems, problems
template = json.loads(json.dumps(template))

function = template["Resources"]["WazzupUserSyncFunction"]
props = function["Properties"]
assert function["Metadata"]["BuildMethod"] == "rust-cargolambda", function["Metadata"]
assert function["Metadata"]["BuildProperties"]["Binary"] == "wazzup-user-sync"
assert props["Runtime"] == "provided.al2023", props["Runtime"]
assert props["Architectures"] == ["arm64"], props["Architectures"]
assert props["Handler"] == "bootstrap"
assert props["FunctionUrlConfig"]["AuthType"] == "NONE"
assert 10 <= props["Timeout"] <= 60, props["Timeout"]
assert 128 <= props["MemorySize"] <= 1024, props["MemorySize"]
assert props["LoggingConfig"]["LogFormat"] == "JSON"
env = props["Environment"]["Variables"]
assert env["WAZZUP_SECRET_ID"] == {"Ref": "WazzupSecretArn"}, env
assert env["ALLOW_UNAUTHENTICATED"] == {"Ref": "AllowUnauthenticated"}
assert template["Parameters"]["AllowUnauthenticated"]["Default"] == "false"
log_group = template["Resources"]["WazzupUserSyncLogGroup"]["Properties"]
assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}

# The scheduled full sync: the same binary in its scheduled mode, no Function URL, invoked by
# a schedule that is disabled until someone enables it.
scheduled = template["Resources"]["WazzupScheduledSyncFunction"]
assert scheduled["Metadata"]["BuildProperties"]["Binary"] == "wazzup-user-sync"
assert scheduled["Properties"]["Environment"]["Variables"]["WAZZUP_FUNCTION_MODE"] == "scheduled"
assert "FunctionUrlConfig" not in scheduled["Properties"]
schedule = template["Resources"]["WazzupSyncSchedule"]["Properties"]
assert schedule["State"] == {"Ref": "ScheduleState"}
assert template["Parameters"]["ScheduleState"]["Default"] == "DISABLED"
assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["WazzupScheduledSyncFunction", "Arn"]}
scheduler_role = template["Resources"]["WazzupSyncScheduleRole"]["Properties"]
invoke = scheduler_role["Policies"][0]["PolicyDocument"]["Statement"]
assert invoke == [{
    "Effect": "Allow",
    "Action": "lambda:InvokeFunction",
    "Resource": {"Fn::GetAtt": ["WazzupScheduledSyncFunction", "Arn"]},
}], invoke
for function in (props, scheduled["Properties"]):
    sync_env = function["Environment"]["Variables"]
    assert sync_env["SYNC_ID_PREFIX"] == {"Ref": "SyncIdPrefix"}
    assert sync_env["SYNC_MANAGE_ALL"] == {"Ref": "SyncManageAll"}

# What SAM makes of it: the same transform `sam deploy` runs (CodeUri as `sam package` sets it).
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
props["CodeUri"] = "s3://bucket/wazzup-user-sync.zip"
scheduled["Properties"]["CodeUri"] = "s3://bucket/wazzup-user-sync.zip"


class NoManagedPolicies:
    def load(self):
        return {}


resources = transform(template, {}, NoManagedPolicies())["Resources"]
types = sorted(r["Type"] for r in resources.values())
assert "AWS::Lambda::Url" in types, types
function_roles = [
    resources[name]["Properties"]
    for name in ("WazzupUserSyncFunctionRole", "WazzupScheduledSyncFunctionRole")
]
for role in function_roles:
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ], role["ManagedPolicyArns"]
    statements = []
    for policy in role["Policies"]:
        if "Fn::If" in policy:
            condition, policy, otherwise = policy["Fn::If"]
            assert condition == "HasSecretKmsKey" and otherwise == {"Ref": "AWS::NoValue"}
        statements.extend(policy["PolicyDocument"]["Statement"])
    granted = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            granted[action] = statement["Resource"]
    assert set(granted) == {"secretsmanager:GetSecretValue", "kms:Decrypt"}, granted
    secret = granted["secretsmanager:GetSecretValue"]
    assert "WazzupSecretArn" in json.dumps(secret) and "*" not in json.dumps(secret), secret
    assert granted["kms:Decrypt"] == {"Ref": "SecretKmsKeyArn"}, granted["kms:Decrypt"]
print("template.yaml: ok")
