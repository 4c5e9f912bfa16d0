#!/usr/bin/env python3
"""A Taskgate persistent worker in Python (standard library only).

    taskgate worker --exec-persistent 'python3 examples/python_worker.py' --concurrency 256 --processes 2

Taskgate writes one JSON task per line on stdin; this answers one JSON line per task on stdout, flushed at
once. Replace handle() with your own work: its return value (any JSON value) becomes the task's result as it
is, an exception fails the attempt (its text becomes last_error, and Taskgate retries with backoff). Logs go to
stderr.
"""

import json
import sys


def handle(task):
    """task: {"id", "type", "queue", "attempt", "retries", "payload"}. A no-op demo: echoes the payload,
    and fails when the payload is an object with "fail": true."""
    payload = task["payload"]
    if isinstance(payload, dict) and payload.get("fail") is True:
        raise RuntimeError("payload asked to fail")
    return {"echo": payload}


def main():
    loads, dumps = json.loads, json.dumps
    for line in sys.stdin:  # one task per line; the loop ends when Taskgate closes stdin
        task_id = None
        try:
            task = loads(line)
            if "cancel" in task:  # --cancel-lines: stop that task; this one runs a task at a time, so it is over
                continue
            task_id = task["id"]
            answer = {"id": task_id, "ok": True, "result": handle(task)}
        except Exception as error:  # any failure of this task answers ok:false; the process goes on
            answer = {"id": task_id, "ok": False, "error": str(error) or type(error).__name__}
            if task_id is None:  # not even an id could be read: Taskgate takes it for its oldest task
                del answer["id"]
        print(dumps(answer), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
