#!/usr/bin/env python3
# Checks the dashboard (GET /) in a real headless Chromium against its DOM contract, on a private Redis, gateway and worker.
"""Dashboard check. Usage: scripts/dashboard-check [--bin PATH] [--out DIR] [--docs-screenshot PATH]

Starts its own redis-server, gateway (an admin and a read token) and a worker on two queues whose --exec handler
is driven by files: a task with "gate": NAME waits until DIR/NAME exists, one with "fail": true fails while
DIR/failing exists. Tasks are made through the HTTP API; the tasks of workflows and batches are on queues no worker
serves, claimed and completed through the pull API (the gateway counts them into their batch). The page is driven
with Selenium in Debian's chromium (nothing is downloaded). Every wait is on a condition (the DOM, or a task's
state in the API), never a sleep.
Prints "ok - N ..." or "FAIL - N ...: why" per check (a failure also saves a screenshot, the page source and the
logs to the out dir), then "P passed, F failed"; exits 1 when a check failed, 2 when the stack could not start.
"""

import argparse
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
TIMEOUT = 30.0
DEPTHS = ("pending", "scheduled", "retrying", "active", "dead")
HANDLER = r"""#!/bin/sh
# The dashboard check's --exec handler: waits for its gate file, fails while DIR/failing exists, else echoes.
dir=%s
payload=$(cat)
gate=$(printf '%%s' "$payload" | sed -n 's/.*"gate" *: *"\([A-Za-z0-9_-]*\)".*/\1/p')
if [ -n "$gate" ]; then
  while [ -d "$dir" ] && [ ! -e "$dir/$gate" ]; do sleep 0.05; done
fi
if printf '%%s' "$payload" | grep -q '"fail" *: *true' && [ -e "$dir/failing" ]; then
  echo "failing on purpose: $TASKGATE_TASK_ID" >&2
  exit 1
fi
printf '{"ran":"%%s","attempt":%%s}\n' "$TASKGATE_TASK_ID" "$TASKGATE_ATTEMPT"
"""
# Pieces of JavaScript the checks share.
JS_TEXT = "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;"
JS_OPEN = "const e = document.querySelector(arguments[0]); return !!(e && e.open);"
JS_SHOWN = "const e = document.querySelector(arguments[0]); return !!(e && !e.hidden);"
JS_ACTIONS = ("return [...document.querySelectorAll('[data-action]')].map(e => e.dataset.action + ' in #' + "
              "(e.closest('section, dialog, header') || document.body).id);")
# The hrefs of the links under a selector.
JS_HREFS = "return [...document.querySelectorAll(arguments[0])].map(a => a.getAttribute('href'));"
# What the batch view shows: its head, the progress bar and every count by its data-field.
JS_BATCH = r"""
const text = s => { const e = document.querySelector(s); return e ? e.textContent.trim() : null; };
const bar = document.querySelector('#batch-progress');
const shown = { shown: !!document.querySelector('#batch-view') && !document.querySelector('#batch-view').hidden,
  title: text('#batch-title'), state: text('#batch-state'), live: text('#batch-live'),
  value: bar ? bar.value : null, max: bar ? bar.max : null,
  completed_at: text('#batch-times dd[data-field="completed_at"]') };
for (const dd of document.querySelectorAll('#batch-counts dd[data-field]')) {
  shown[dd.dataset.field] = dd.textContent.trim();
}
return shown;
"""
# Visible buttons, inputs, selects and links without an accessible name (text, aria-label, aria-labelledby, label).
JS_UNNAMED = r"""
const clean = s => (s || '').replace(/\s+/g, ' ').trim();
const named = el => {
  if (clean(el.getAttribute('aria-label'))) return true;
  const ids = clean(el.getAttribute('aria-labelledby')).split(' ').filter(Boolean);
  if (clean(ids.map(id => (document.getElementById(id) || {}).textContent).join(' '))) return true;
  if (el.labels && [...el.labels].some(l => clean(l.textContent))) return true;
  if (el.tagName === 'INPUT') return ['submit', 'button', 'reset'].includes(el.type) && !!clean(el.value);
  if (el.tagName === 'SELECT') return false;
  return !!clean(el.textContent) || [...el.querySelectorAll('img[alt]')].some(i => clean(i.alt));
};
const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
return [...document.querySelectorAll('button, input:not([type=hidden]), select, a[href]')]
  .filter(el => visible(el) && !named(el)).map(el => el.outerHTML.slice(0, 160));
"""


class Failure(Exception):
    """A check saw something other than what the contract says."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(description, condition, seen=None, timeout=TIMEOUT):
    """Polls `condition` (an API read) until it is truthy; on timeout, `seen()` says what was read instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise Failure(f"timed out after {timeout:.0f} s waiting for {description}" + (f"; saw {seen()!r}" if seen else ""))


