"""Checks what template.yaml deploys, after SAM's own transform: the runtime, architecture and
build method, the Function URL, JSON logs with retention, a concurrency bound on each function,
https to Wazzup, an alarm on failed scheduled syncs, and least-privilege roles: the
internet-facing function reads exactly one secret, and only the scheduled function may read the
CRM's credentials. Run by tests/template.rs; needs cfn-lint (which brings the SAM
translator), installed by scripts/test.sh. Reaches no network."""

import json
import os
import re
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
# Deployable on a new account (quota 10): no reservation unless asked for.
assert template["Parameters"]["HttpConcurrency"]["Default"] == 0
assert props["ReservedConcurrentExecutions"] == {
    "Fn::If": ["ReservesConcurrency", {"Ref": "HttpConcurrency"}, {"Ref": "AWS::NoValue"}]
}
assert env["REQUEST_BUDGET_SECONDS"] == {"Ref": "RequestBudgetSeconds"}
assert template["Parameters"]["RequestBudgetSeconds"]["Default"] < 10
assert "CRM_SECRET_ID" not in env, "the internet-facing function never holds CRM credentials"
assert template["Parameters"]["DeliveryMode"]["Default"] == "queued"
assert env["QUEUE_URL"] == {"Fn::If": ["IsQueued", {"Ref": "ChangesQueue"}, {"Ref": "AWS::NoValue"}]}
assert env["STATE_TABLE"] == {"Ref": "DeliveryStateTable"}

# Queued mode: a FIFO queue that keeps a change through an outage of six hours and more, a
# dead-letter queue with an alarm, the state table, and the worker on one lane.
resources_in = template["Resources"]
queue = resources_in["ChangesQueue"]["Properties"]
worker = resources_in["WazzupQueueWorkerFunction"]["Properties"]
assert queue["FifoQueue"] is True and queue["ContentBasedDeduplication"] is False
assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"], (queue, worker["Timeout"])
redrive = queue["RedrivePolicy"]
assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ChangesDeadLetterQueue", "Arn"]}
# maxReceiveCount written once: the queue's and the worker's are the parameter.
assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}, redrive
assert template["Parameters"]["MaxReceiveCount"]["MinValue"] >= 5
assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
assert resources_in["ChangesDeadLetterQueue"]["Properties"]["FifoQueue"] is True
dlq_alarm = resources_in["DeadLetterAlarm"]["Properties"]
assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
assert dlq_alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ChangesDeadLetterQueue", "QueueName"]}
assert resources_in["QueueAgeAlarm"]["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
table = resources_in["DeliveryStateTable"]["Properties"]
assert table["BillingMode"] == "PAY_PER_REQUEST"
assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
# It holds which user is whose, what every dismissal deletes by: kept, and restorable.
assert resources_in["DeliveryStateTable"]["DeletionPolicy"] == "Retain"
assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
assert worker["Environment"]["Variables"]["WAZZUP_FUNCTION_MODE"] == "worker"
assert worker["Environment"]["Variables"]["MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}
# The worker delays a failed message on its own queue.
assert worker["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": "ChangesQueue"}
mapping = resources_in["WazzupQueueWorkerEvents"]["Properties"]
assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
assert mapping["BatchSize"] == 10
# One lane: the calls per 5 s of every container that may run at once stay under Wazzup's 500.
lanes = (
    # The HTTP function calls Wazzup for SCIM, /sync and direct-mode webhooks only; the README
    # tells those deployments to reserve HttpConcurrency of 10 or fewer.
    int(env["WAZZUP_RATE_LIMIT"]) * 10
    + int(worker["Environment"]["Variables"]["WAZZUP_RATE_LIMIT"]) * mapping["ScalingConfig"]["MaximumConcurrency"]
    + int(resources_in["WazzupScheduledSyncFunction"]["Properties"]["Environment"]["Variables"]["WAZZUP_RATE_LIMIT"])
)
# And the operators' tool's default, read from its source: it runs beside the functions.
with open(os.path.join(here, "..", "crates", "cli", "src", "args.rs"), encoding="utf-8") as f:
    operator = int(re.search(r"pub const OPERATOR_RATE_LIMIT: u64 = (\d+);", f.read()).group(1))
assert lanes + operator <= 500, (lanes, operator)
url = template["Parameters"]["WazzupApiUrl"]
assert url["AllowedPattern"].startswith("^https://"), url
log_group = template["Resources"]["WazzupUserSyncLogGroup"]["Properties"]
assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}

# The scheduled full sync: the same binary in its scheduled mode, no Function URL, invoked by
# a schedule that is disabled until someone enables it.
scheduled = template["Resources"]["WazzupScheduledSyncFunction"]
assert scheduled["Metadata"]["BuildProperties"]["Binary"] == "wazzup-user-sync"
assert scheduled["Properties"]["Environment"]["Variables"]["WAZZUP_FUNCTION_MODE"] == "scheduled"
assert "FunctionUrlConfig" not in scheduled["Properties"]
assert scheduled["Properties"]["ReservedConcurrentExecutions"] == {
    "Fn::If": ["ReservesConcurrency", 1, {"Ref": "AWS::NoValue"}]
}
# The schedule retries once; Lambda's asynchronous retries would add two more runs.
assert scheduled["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
assert scheduled["Properties"]["Environment"]["Variables"]["CRM_SECRET_ID"] == {
    "Fn::If": ["HasCrmSecret", {"Ref": "CrmSecretArn"}, {"Ref": "AWS::NoValue"}]
}
alarm = template["Resources"]["WazzupScheduledSyncErrorsAlarm"]["Properties"]
assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "WazzupScheduledSyncFunction"}}]
assert alarm["Threshold"] == 1
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
for function in (props, scheduled["Properties"], worker):
    sync_env = function["Environment"]["Variables"]
    assert sync_env["SYNC_ID_PREFIX"] == {"Ref": "SyncIdPrefix"}
    assert sync_env["SYNC_MANAGE_ALL"] == {"Ref": "SyncManageAll"}
    # Every function writes users and takes them over by the same rule, and every one of
    # them, with the defaults, deletes the users it owns: no prefix, no manage-all needed.
    assert sync_env["ADOPT_ON_CONFLICT"] == {"Ref": "AdoptOnConflict"}
