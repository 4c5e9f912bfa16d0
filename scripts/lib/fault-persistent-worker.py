#!/usr/bin/env python3
"""The handler of `scripts/fault-test --worker-kind persistent`, as a `taskgate worker --exec-persistent` process.

Behaves as fault-test's --exec HANDLER does, per task: appends the id to DIR/started.log; fails the first
attempt of type `flaky` and every attempt of type `doomed`; otherwise appends the id to DIR/succeeded.log
and answers the result "ok". Each log line is one O_APPEND write, made before the answer is written, so a
success is on disk before Taskgate can record it; several processes share the logs safely.

Usage: fault-persistent-worker.py DIR   (DIR defaults to $FAULT_DIR; fault-test passes it, so that the
processes can be found by their command line and none outlives the test)
"""

import json
import os
import sys


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.environ["FAULT_DIR"]
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    started = os.open(os.path.join(directory, "started.log"), flags, 0o644)
    succeeded = os.open(os.path.join(directory, "succeeded.log"), flags, 0o644)
    for line in sys.stdin:  # ends when the worker closes stdin (or dies)
        task_id = None
        try:
            task = json.loads(line)
            task_id = task["id"]
            os.write(started, (task_id + "\n").encode())
            kind = task.get("type")
            if kind == "flaky" and task["attempt"] <= 1:
                raise RuntimeError("first attempt fails")
            if kind == "doomed":
                raise RuntimeError("always fails")
            os.write(succeeded, (task_id + "\n").encode())
            answer = {"id": task_id, "ok": True, "result": "ok"}
        except Exception as error:
            answer = {"id": task_id, "ok": False, "error": str(error) or type(error).__name__}
            print("fault-persistent-worker: %s: %s" % (task_id, answer["error"]), file=sys.stderr, flush=True)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