class Stack:
    """The private redis-server, gateway and worker, and the HTTP API client the checks use."""

    def __init__(self, binary, work):
        self.binary, self.work, self.processes = binary, work, []
        self.redis_port, self.port, self.open_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # A second gateway on the same Redis and prefix that requires no token: the page must need none there.
        self.open_base = f"http://127.0.0.1:{self.open_port}"
        self.admin, self.read = secrets.token_hex(16), secrets.token_hex(16)
        run = secrets.token_hex(4)
        self.prefix = f"dash-{run}"
        self.workq, self.otherq, self.idleq = f"dash-work-{run}", f"dash-other-{run}", f"dash-idle-{run}"
        self.schedq = f"dash-sched-{run}"
        # Workflow queues no worker serves: the graph's tasks stay as stored; the batch's are driven by pull claims.
        self.flowq, self.pullq = f"dash-flow-{run}", f"dash-pull-{run}"
        # Never a proxy, whatever the environment says: every request goes to 127.0.0.1.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def spawn(self, name, argv):
        log = open(os.path.join(self.work, name + ".log"), "wb")
        self.processes.append((name, subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)))

    def start(self):
        self.spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", self.work, "--loglevel", "warning"])
        poll("redis-server to answer PING", self.redis_answers)
        tokens = os.path.join(self.work, "tokens")
        with open(tokens, "w") as handle:
            handle.write(f"admin:{self.admin}\nread:{self.read}\n")
        redis = ["--redis-url", f"redis://127.0.0.1:{self.redis_port}/0", "--key-prefix", self.prefix]
        self.spawn("gateway", [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), *redis,
                               "--api-token-file", tokens, "--log-level", "warning"])
        poll("the gateway's /readyz", lambda: self.alive() and self.api("GET", "/readyz", token="")[0] == 200)
        self.spawn("gateway-open", [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.open_port), *redis,
                                    "--log-level", "warning"])
        poll("the open gateway's /readyz", lambda: self.alive() and self.answers(self.open_base + "/readyz"))
        handler = os.path.join(self.work, "handler.sh")
        with open(handler, "w") as handle:
            handle.write(HANDLER % shlex.quote(self.work))
        os.chmod(handler, 0o755)
        self.spawn("worker", [self.binary, "worker", *redis, "--queue", self.workq, "--queue", self.otherq,
                              "--concurrency", "2", "--exec", shlex.quote(handler), "--grace-period-seconds", "2",
                              "--log-level", "warning"])

    def redis_answers(self):
        ping = subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True, text=True)
        return ping.stdout.strip() == "PONG"

    def alive(self):
        dead = [f"{name} exited with {p.returncode}" for name, p in self.processes if p.poll() is not None]
        if dead:
            raise Failure("; ".join(dead) + f" (logs in {self.work})")
        return True

    def stop(self):
        self.gate("g1")  # a handler still waiting on its gate finishes
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def answers(self, url):
        try:
            with self.opener.open(url, timeout=10) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def api(self, method, path, body=None, token=None):
        """(status, parsed JSON body) of one request; the admin token unless another is given."""
        token = self.admin if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError:
            return None, None
        try:
            return status, (json.loads(raw) if raw else None)
        except ValueError:
            return status, raw.decode(errors="replace")

    def post_task(self, queue, payload, **fields):
        status, body = self.api("POST", "/tasks", {"queue": queue, "payload": payload, **fields})
        if status != 202:
            raise Failure(f"POST /tasks answered {status}: {body}")
        return body["id"]

    def post_workflow(self, body):
        """POST /tasks/batch with a graph or a batch: the 202 answer, {"batch": ..., "results": [...]}."""
        status, answer = self.api("POST", "/tasks/batch", body)
        if status != 202:
            raise Failure(f"POST /tasks/batch (a workflow) answered {status}: {answer}")
        return answer

    def claim(self, queue, wait_seconds=1):
        """One task claimed through the pull API (with its attempt token), or None when none came."""
        status, body = self.api("POST", f"/queues/{queue}/claim",
                                {"max": 1, "lease_seconds": 60, "wait_seconds": wait_seconds})
        if status != 200:
            raise Failure(f"POST /queues/{queue}/claim answered {status}: {body}")
        return (body.get("tasks") or [None])[0]

    def complete(self, task, token, result):
        status, body = self.api("POST", f"/tasks/{task}/complete", {"token": token, "result": result})
        if status != 200:
            raise Failure(f"POST /tasks/{task}/complete answered {status}: {body}")

    def state(self, task):
        return (self.api("GET", f"/tasks/{task}")[1] or {}).get("state")

    def wait_state(self, task, state):
        poll(f"task {task} to be {state} (API)", lambda: self.state(task) == state, lambda: self.state(task))

    def queue(self, queue):
        status, body = self.api("GET", f"/queues/{queue}")
        if status != 200:
            raise Failure(f"GET /queues/{queue} answered {status}: {body}")
        return body

    def gate(self, name, present=True):
        path = os.path.join(self.work, name)
        if present:
            open(path, "a").close()
        elif os.path.exists(path):
            os.remove(path)