assert template["Parameters"]["SyncIdPrefix"]["Default"] == ""
assert template["Parameters"]["SyncManageAll"]["Default"] == "false"
assert template["Parameters"]["AdoptOnConflict"]["Default"] == "true"
# Alarms that reach a person: the stack's topic (subscribing AlarmEmail) or the one given, a
# rule that one of them is, and every alarm notifying it of trouble and of its end.
resources_all = template["Resources"]
assert "AlarmsReachAPerson" in template["Rules"]
assert resources_all["AlarmTopic"]["Condition"] == "CreatesAlarmTopic"
assert resources_all["AlarmEmailSubscription"]["Properties"]["Protocol"] == "email"
target = [{"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}]
alarms = {name: r["Properties"] for name, r in resources_all.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
for name in ("HttpErrorsAlarm", "HttpThrottlesAlarm", "HttpServerErrorsAlarm", "WorkerErrorsAlarm",
             "RefusedAlarm", "DeadLetteredAlarm", "DeadLetterAlarm", "QueueAgeAlarm",
             "WazzupScheduledSyncErrorsAlarm", "UnownedDismissalsAlarm", "SeatsLowAlarm"):
    assert name in alarms, name
for name, alarm in alarms.items():
    assert alarm["AlarmActions"] == target and alarm["OKActions"] == target, name
assert alarms["HttpServerErrorsAlarm"]["MetricName"] == "Url5xxCount"
assert alarms["UnownedDismissalsAlarm"]["Threshold"] == 1

# The metrics: their names are src/metrics.rs's `name` module, their dimensions the stack's and
# the function's, in the code's lines and in every alarm and widget that names them.
with open(os.path.join(here, "..", "src", "metrics.rs"), encoding="utf-8") as f:
    metrics_rs = f.read()
names_module = metrics_rs[metrics_rs.index("pub mod name {"):]
names_module = names_module[:names_module.index("\n}\n")]
emitted = set(re.findall(r'pub const [A-Z_]+: &str = "(\w+)";', names_module))
assert {"Applied", "Refused", "DeadLettered", "SeatsLeft"} <= emitted, emitted
assert '"Dimensions": [["Stack", "Function"]]' in metrics_rs
for name, alarm in alarms.items():
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            assert metric["Namespace"] == "WazzupUserSync", name
            assert metric["MetricName"] in emitted, (name, metric["MetricName"])
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert dimensions["Stack"] == {"Ref": "AWS::StackName"}, name
for function in resources_all.values():
    if function["Type"] == "AWS::Serverless::Function":
        assert function["Properties"]["Environment"]["Variables"]["STACK_NAME"] == {"Ref": "AWS::StackName"}
dashboard_body = resources_all["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
widgets = json.loads(dashboard_body)["widgets"]
named = set()
for widget in widgets:
    for metric in widget["properties"]["metrics"]:
        if metric[0] == "WazzupUserSync":
            named.add(metric[1])
            assert metric[2:4] == ["Stack", "${AWS::StackName}"], metric
assert named and named <= emitted, named - emitted
assert {"Accepted", "Applied", "Refused", "Stale", "Retried", "WazzupLatency"} <= named, named

# Nothing lost by a stack operation: the queues and the table are kept on deletion and
# replacement (a switch to direct mode removes the queues from the template, not their
# messages), and the table can be restored to any second of the last 35 days.
for name in ("ChangesQueue", "ChangesDeadLetterQueue", "DeliveryStateTable"):
    assert resources_all[name]["DeletionPolicy"] == "Retain", name
    assert resources_all[name]["UpdateReplacePolicy"] == "Retain", name

# What SAM makes of it: the same transform `sam deploy` runs (CodeUri as `sam package` sets it).
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
props["CodeUri"] = "s3://bucket/wazzup-user-sync.zip"
scheduled["Properties"]["CodeUri"] = "s3://bucket/wazzup-user-sync.zip"
worker["CodeUri"] = "s3://bucket/wazzup-user-sync.zip"


class NoManagedPolicies:
    def load(self):
        return {}


resources = transform(template, {}, NoManagedPolicies())["Resources"]
types = sorted(r["Type"] for r in resources.values())
assert "AWS::Lambda::Url" in types, types
def grants(role):
    """Each action the role grants, with every resource it is granted on."""
    statements = []
    for policy in role["Policies"]:
        condition = None
        if "Fn::If" in policy:
            condition, policy, otherwise = policy["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, otherwise
        for statement in policy["PolicyDocument"]["Statement"]:
            statements.append((condition, statement))
    granted = {}
    for condition, statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            granted.setdefault(action, []).append((condition, json.dumps(statement["Resource"])))
    return granted


roles = {
    name: resources[name + "Role"]["Properties"]
    for name in ("WazzupUserSyncFunction", "WazzupScheduledSyncFunction", "WazzupQueueWorkerFunction")
}
state = json.dumps({"Fn::GetAtt": ["DeliveryStateTable", "Arn"]})
for name, role in roles.items():
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ], role["ManagedPolicyArns"]
    granted = grants(role)
    for action, places in granted.items():
        for _, resource in places:
            assert "*" not in resource, (name, action, resource)
    assert granted["kms:Decrypt"] == [("HasSecretKmsKey", json.dumps({"Ref": "SecretKmsKeyArn"}))]
    assert granted["dynamodb:BatchGetItem"] == [(None, state)], granted
    assert granted["dynamodb:UpdateItem"] == [(None, state)], granted
    # Giving up the ownership of a deleted user removes its items.
    assert granted["dynamodb:DeleteItem"] == [(None, state)], granted
    secrets = granted["secretsmanager:GetSecretValue"]
    sqs = {a for a in granted if a.startswith("sqs:")}
    if name == "WazzupUserSyncFunction":
        assert len(secrets) == 1 and "WazzupSecretArn" in secrets[0][1], secrets
    elif name == "WazzupScheduledSyncFunction":
        assert [c for c, r in secrets if "WazzupSecretArn" in r] == [None], secrets
        assert [c for c, r in secrets if "CrmSecretArn" in r] == ["HasCrmSecret"], secrets
    else:
        assert len(secrets) == 1 and "WazzupSecretArn" in secrets[0][1], secrets
    if name == "WazzupQueueWorkerFunction":
        assert sqs == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes"}, sqs
        assert all(r == json.dumps({"Fn::GetAtt": ["ChangesQueue", "Arn"]}) for a in sqs for _, r in granted[a])
    else:
        # Sending to the queue only, and only in queued mode.
        assert sqs and all(a.startswith("sqs:SendMessage") for a in sqs), sqs
        assert all(c == "IsQueued" for a in sqs for c, _ in granted[a]), granted
    expected = {"secretsmanager:GetSecretValue", "kms:Decrypt", "dynamodb:BatchGetItem",
                "dynamodb:UpdateItem", "dynamodb:DeleteItem"} | sqs
    assert set(granted) == expected, (name, sorted(granted))
print("template.yaml: ok")
