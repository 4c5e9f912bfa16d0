"""Schemathesis hooks for scripts/schemathesis-check: keep fuzzed requests valid where the gateway would
otherwise wait past the request timeout or refuse a host it was never told to allow.

A claim on an empty queue waits up to wait_seconds (the spec allows 30 s, over the 10 s request timeout): this hook
shortens each valid wait_seconds over 0.25 s to 0.25 s before the request is sent, so fuzzed claims answer within the
timeout. Out-of-range and mistyped values are left as generated, so invalid bodies stay invalid; contract-check
covers the real waiting (a task posted during the wait is claimed at once, an empty wait lasts its wait_seconds).
The same for the long-poll GET /tasks/{id}?wait= (up to 60 s on a task that exists and is not final): a valid wait
over 1 s becomes 1 s, the least the spec allows.
A valid callback_url names a random host, which the gateway refuses (400 callback-not-allowed) unless its
--callback-allow lists it: the hook puts the one host this gateway allows, h, in place of the host of each
callback_url that matches the spec's pattern (port and path kept, never longer). Invalid URLs stay as generated. No
worker runs, so nothing is delivered.
A schedule's cron and timezone are checked by the gateway's own parser and time-zone database, which no schema can
say: PUT /schedules/{name} gets a valid cron in place of each non-empty cron string and UTC in place of each
timezone string (an empty cron, below minLength, and values that are not strings stay as generated), and its
task.callback_url the allowed host as for POST /tasks.
"""
import re

import schemathesis
import yaml

MAX_WAIT = 0.25
MAX_TASK_WAIT = 1
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
def before_call(context, case, **kwargs):
    method, path = case.method.upper(), case.operation.path
    if method == "POST" and path == "/queues/{queue}/claim":
        body = case.body
        if isinstance(body, dict):
            wait = body.get("wait_seconds")
            if isinstance(wait, (int, float)) and not isinstance(wait, bool) and MAX_WAIT < wait <= 30:
                body["wait_seconds"] = MAX_WAIT
    elif method == "GET" and path == "/tasks/{id}" and isinstance(case.query, dict):
        wait = whole_seconds(case.query.get("wait"))
        if wait is not None and MAX_TASK_WAIT < wait <= 60:
            case.query["wait"] = MAX_TASK_WAIT
    elif method == "POST" and path == "/tasks" and isinstance(case.body, dict):
        allow_callback_host(case.body)
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