class Checks:
    """The checks, in order, on one browser session; each a method that raises Failure."""

    def __init__(self, stack, driver, out, docs_screenshot):
        self.stack, self.driver, self.out, self.docs = stack, driver, out, docs_screenshot
        self.passed, self.failed = 0, 0
        self.console, self.requests = [], []  # (check, entry), (check, url): the logs are drained when read
        self.dead_task = None
        self.batch = None  # the batch the live batch check completed: the accessibility check opens it again

    # ---------------------------------------------------------------- helpers

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, description, condition, seen=None, timeout=TIMEOUT):
        """Waits until `condition()` is truthy; on timeout, `seen()` says what the page showed instead."""
        try:
            # A live update may replace an element between finding it and using it: look again then.
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda _: condition())
        except TimeoutException:
            shown = f"; saw {seen()!r}" if seen else ""
            raise Failure(f"timed out after {timeout:.0f} s waiting for {description}{shown}") from None

    def text(self, css):
        return self.js(JS_TEXT, css)

    def cell(self, queue, field):
        return self.text(f'#queue-table tbody tr[data-queue="{queue}"] td[data-field="{field}"]')

    def wait_cell(self, queue, field, predicate, description):
        self.wait(f"{queue}'s {field} cell to {description}", lambda: predicate(self.cell(queue, field)),
                  lambda: self.cell(queue, field))

    def body(self, attribute):
        return self.js("return document.body.getAttribute(arguments[0]);", attribute)

    def go(self, route):
        self.js("location.hash = arguments[0];", route)

    def click(self, css):
        def clicked():
            element = next((e for e in self.driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), None)
            return element and (element.click() or True)
        self.wait(f"{css} to be shown, to click it", clicked)

    def confirm(self, button="#confirm-ok"):
        self.wait("#confirm-dialog to open", lambda: self.js(JS_OPEN, "#confirm-dialog"))
        self.click(button)
        self.wait("#confirm-dialog to close", lambda: not self.js(JS_OPEN, "#confirm-dialog"))

    def sign_in(self, token, admin):
        self.wait("#token-dialog to open", lambda: self.js(JS_OPEN, "#token-dialog"))
        field = self.driver.find_element(By.ID, "token-input")
        field.clear()
        field.send_keys(token)
        self.driver.find_element(By.ID, "token-submit").click()
        expected = "true" if admin else "false"
        self.wait(f"body[data-ready=true][data-admin={expected}] and the dialog closed",
                  lambda: self.body("data-ready") == "true" and self.body("data-admin") == expected
                  and not self.js(JS_OPEN, "#token-dialog"),
                  lambda: (self.body("data-ready"), self.body("data-admin"), self.text("#token-error")))

    def sign_out(self):
        self.click("#sign-out")
        self.wait("#token-dialog to open after sign-out", lambda: self.js(JS_OPEN, "#token-dialog"))
        stored = self.js("return sessionStorage.getItem('taskgate.token');")
        if stored is not None:
            raise Failure(f"sign-out left sessionStorage['taskgate.token'] = {stored!r}")

    def open_queue(self, queue, state, task=None):
        self.go(f"#/queues/{queue}/{state}")
        self.wait(f"#queue-view on {queue}/{state}", lambda: self.js(JS_SHOWN, "#queue-view")
                  and queue in (self.text("#queue-title") or "") and self.js(
                      "return document.querySelector('[data-state-tab=\"' + arguments[0] + '\"]')"
                      "?.getAttribute('aria-selected') === 'true';", state))
        if task:
            self.wait(f"row {task} in #task-table", lambda: self.row(task))

    def row(self, task):
        return self.js("return !!document.querySelector('#task-table tbody tr[data-task=\"' + arguments[0] + '\"]');",
                       task)

    def open_task(self, task, state):
        self.go(f"#/tasks/{task}")
        self.wait(f"#task-view on {task} in state {state}", lambda: self.js(JS_SHOWN, "#task-view")
                  and task in (self.text("#task-title") or "") and self.text("#task-state") == state,
                  lambda: self.text("#task-state"))

    def hrefs(self, css):
        return self.js(JS_HREFS, css)

    def batch_view(self):
        return self.js(JS_BATCH)

    def open_batch(self, batch, **expected):
        """Opens #/batches/{batch} and waits until the view shows it with every `expected` field as given."""
        self.go(f"#/batches/{batch}")
        def matches():
            shown = self.batch_view()
            return (shown["shown"] and batch in (shown["title"] or "") and not self.js(JS_SHOWN, "#task-view")
                    and all(shown.get(key) == value for key, value in expected.items()))
        self.wait(f"#batch-view on {batch} with {expected}", matches, self.batch_view)

    def timeline(self):
        return self.js("return [...document.querySelectorAll('#task-timeline li')].map(li => li.dataset.event);")

    def actions(self, where):
        """What the read-only page holds of admin controls here: '' when nothing, as the contract says."""
        found = self.js(JS_ACTIONS)
        return f"{len(found)} [data-action] on {where} ({', '.join(found)})" if found else ""

    def dead_task_for(self, queue):
        """A dead task of `queue` (made here when the requeue check could not leave one)."""
        if self.dead_task is None:
            self.stack.gate("failing")
            self.dead_task = self.stack.post_task(queue, {"fail": True}, type="mail.send", max_retries=0)
            self.stack.wait_state(self.dead_task, "dead")
            self.stack.gate("failing", present=False)
        return self.dead_task

    def collect_logs(self, check):
        for entry in self.driver.get_log("browser"):
            self.console.append((check, entry))
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                params = message["params"]
                self.requests.append((check, params["request"]["url"], params.get("documentURL", "")))

    def run(self, number, title, check):
        try:
            check()
            self.passed += 1
            print(f"ok - {number} {title}", flush=True)
        except Exception as error:  # a Failure, the driver's error, or a bug met mid-check: all fail the check
            self.failed += 1
            message = (str(error).strip() or "-").splitlines()[0]
            kind = "" if isinstance(error, Failure) else type(error).__name__ + ": "
            print(f"FAIL - {number} {title}: {kind}{message}", flush=True)
            self.save_failure(number)
        finally:
            try:
                self.collect_logs(number)
            except WebDriverException as error:
                print(f"  (could not read the browser's logs: {error})")

    def save_failure(self, number):
        stem = os.path.join(self.out, f"fail-{number}")
        try:
            self.driver.save_screenshot(stem + ".png")
            with open(stem + ".html", "w") as handle:
                handle.write(self.driver.page_source)
            print(f"  saved {stem}.png and {stem}.html (page at {self.driver.current_url})")
        except WebDriverException as error:
            print(f"  could not save the page: {error}")

    # ---------------------------------------------------------------- the checks

    def token(self):
        s = self.stack
        self.driver.get(s.base + "/")
        self.wait("#token-dialog to open", lambda: self.js(JS_OPEN, "#token-dialog"))
        if self.text("#token-error"):
            raise Failure(f"#token-error shows {self.text('#token-error')!r} before any token was tried")
        self.driver.find_element(By.ID, "token-input").send_keys("wrong-" + secrets.token_hex(8))
        self.driver.find_element(By.ID, "token-submit").click()
        self.wait("#token-error to show why the token was refused", lambda: self.text("#token-error"))
        if not self.js(JS_OPEN, "#token-dialog"):
            raise Failure("#token-dialog closed after a refused token")
        self.sign_in(s.admin, admin=True)
        stored = self.js("return sessionStorage.getItem('taskgate.token');")
        if stored != s.admin:
            raise Failure(f"sessionStorage['taskgate.token'] is {stored!r}, not the admin token")

    def open_gateway(self):
        s = self.stack
        self.driver.get(s.open_base + "/")
        self.wait("body[data-ready=true] with no token given", lambda: self.body("data-ready") == "true")
        if self.js(JS_OPEN, "#token-dialog"):
            raise Failure("#token-dialog opened on a gateway that requires no token")
        if self.body("data-admin") != "true":
            raise Failure(f"body[data-admin] is {self.body('data-admin')!r} on a gateway that requires no token")
        if self.js(JS_SHOWN, "#sign-out"):
            raise Failure("#sign-out is shown though no token is in use")
        pause = f'button[data-action="pause"][data-queue="{s.workq}"]'
        self.wait(f"{s.workq}'s pause button", lambda: self.js("return !!document.querySelector(arguments[0]);", pause))
        self.wait("#live-status[data-state=live]", lambda: self.live_state() == "live", self.live_state)

    def idle_depths(self):
        s = self.stack
        depths = s.queue(s.idleq)["depths"]
        expected = {"pending": 3, "scheduled": 1, "retrying": 0, "active": 0, "dead": 0}
        if {k: depths.get(k) for k in DEPTHS} != expected:
            raise Failure(f"setup: GET /queues/{s.idleq} depths are {depths}, expected {expected}")
        cells = lambda: {field: self.cell(s.idleq, field) for field in DEPTHS}
        self.wait(f"{s.idleq}'s row to show {expected}",
                  lambda: cells() == {k: str(v) for k, v in expected.items()}, cells)

    def live(self):
        s = self.stack
        self.wait("#live-status[data-state=live]", lambda: self.live_state() == "live", self.live_state)
        self.open_queue(s.idleq, "pending")
        self.wait("the 3 pending tasks in #task-table", lambda: self.row_count() == 3, self.row_count)
        self.js("window.__noReload = 1;")
        for n in (4, 5):
            s.post_task(s.idleq, {"report": n}, type="report.build")
        self.wait_cell(s.idleq, "pending", lambda text: text == "5", 'show "5"')
        self.wait("the 2 new tasks to appear on the pending tab", lambda: self.row_count() == 5, self.row_count)
        if self.js("return window.__noReload;") != 1:
            raise Failure("window.__noReload is gone: the page reloaded instead of updating live")

    def live_state(self):
        return self.js("return document.querySelector('#live-status')?.dataset.state;")

    def task_timeline(self):
        # The queue is paused while the task view opens, so that its stream's snapshot shows the task pending
        # and "active" comes as an event: an idle worker would otherwise start it before the page subscribed.
        s = self.stack
        s.api("POST", f"/queues/{s.workq}/pause")
        try:
            task = s.post_task(s.workq, {"gate": "g1"}, type="report.build")
            self.open_task(task, "pending")
            self.wait("the snapshot in #task-timeline", lambda: "snapshot" in self.timeline(), self.timeline)
        finally:
            s.api("POST", f"/queues/{s.workq}/resume")
        try:
            self.wait("li[data-event=active] and #task-state active", lambda: "active" in self.timeline()
                      and self.text("#task-state") == "active", lambda: (self.timeline(), self.text("#task-state")))
        finally:
            s.gate("g1")
        self.wait("li[data-event=succeeded] and #task-state succeeded", lambda: "succeeded" in self.timeline()
                  and self.text("#task-state") == "succeeded", lambda: (self.timeline(), self.text("#task-state")))
        events = self.timeline()
        if events[0] != "snapshot" or events.index("active") > events.index("succeeded"):
            raise Failure(f"timeline order is {events}: expected snapshot first, active before succeeded")

    def requeue(self):
        s = self.stack
        s.gate("failing")
        tasks = [s.post_task(s.workq, {"fail": True, "n": n}, type="mail.send", max_retries=0) for n in (1, 2)]
        for task in tasks:
            s.wait_state(task, "dead")
        s.gate("failing", present=False)
        self.dead_task = tasks[1]  # stays dead: the read-only check and the screenshots show it
        self.open_queue(s.workq, "dead", tasks[0])
        self.click(f'#task-table button[data-action="requeue"][data-task="{tasks[0]}"]')
        self.wait("#confirm-dialog to open", lambda: self.js(JS_OPEN, "#confirm-dialog"))
        if s.state(tasks[0]) != "dead":
            raise Failure("the task left dead before #confirm-ok was clicked")
        self.confirm()
        self.wait("the requeued row to leave the dead list and #notice[data-kind=ok]", lambda: not self.row(
            tasks[0]) and self.js("return document.querySelector('#notice')?.dataset.kind === 'ok';"),
                  lambda: (self.row(tasks[0]), self.js("return document.querySelector('#notice')?.outerHTML;")))
        s.wait_state(tasks[0], "succeeded")

    def pause(self):
        s = self.stack
        self.go("#/")
        self.click(f'#queue-table button[data-action="pause"][data-queue="{s.workq}"]')
        self.confirm()
        self.wait_cell(s.workq, "paused", lambda text: text == "paused", 'say "paused"')
        poll(f"GET /queues/{s.workq} to say paused", lambda: s.queue(s.workq)["paused"] is True,
             lambda: s.queue(s.workq)["paused"])
        held = s.post_task(s.workq, {"step": "paused"}, type="thumbnail")
        other = s.post_task(s.otherq, {"step": "other"}, type="thumbnail")
        s.wait_state(other, "succeeded")
        if s.state(held) != "pending":
            raise Failure(f"task {held} on the paused queue is {s.state(held)}, not pending")
        self.wait_cell(s.workq, "pending", lambda text: (text or "").isdigit() and int(text) >= 1, "be >= 1")
        self.click(f'#queue-table button[data-action="resume"][data-queue="{s.workq}"]')
        self.confirm()
        s.wait_state(held, "succeeded")
        self.wait_cell(s.workq, "paused", lambda text: text == "running", 'say "running"')

    def schedule_row(self, name, field):
        return self.text(f'#schedule-table tbody tr[data-schedule="{name}"] td[data-field="{field}"]')

    def schedules(self):
        s = self.stack
        name = f"dash-tick-{s.prefix}"
        status, body = s.api("PUT", f"/schedules/{name}", {"cron": "* * * * * *",
                                                          "task": {"queue": s.schedq, "payload": {"tick": True}}})
        if status != 201:
            raise Failure(f"PUT /schedules/{name} answered {status}: {body}")
        runs = lambda: (s.api("GET", f"/schedules/{name}")[1] or {}).get("runs", 0)
        self.go("#/")
        # The worker fires it every second; the row shows its runs and links its last run's task.
        def shown_runs():
            text = self.schedule_row(name, "runs") or ""
            return int(text) if text.isdigit() else 0
        linked = lambda: self.js("return !!document.querySelector('#schedule-table tr[data-schedule=\"' + "
                                 "arguments[0] + '\"] td[data-field=\"last\"] a[href^=\"#/tasks/\"]');", name)
        self.wait(f"{name}'s row to show runs >= 2 and a last run", lambda: shown_runs() >= 2 and linked(),
                  lambda: (self.schedule_row(name, "runs"), self.schedule_row(name, "last")))
        self.click(f'#schedule-table button[data-action="schedule-pause"][data-schedule="{name}"]')
        self.confirm()
        self.wait(f"{name}'s state to say paused", lambda: self.schedule_row(name, "state") == "paused",
                  lambda: self.schedule_row(name, "state"))
        if (s.api("GET", f"/schedules/{name}")[1] or {}).get("paused") is not True:
            raise Failure(f"GET /schedules/{name} does not say paused after the page paused it")
        before = runs()
        self.click(f'#schedule-table button[data-action="schedule-trigger"][data-schedule="{name}"]')
        self.confirm()
        poll(f"the trigger to add a run to {before}", lambda: runs() == before + 1, runs)
        last = (s.api("GET", f"/schedules/{name}")[1] or {}).get("last_run") or {}
        if last.get("kind") != "trigger":
            raise Failure(f"the last run after Trigger is {last}, not a trigger")
        self.wait("#notice[data-kind=ok] naming the task", lambda: last.get("task_id", "?") in (
            self.text("#notice") or ""), lambda: self.text("#notice"))
        self.click(f'#schedule-table button[data-action="schedule-resume"][data-schedule="{name}"]')
        self.confirm()
        self.wait(f"{name}'s state to say running", lambda: self.schedule_row(name, "state") == "running",
                  lambda: self.schedule_row(name, "state"))
        poll("ticks to fire again after resume", lambda: runs() >= before + 2, runs)

    def task_field(self, name):
        return self.text(f'#task-fields [data-field="{name}"]')

    def workflow_task(self):
        s = self.stack
        # fetch -> merge -> publish, all in one batch, and a chord after the whole batch: nothing serves the
        # queue, so fetch stays pending and the others wait.
        answer = s.post_workflow({"tasks": [
            {"ref": "fetch", "queue": s.flowq, "type": "flow.fetch", "payload": {"step": "fetch"}},
            {"ref": "merge", "queue": s.flowq, "type": "flow.merge", "payload": {"step": "merge"}, "after": ["fetch"]},
            {"ref": "publish", "queue": s.flowq, "type": "flow.publish", "payload": {"step": "publish"},
             "after": ["merge"], "on_parent_failure": "run"}], "batch": {"metadata": {"album": 7}}})
        fetch, merge, publish = (result["task"]["id"] for result in answer["results"])
        batch = answer["batch"]["id"]
        chord = s.post_task(s.flowq, {"step": "report"}, type="flow.report", after=[f"batch:{batch}"])
        self.open_task(merge, "waiting")
        links = lambda: {name: self.hrefs(f'#task-fields dd[data-field="{name}"] a')
                         for name in ("after", "children", "batch")}
        expected = {"after": [f"#/tasks/{fetch}"], "children": [f"#/tasks/{publish}"], "batch": [f"#/batches/{batch}"]}
        self.wait(f"{merge}'s parent, child and batch as links", lambda: links() == expected, links)
        fields = lambda: {name: self.task_field(name) for name in ("on_parent_failure", "waiting_for",
                                                                   "children_count")}
        wanted = {"on_parent_failure": "cancel", "waiting_for": "1 parent", "children_count": "1 in all"}
        self.wait(f"{merge}'s workflow fields {wanted}", lambda: fields() == wanted, fields)
        expires = self.text('#task-times dd[data-field="expires_at"]')
        if expires in (None, "", "-"):
            raise Failure(f"#task-times shows no expires_at for a waiting task (saw {expires!r})")
        # The state renders as the others do: its class, and a colour of its own from app.css.
        look = self.js("const e = document.querySelector('#task-state'); return [e.className, "
                       "getComputedStyle(e).color, getComputedStyle(e.parentElement).color];")
        if look[0] != "state waiting" or look[1] == look[2]:
            raise Failure(f"#task-state of a waiting task: class {look[0]!r}, colour {look[1]} (its line's {look[2]})")
        # A whole batch as a parent links to the batch's page.
        self.open_task(chord, "waiting")
        chord_links = lambda: (self.hrefs('#task-fields dd[data-field="after"] a'),
                               self.text('#task-fields dd[data-field="after"] a'))
        self.wait(f"the chord's parent batch:{batch} as a link to its batch page",
                  lambda: chord_links() == ([f"#/batches/{batch}"], f"batch:{batch}"), chord_links)
        # The links lead where they say: merge's parent, then fetch's child back, then the batch.
        self.open_task(merge, "waiting")
        self.wait(f"{merge}'s parent link", lambda: links()["after"] == [f"#/tasks/{fetch}"], links)
        self.click(f'#task-fields dd[data-field="after"] a[href="#/tasks/{fetch}"]')
        self.wait(f"the parent link to open {fetch}", lambda: self.js("return location.hash;") == f"#/tasks/{fetch}"
                  and fetch in (self.text("#task-title") or "") and self.text("#task-state") == "pending",
                  lambda: (self.js("return location.hash;"), self.text("#task-title"), self.text("#task-state")))
        self.wait(f"{fetch}'s child {merge} as a link, and no parents",
                  lambda: links() == {"after": [], "children": [f"#/tasks/{merge}"], "batch": [f"#/batches/{batch}"]},
                  links)
        self.click(f'#task-fields dd[data-field="batch"] a[href="#/batches/{batch}"]')
        self.wait("the batch link to open #batch-view", lambda: self.js("return location.hash;") == f"#/batches/{batch}"
                  and self.batch_view()["shown"] and not self.js(JS_SHOWN, "#task-view"), self.batch_view)
        self.open_batch(batch, total="3", unfinished="3", succeeded="0", state="incomplete")

    def batch_live(self):
        s = self.stack
        metadata = {"order": 42, "note": '<b id="batch-injected">not markup</b>'}
        answer = s.post_workflow({"tasks": [
            {"ref": "one", "queue": s.pullq, "type": "flow.step", "payload": {"n": 1}},
            {"ref": "two", "queue": s.pullq, "type": "flow.step", "payload": {"n": 2}},
            {"ref": "three", "queue": s.pullq, "type": "flow.step", "payload": {"n": 3}, "after": ["one"]}],
            "batch": {"metadata": metadata}})
        batch = answer["batch"]["id"]
        left = {result["task"]["id"] for result in answer["results"]}
        self.open_batch(batch, state="incomplete", total="3", succeeded="0", dead="0", cancelled="0",
                        unfinished="3", complete="no", all_succeeded="no", value=0, max=3, live="live")
        shown = self.text("#batch-metadata")
        try:
            same = json.loads(shown) == metadata
        except (TypeError, ValueError):
            same = False
        if not same or self.js("return document.querySelector('#batch-injected') !== null;"):
            raise Failure(f"#batch-metadata shows {shown!r}: expected {metadata} as text, not as markup")
        self.js("window.__noReload = 1;")
        for n in (1, 2, 3):
            # The third may still wait for "one": its claim waits until the gateway's drain releases it.
            task = poll(f"a task of {s.pullq} to claim ({n} of 3)", lambda: s.claim(s.pullq))
            if task["id"] not in left:
                raise Failure(f"claimed {task['id']}, which is not a task of batch {batch} left to run")
            left.discard(task["id"])
            s.complete(task["id"], task["token"], {"n": n})
            if n < 3:
                want = {"state": "incomplete", "succeeded": str(n), "unfinished": str(3 - n), "value": n}
            else:
                want = {"state": "complete", "succeeded": "3", "unfinished": "0", "complete": "yes",
                        "all_succeeded": "yes", "value": 3, "live": "final"}
            self.wait(f"#batch-view to show {want} without a reload",
                      lambda: all(self.batch_view().get(key) == value for key, value in want.items()),
                      self.batch_view)
        if self.batch_view()["completed_at"] in (None, "", "-"):
            raise Failure(f"#batch-times shows no completed_at for the complete batch: {self.batch_view()}")
        if self.js("return window.__noReload;") != 1:
            raise Failure("window.__noReload is gone: the page reloaded instead of updating live")
        record = s.api("GET", f"/batches/{batch}")[1] or {}
        if not (record.get("complete") and record.get("succeeded")):
            raise Failure(f"GET /batches/{batch} does not say complete and succeeded: {record}")
        self.batch = batch

    def read_only(self):
        s = self.stack
        dead = self.dead_task_for(s.workq)
        self.sign_out()
        self.sign_in(s.read, admin=False)
        self.go("#/")
        rows = lambda: self.js("return [...document.querySelectorAll('#queue-table tbody tr[data-queue]')]"
                               ".map(tr => tr.dataset.queue);")
        self.wait("the queue table's rows", lambda: {s.idleq, s.workq, s.otherq} <= set(rows()), rows)
        found = [self.actions("#/")]
        self.open_queue(s.workq, "dead", dead)
        found.append(self.actions(f"#/queues/{s.workq}/dead"))
        self.open_task(dead, "dead")
        found.append(self.actions(f"#/tasks/{dead}"))
        if any(found):
            raise Failure("with the read token: " + "; ".join(filter(None, found)))

    def accessibility(self):
        s = self.stack
        unnamed = []
        scan = lambda where: unnamed.extend(f"{where}: {html}" for html in self.js(JS_UNNAMED))
        self.sign_out()
        scan("token dialog")
        self.sign_in(s.admin, admin=True)
        self.open_queue(s.idleq, "pending")
        self.wait("5 rows on the pending tab", lambda: self.row_count() == 5, self.row_count)
        scan("queue view")
        self.open_queue(s.workq, "dead", self.dead_task_for(s.workq))
        scan("dead tab")
        self.click(f'#queue-table button[data-action="pause"][data-queue="{s.idleq}"]')
        self.wait("#confirm-dialog to open", lambda: self.js(JS_OPEN, "#confirm-dialog"))
        scan("confirm dialog")
        self.confirm("#confirm-cancel")
        if s.queue(s.idleq)["paused"]:
            raise Failure("#confirm-cancel paused the queue all the same")
        self.open_task(self.dead_task, "dead")
        scan("task view")
        if self.batch:
            self.open_batch(self.batch, state="complete")
            scan("batch view")
        if unnamed:
            raise Failure(f"{len(unnamed)} controls without an accessible name: " + " | ".join(unnamed))
        # The keyboard: Tab from the top of the page reaches a queue link, and Enter on it opens the queue view.
        self.go("#/")
        self.wait("#queue-view to be hidden on #/", lambda: not self.js(JS_SHOWN, "#queue-view"))
        self.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        href = None
        for _ in range(60):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            href = self.js("const a = document.activeElement; return a && a.tagName === 'A' ? "
                           "a.getAttribute('href') : null;")
            if href and href.startswith("#/queues/"):
                break
        else:
            raise Failure("60 Tab presses never focused a link to #/queues/...")
        ActionChains(self.driver).send_keys(Keys.ENTER).perform()
        name = href[len("#/queues/"):]
        self.wait(f"Enter on {href} to open the queue view", lambda: self.js("return location.hash;") == href
                  and self.js(JS_SHOWN, "#queue-view") and name in (self.text("#queue-title") or ""),
                  lambda: (self.js("return location.hash;"), self.text("#queue-title")))

    def screenshots(self):
        s = self.stack
        self.open_queue(s.idleq, "pending")
        self.wait("the pending tab's rows", lambda: self.row_count() == 5, self.row_count)
        self.js("document.activeElement && document.activeElement.blur();")  # no focus ring in the picture
        desktop = os.path.join(self.out, "desktop.png")
        self.driver.save_screenshot(desktop)
        if self.docs:
            os.makedirs(os.path.dirname(os.path.abspath(self.docs)), exist_ok=True)
            shutil.copyfile(desktop, self.docs)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        try:
            self.driver.refresh()
            self.wait("body[data-ready=true] after the reload", lambda: self.body("data-ready") == "true")
            self.wait("the pending tab's rows after the reload", lambda: self.row_count() == 5)
            width = self.js("return document.documentElement.scrollWidth;")
            if width > 390:
                raise Failure(f"at 390 px wide the page is {width} px wide (horizontal overflow)")
            self.driver.save_screenshot(os.path.join(self.out, "phone.png"))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def row_count(self):
        return self.js("return document.querySelectorAll('#task-table tbody tr[data-task]').length;")

    def console_clean(self):
        # Every SEVERE entry counts, a failed request's included: the page asks GET /whoami (always 200) whether a
        # token is good, so even the refused token of check 1 is no failed request.
        errors = [f"[check {check}] {entry['message']}" for check, entry in self.console if entry["level"] == "SEVERE"]
        if errors:
            raise Failure(f"{len(errors)} SEVERE console entries: " + " | ".join(errors))

    def same_host(self):
        s = self.stack
        urls = [url for _, url, _ in self.requests]
        if s.base + "/" not in urls:
            raise Failure(f"the performance log has no request for {s.base}/ (saw {len(urls)} requests)")
        # Chromium's own pages (chrome://) load chrome:// resources from the browser itself: no network, not ours.
        foreign = {url for _, url, document in self.requests
                   if not url.startswith((s.base + "/", s.open_base + "/", "data:", "about:"))
                   and not (url.startswith("chrome://") and document.startswith("chrome://"))}
        if foreign:
            raise Failure(f"requests to other hosts: {sorted(foreign)}")
        leaked = [url for url in urls if s.admin in url or s.read in url]
        if leaked:
            raise Failure(f"a token appears in {len(leaked)} request URLs")

    def all(self):
        for number, title, check in [
            (1, "token: dialog, refused token, admin token accepted and kept in sessionStorage", self.token),
            (2, "queue table: the idle queue's depths match GET /queues/{queue}", self.idle_depths),
            (3, "live: new tasks raise the pending count and join the pending tab, no reload", self.live),
            (4, "task view: timeline snapshot, active, succeeded as they happen", self.task_timeline),
            (5, "requeue: a dead task's requeue button, confirmed, runs it again", self.requeue),
            (6, "pause: a paused queue holds its task; resume runs it", self.pause),
            (7, "schedules: listed with runs and last run; pause, trigger and resume from the page", self.schedules),
            (8, "workflow task: parents, children, batch and a batch parent as links; waiting, waiting_for, expiry",
             self.workflow_task),
            (9, "batch page: counts and progress go up live as pull workers complete its tasks, then complete",
             self.batch_live),
            (10, "read-only token: no admin control anywhere", self.read_only),
            (11, "accessibility: named controls; Tab and Enter open a queue", self.accessibility),
            (12, "no token needed: a gateway without tokens opens the page at once, actions shown", self.open_gateway),
            (13, "screenshots: desktop and 390 px phone without horizontal overflow", self.screenshots),
            # Last, so that they cover every step before them.
            (14, "no SEVERE console entries over the run", self.console_clean),
            (15, "every request went to the gateways, none carried a token in its URL", self.same_host),
        ]:
            self.run(number, title, check)


