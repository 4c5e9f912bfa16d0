"""Schemathesis hooks for scripts/schemathesis-check: keep fuzzed requests valid where the gateway would
otherwise wait past the request timeout or refuse a host it was never told to allow.

A claim on an empty queue waits up to wait_seconds (the spec allows 30 s, over the 10 s request timeout): this hook
shortens each valid wait_seconds over 0.25 s to 0.25 s before the request is sent, so fuzzed claims answer within the
timeout. Out-of-range and mistyped values are left as generated, so invalid bodies stay invalid; contract-check
covers the real waiting (a task posted during the wait is claimed at once, an empty wait lasts its wait_seconds).
The same for the long-polls GET /tasks/{id}?wait= and GET /batches/{id}?wait= (up to 60 s on a task that exists and
is not final, a batch that is not complete): a valid wait over 1 s becomes 1 s, the least the spec allows.
A valid callback_url names a random host, which the gateway refuses (400 callback-not-allowed) unless its
--callback-allow lists it: the hook puts the one host this gateway allows, h, in place of the host of each
callback_url that matches the spec's pattern (port and path kept, never longer). Invalid URLs stay as generated. No
worker runs, so nothing is delivered. The same for each task's callback_url in POST /tasks/batch and for the batch's
own batch.callback_url.
A task's `after` names parents that must exist when it is stored (else 422 invalid-workflow), and in POST /tasks/batch
refs that must be unique and make no cycle, which no schema can say: the hook empties each `after` that is a list (no
parents; an `after` that is not a list stays as generated) and removes each task's `ref` from POST /tasks/batch, so a
body is a workflow only through its `batch` member; contract-check covers parents, refs, cycles and batches. A
batch's metadata over 16 KiB of compact JSON (the gateway's bound, which the spec only tells) becomes null. A batch
body's tasks are cut to MAX_BATCH_TASKS when there are more but no more than the gateway takes (1,000 independent
tasks, 10,000 with a batch member; a longer list stays as generated, and is refused), then halved until the body fits
the gateway's --max-body-bytes (1 MiB), so valid bodies are stored in time and never answered 413. The spec is loaded
with a WorkflowBatchRequest of at most MAX_BATCH_TASKS tasks, not 10,000: with 10,000 and the `contains` that tells a
workflow apart, schemathesis' coverage phase spent more than 5 minutes building that one operation's cases without
sending one (a whole run had not ended after 18 minutes); contract-check covers the real bound (10,001 tasks: 400).
A schedule's cron and timezone are checked by the gateway's own parser and time-zone database, which no schema can
say: PUT /schedules/{name} gets a valid cron in place of each non-empty cron string and UTC in place of each
timezone string (an empty cron, below minLength, and values that are not strings stay as generated), and its
task.callback_url the allowed host as for POST /tasks.
"""
import json
import re

import schemathesis
import yaml

MAX_WAIT = 0.25
MAX_TASK_WAIT = 1
MAX_BATCH_TASKS = 100
MAX_METADATA_BYTES = 16384
MAX_BODY_BYTES = 1048576
ALLOWED_CALLBACK_HOST = "h"
VALID_CRON = "*/5 * * * *"
VALID_TIMEZONE = "UTC"
with open("openapi.yaml", encoding="utf-8") as spec:
    CALLBACK_URL = yaml.safe_load(spec)["components"]["schemas"]["TaskRequest"]["properties"]["callback_url"]
CALLBACK_PATTERN = re.compile(CALLBACK_URL["pattern"])
CALLBACK_HOST = re.compile(r"^([A-Za-z]+://)(\[[^\]]*\]|[A-Za-z0-9.-]+)")


def whole_seconds(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


@schemathesis.hook
def before_load_schema(context, raw_schema):
    workflow = raw_schema["components"]["schemas"]["WorkflowBatchRequest"]["properties"]["tasks"]
    workflow["maxItems"] = min(workflow["maxItems"], MAX_BATCH_TASKS)


@schemathesis.hook
def before_call(context, case, **kwargs):
    method, path = case.method.upper(), case.operation.path
    if method == "POST" and path == "/queues/{queue}/claim":
        body = case.body
        if isinstance(body, dict):
            wait = body.get("wait_seconds")
            if isinstance(wait, (int, float)) and not isinstance(wait, bool) and MAX_WAIT < wait <= 30:
                body["wait_seconds"] = MAX_WAIT
    elif method == "GET" and path in ("/tasks/{id}", "/batches/{id}") and isinstance(case.query, dict):
        wait = whole_seconds(case.query.get("wait"))
        if wait is not None and MAX_TASK_WAIT < wait <= 60:
            case.query["wait"] = MAX_TASK_WAIT
    elif method == "POST" and path == "/tasks" and isinstance(case.body, dict):
        allow_callback_host(case.body)
        without_parents(case.body)
    elif method == "POST" and path == "/tasks/batch" and isinstance(case.body, dict):
        fit_batch(case.body)
    elif method == "PUT" and path == "/schedules/{name}" and isinstance(case.body, dict):
        body = case.body
        if isinstance(body.get("cron"), str) and body["cron"]:
            body["cron"] = VALID_CRON
        if isinstance(body.get("timezone"), str):
            body["timezone"] = VALID_TIMEZONE
        if isinstance(body.get("task"), dict):
            allow_callback_host(body["task"])


def allow_callback_host(fields):
    url = fields.get("callback_url")
    if isinstance(url, str) and len(url) <= CALLBACK_URL["maxLength"] and CALLBACK_PATTERN.match(url):
        fields["callback_url"] = CALLBACK_HOST.sub(lambda m: m.group(1) + ALLOWED_CALLBACK_HOST, url, count=1)


def without_parents(fields):
    """No parents: a generated `after` names tasks, batches or refs that are not there (422 invalid-workflow)."""
    if isinstance(fields.get("after"), list):
        fields["after"] = []


def fit_batch(body):
    """A POST /tasks/batch body without refs or parents, callback hosts allowed, within the gateway's limits."""
    tasks = body.get("tasks")
    batch = body.get("batch")
    if isinstance(batch, dict):
        allow_callback_host(batch)
        if "metadata" in batch and len(compact(batch["metadata"])) > MAX_METADATA_BYTES:
            batch["metadata"] = None
    if not isinstance(tasks, list):
        return
    for task in tasks:
        if isinstance(task, dict):
            task.pop("ref", None)
            without_parents(task)
            allow_callback_host(task)
    # Without refs and parents a body is a workflow (up to 10,000 tasks) only through its batch member.
    limit = 10000 if "batch" in body else 1000
    if MAX_BATCH_TASKS < len(tasks) <= limit:
        del tasks[MAX_BATCH_TASKS:]
    while len(tasks) > 1 and len(compact(body)) > MAX_BODY_BYTES:
        del tasks[len(tasks) // 2:]


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