def make_driver(work):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                     "--no-proxy-server", "--no-first-run", "--disable-background-networking", "--disable-sync",
                     "--disable-component-update", "--disable-default-apps", "--disable-extensions",
                     "--disable-features=Translate,OptimizationHints,MediaRouter",
                     f"--user-data-dir={os.path.join(work, 'chromium')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver", log_output=os.path.join(work, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    # The window's size holds the browser's frame too: grow it so that the page itself gets 1280x800.
    width, height = driver.execute_script("return [innerWidth, innerHeight];")
    driver.set_window_size(2 * 1280 - width, 2 * 800 - height)
    # What the browser logged before the first navigation is its own start page's, not the dashboard's.
    driver.get_log("browser")
    driver.get_log("performance")
    return driver


def main():
    parser = argparse.ArgumentParser(description="Check the dashboard in a real headless Chromium.")
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "debug", "taskgate"))
    parser.add_argument("--out", help="where screenshots go (default: a new temp dir)")
    parser.add_argument("--docs-screenshot", help="also save the desktop screenshot here (docs/dashboard.png)")
    args = parser.parse_args()
    os.environ["SE_OFFLINE"] = "true"
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"dashboard-check: no taskgate binary at {binary} (build it, or give --bin)", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="dashboard-check-")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="dashboard-work-")
    stack, driver, checks = Stack(binary, work), None, None
    try:
        try:
            stack.start()
            s = stack
            for n, delay in ((1, None), (2, None), (3, None), (4, 3600)):
                fields = {"delay_seconds": delay} if delay else {}
                s.post_task(s.idleq, {"report": n}, type="report.build", max_retries=3, **fields)
            driver = make_driver(work)
        except (Failure, WebDriverException) as error:
            print(f"dashboard-check: could not start: {error}", file=sys.stderr)
            for name in ("redis", "gateway", "worker", "chromedriver"):
                path = os.path.join(work, name + ".log")
                if os.path.exists(path):
                    print(f"--- {name}.log\n" + open(path, errors="replace").read()[-2000:], file=sys.stderr)
            return 2
        checks = Checks(stack, driver, out, args.docs_screenshot)
        checks.all()
    finally:
        if driver:
            driver.quit()
        stack.stop()
        if checks and checks.failed:
            for name in ("gateway", "worker"):
                shutil.copyfile(os.path.join(work, name + ".log"), os.path.join(out, name + ".log"))
            print(f"  the gateway and worker logs are in {out}")
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots: {out}")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
