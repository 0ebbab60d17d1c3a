#!/usr/bin/env python3
"""Fake of OpenAI's fine-tuning HTTP API (files and fine_tuning/jobs), standard library only.

The C++ integration tests start it as a subprocess on 127.0.0.1, read its port from
--port-file, point the training service's OpenAI backend at it and stop it with SIGTERM.

Endpoints (every /v1 path needs "Authorization: Bearer <--api-key>"):
  POST /v1/files, GET|DELETE /v1/files/{id}, GET /v1/files/{id}/content
  POST|GET /v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs/{id}[/events|/checkpoints],
  POST /v1/fine_tuning/jobs/{id}/cancel; and GET /_fake/state, test-only, without auth.

Documented behaviours of the real API reproduced here, because the client must cope with them:
  * events come newest first; "after" is the id of the oldest event of the previous page and
    yields the events older than it; a job keeps only its last 3 checkpoints;
  * "auto" hyperparameters are resolved to numbers in the job object (n_epochs 3,
    batch_size 1, learning_rate_multiplier 1.8); top-level "hyperparameters" (legacy) and
    "method" are exclusive;
  * fine-tuned model names are "ft:<model>:<org>:<suffix>:<tag>", the suffix part empty
    ("::") when the job has none; checkpoints append ":ckpt-step-<step>";
  * a 401 echoes the presented key in full in its message (the client must redact it);
  * a rate-limit 429 carries retry-after and retry-after-ms; an insufficient_quota 429
    carries neither and must not be retried; a 500 has a JSON body, a 502 from the proxy in
    front of the API an HTML one;
  * a failed job carries an error object {code, message, param} and an error-level event;
    a succeeded one a result file step_metrics.csv with one row per step.

Job life cycle, one tick per --step-seconds for every unfinished job: validating_files ->
(file check) queued -> running -> one step per tick up to --steps -> succeeded; or failed (bad
file, --fail-at-step K) or cancelled. An epoch is ceil(steps / n_epochs) steps, the last one
shorter when that does not divide evenly (so fewer than n_epochs epochs run when steps is
small); each epoch end adds full_valid_* metrics (with a validation file) and a checkpoint.
Losses fall as a*0.8^step + b and accuracies rise, deterministically.

Faults count authenticated /v1 requests globally: the first --rate-limit of them get a 429,
the next --server-errors alternate 500 and 502. /_fake/state counts every /v1 request
("requests", 401s included) and every POST /v1/fine_tuning/jobs ("create_job_requests",
whatever its answer). An unknown "after" cursor yields an empty page.
"""

import argparse
import json
import math
import os
import random
import re
import string
import sys
import threading
import time

sys.dont_write_bytecode = True  # so that importing fake_http leaves no __pycache__ here
import fake_http  # noqa: E402

ALNUM = string.ascii_letters + string.digits
PURPOSES = ["fine-tune", "assistants", "batch", "vision", "user_data", "evals"]
METHOD_TYPES = ("supervised", "dpo", "reinforcement")
ROLES = ("system", "user", "assistant")
TERMINAL = ("succeeded", "failed", "cancelled")
MIN_EXAMPLES = 10
KEPT_CHECKPOINTS = 3
HYPERPARAMETERS = {  # name: (value of "auto", check of an explicit value, what it must be)
    "n_epochs": (3, lambda v: type(v) is int and 1 <= v <= 50, "an integer from 1 to 50"),
    "batch_size": (1, lambda v: type(v) is int and 1 <= v <= 256, "an integer from 1 to 256"),
    "learning_rate_multiplier": (1.8, lambda v: type(v) in (int, float) and 0 < v <= 10,
                                 "a number > 0 and <= 10"),
}
CSV_HEADER = ("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,"
              "train_mean_reward,full_validation_mean_reward")
KEY_HELP = "You can find your API key at https://platform.openai.com/account/api-keys."
NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization "
          "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). " + KEY_HELP)
BAD_JSON = ("We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)")
HTML_502 = (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
            b"<h1>502 Bad Gateway</h1></center></body></html>")


def json_response(status, obj, headers=None):
    """A response tuple (status, content type, body bytes, extra headers) carrying JSON."""
    return status, "application/json", json.dumps(obj).encode(), headers or {}


class ApiError(Exception):
    """Raised by endpoint code to answer with an OpenAI-style {"error": {...}} body."""

    def __init__(self, status, message, type_="invalid_request_error", param=None, code=None,
                 headers=None):
        super().__init__(message)
        error = {"message": message, "type": type_, "param": param, "code": code}
        self.response = json_response(status, {"error": error}, headers)


def parse_multipart(body, content_type):
    """Splits a multipart/form-data body into {name: (filename or None, data bytes)}."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if not match:
        raise ApiError(400, "Invalid multipart/form-data body: no boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    parts = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, found, data = chunk.partition(b"\r\n\r\n")
        if not found:
            continue
        if data.endswith(b"\r\n"):  # the CRLF belongs to the next delimiter
            data = data[:-2]
        disposition = re.search(r"(?im)^content-disposition:(.*)$",
                                head.decode("utf-8", "replace"))
        if not disposition:
            continue
        params = {key.lower(): quoted or bare for key, quoted, bare in re.findall(
            r';\s*([\w*-]+)=(?:"([^"]*)"|([^;\s]*))', disposition.group(1))}
        if "name" in params:
            parts[params["name"]] = (params.get("filename"), data)
    return parts


def line_problem(line):
    """Why one JSONL line is not a chat fine-tuning example, or None when it is one."""
    try:
        example = json.loads(line)
    except ValueError:
        return "line is not valid JSON"
    if not isinstance(example, dict):
        return "example is not a JSON object"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return "must be a non-empty array of messages"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"message {index} is not an object"
        if message.get("role") not in ROLES:
            return f"message {index} has an invalid role"
        if not isinstance(message.get("content"), str):
            return f"message {index} content must be a string"
    if not any(message["role"] == "assistant" for message in messages):
        return "At least one message must be from the assistant"
    return None


def check_jsonl(content, param):
    """The job error object for an invalid training/validation file (`param`), else None."""
    kind = param.split("_")[0]
    examples = 0
    for number, line in enumerate(content.decode("utf-8", "replace").split("\n"), start=1):
        problem = line_problem(line) if line.strip() else None
        if problem:
            detail = f'Invalid file format. Line {number}, key "messages": {problem}'
            break
        examples += bool(line.strip())
    else:
        if examples >= MIN_EXAMPLES:
            return None
        detail = (f"{kind.capitalize()} file has {examples} example(s), but must have at least "
                  f"{MIN_EXAMPLES} examples")
    return {"code": f"invalid_{param}", "param": param,
            "message": f"The job failed due to an invalid {kind} file. {detail}"}


def step_metrics(step, with_validation, full):
    """Deterministic metrics of one step: losses decrease, accuracies rise with the step."""
    decay = 0.8 ** step
    metrics = {"train_loss": round(2.0 * decay + 0.1, 4),
               "train_mean_token_accuracy": round(0.95 - 0.6 * decay, 4)}
    if with_validation:
        metrics["valid_loss"] = round(2.2 * decay + 0.15, 4)
        metrics["valid_mean_token_accuracy"] = round(0.93 - 0.6 * decay, 4)
        if full:
            metrics["full_valid_loss"] = round(2.1 * decay + 0.14, 4)
            metrics["full_valid_mean_token_accuracy"] = round(0.935 - 0.6 * decay, 4)
    return metrics


def resolve_hyperparameters(given):
    """Validates a create request's hyperparameters, replacing "auto" (or null) by numbers."""
    if not isinstance(given, (dict, type(None))):
        raise ApiError(400, "hyperparameters must be an object", param="hyperparameters")
    resolved = {name: rule[0] for name, rule in HYPERPARAMETERS.items()}
    for key, value in (given or {}).items():
        if key not in HYPERPARAMETERS:
            raise ApiError(400, f"Unrecognized hyperparameter: {key}", param=key)
        if value is None or value == "auto":
            continue
        if not HYPERPARAMETERS[key][1](value):
            raise ApiError(400, f"Invalid value for {key}: must be {HYPERPARAMETERS[key][2]} "
                           "or 'auto'", param=key)
        resolved[key] = value
    return resolved


class Job:
    """One fine-tuning job: its public object plus what the fake keeps beside it."""

    def __init__(self, obj, tag):
        self.obj = obj
        self.tag = tag              # the 8-character part of the fine-tuned model name
        self.events = []            # oldest first
        self.checkpoints = []       # oldest first, at most KEPT_CHECKPOINTS
        self.step = 0
        self.csv_rows = []
        self.training_chars = 0
        self.cancel_requests = 0


class FakeOpenAI:
    """The fake's state and endpoints; every access to the state holds self.lock."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rng = random.Random(int.from_bytes(os.urandom(16), "big"))
        self.files = {}   # id -> {"object": file object, "content": bytes}
        self.jobs = {}    # id -> Job, in creation order
        self.requests = self.create_job_requests = self.rate_limited = self.server_errors = 0
        self.log = fake_http.RequestLog(args.log)
        self.routes = [
            (r"/v1/files", {"POST": self.upload_file}),
            (r"/v1/files/([^/]+)", {"GET": self.get_file, "DELETE": self.delete_file}),
            (r"/v1/files/([^/]+)/content", {"GET": self.get_file_content}),
            (r"/v1/fine_tuning/jobs", {"GET": self.list_jobs, "POST": self.create_job}),
            (r"/v1/fine_tuning/jobs/([^/]+)", {"GET": self.get_job}),
            (r"/v1/fine_tuning/jobs/([^/]+)/events", {"GET": self.list_events}),
            (r"/v1/fine_tuning/jobs/([^/]+)/checkpoints", {"GET": self.list_checkpoints}),
            (r"/v1/fine_tuning/jobs/([^/]+)/cancel", {"POST": self.cancel_job}),
            (r"/_fake/state", {"GET": self.state}),
        ]

    # ---- helpers -------------------------------------------------------------------------

    def token(self, n, alphabet=ALNUM):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def store_file(self, filename, purpose, content):
        file_id = "file-" + self.token(24, "0123456789abcdef")
        obj = {"object": "file", "id": file_id, "purpose": purpose, "filename": filename,
               "bytes": len(content), "created_at": int(time.time()), "expires_at": None,
               "status": "processed", "status_details": None}
        self.files[file_id] = {"object": obj, "content": content}
        return obj

    def find_file(self, file_id):
        if file_id not in self.files:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return self.files[file_id]

    def find_job(self, job_id):
        if job_id not in self.jobs:
            raise ApiError(404, f"fine-tuning job {job_id} not found",
                           param="fine_tuning_job_id", code="fine_tune_not_found")
        return self.jobs[job_id]

    def add_event(self, job, message, level="info", data=None, type_="message"):
        job.events.append({"object": "fine_tuning.job.event", "id": "ftevent-" + self.token(24),
                           "created_at": int(time.time()), "level": level, "message": message,
                           "data": data or {}, "type": type_})

    def model_name(self, job):
        obj = job.obj
        return (f"ft:{obj['model']}:{self.args.org}:{obj['user_provided_suffix'] or ''}:"
                f"{job.tag}")

    @staticmethod
    def page(items, after, limit):
        """The page of newest-first `items` following the item whose id is `after`."""
        if after is not None:
            ids = [item["id"] for item in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        return items[:limit], len(items) > limit

    @staticmethod
    def query_value(req, name):
        values = req["query"].get(name)
        return values[0] if values else None

    def limit(self, req, default):
        raw = self.query_value(req, "limit")
        if raw is None:
            return default
        if not re.fullmatch(r"\d+", raw) or not 1 <= int(raw) <= 100:
            raise ApiError(400, f"Invalid 'limit': {raw}. Expected an integer from 1 to 100.",
                           param="limit")
        return int(raw)

    # ---- dispatch ------------------------------------------------------------------------

    def dispatch(self, req):
        """Answers one request (a dict of method, path, query, headers, body)."""
        try:
            with self.lock:
                return self.route(req)
        except ApiError as error:
            return error.response

    def route(self, req):
        method, path = req["method"], req["path"]
        if path == "/v1" or path.startswith("/v1/"):
            self.requests += 1
            if method == "POST" and path == "/v1/fine_tuning/jobs":
                self.create_job_requests += 1
            self.authenticate(req["headers"])
            fault = self.injected_fault()
            if fault:
                return fault
        for pattern, handlers in self.routes:
            match = re.fullmatch(pattern, path)
            if match:
                if method not in handlers:
                    raise ApiError(405, f"Invalid URL ({method} {path})")
                return handlers[method](req, *match.groups())
        raise ApiError(404, f"Invalid URL ({method} {path})")

    def authenticate(self, headers):
        header = headers.get("Authorization")
        if header is None:
            raise ApiError(401, NO_KEY)
        scheme, _, presented = header.strip().partition(" ")
        presented = presented.strip() if scheme.lower() == "bearer" else ""
        if presented != self.args.api_key:
            raise ApiError(401, f"Incorrect API key provided: {presented}. {KEY_HELP}",
                           code="invalid_api_key")

    def injected_fault(self):
        """The response of an injected rate limit or server error, or None."""
        if self.rate_limited < self.args.rate_limit:
            self.rate_limited += 1
            message = (f"Rate limit reached for requests in organization {self.args.org} on "
                       "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again "
                       "in 200ms.")
            return ApiError(429, message, type_="requests", code="rate_limit_exceeded",
                            headers={"retry-after": "1", "retry-after-ms": "200"}).response
        if self.server_errors < self.args.server_errors:
            self.server_errors += 1
            if self.server_errors % 2:
                return ApiError(500, "The server had an error while processing your request. "
                                "Sorry about that!", type_="server_error").response
            return 502, "text/html", HTML_502, {}
        return None

    # ---- files ---------------------------------------------------------------------------

    def upload_file(self, req):
        content_type = req["headers"].get("Content-Type", "")
        if "multipart/form-data" not in content_type.lower():
            raise ApiError(400, "Expected a multipart/form-data body")
        parts = parse_multipart(req["body"], content_type)
        if "purpose" not in parts:
            raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
        purpose = parts["purpose"][1].decode("utf-8", "replace")
        if purpose != "fine-tune":
            raise ApiError(400, f"'{purpose}' is not one of {PURPOSES} - 'purpose'",
                           param="purpose")
        filename, content = parts.get("file", (None, b""))
        if filename is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        return json_response(200, self.store_file(filename, purpose, content))

    def get_file(self, req, file_id):
        return json_response(200, self.find_file(file_id)["object"])

    def get_file_content(self, req, file_id):
        return 200, "application/octet-stream", self.find_file(file_id)["content"], {}

    def delete_file(self, req, file_id):
        self.find_file(file_id)
        del self.files[file_id]
        return json_response(200, {"object": "file", "id": file_id, "deleted": True})

    # ---- jobs ----------------------------------------------------------------------------

    def create_job(self, req):
        if self.args.insufficient_quota:  # a 429 without retry-after: not to be retried
            raise ApiError(429, "You exceeded your current quota, please check your plan and "
                           "billing details.", type_="insufficient_quota",
                           code="insufficient_quota")
        try:
            body = json.loads(req["body"])
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, BAD_JSON)
        for name in ("model", "training_file"):
            if body.get(name) is None:
                raise ApiError(400, f"Missing required parameter: '{name}'.", param=name,
                               code="missing_required_parameter")
        model = body["model"]
        if not isinstance(model, str) or not model.startswith(("gpt-", "ft:")):
            raise ApiError(400, f"Model {model} is not available for fine-tuning or does not "
                           "exist.", param="model", code="model_not_available")
        for name in ("training_file", "validation_file"):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or value not in self.files):
                raise ApiError(400, f"invalid {name}: {value}", param=name)
        suffix, metadata, seed = body.get("suffix"), body.get("metadata"), body.get("seed")
        for param, valid, message in [
                ("suffix", suffix is None or type(suffix) is str and len(suffix) <= 64,
                 "suffix must be a string of at most 64 characters"),
                ("metadata", metadata is None or type(metadata) is dict and len(metadata) <= 16
                 and all(type(v) is str for v in metadata.values()),
                 "metadata must be an object of at most 16 string values"),
                ("seed", seed is None or type(seed) is int, "seed must be an integer")]:
            if not valid:
                raise ApiError(400, message, param=param)
        method, legacy = body.get("method"), body.get("hyperparameters")
        if method is not None and legacy is not None:
            raise ApiError(400, "Specify hyperparameters either in 'method' or at the top "
                           "level, not both.", param="hyperparameters")
        method_type, given = "supervised", legacy
        if method is not None:
            if not isinstance(method, dict) or method.get("type") not in METHOD_TYPES:
                raise ApiError(400, "Invalid value for 'method.type': expected one of "
                               "'supervised', 'dpo', 'reinforcement'.", param="method.type")
            method_type = method["type"]
            settings = method.get(method_type) or {}
            if not isinstance(settings, dict):
                raise ApiError(400, f"method.{method_type} must be an object",
                               param=f"method.{method_type}")
            given = settings.get("hyperparameters")
        hyperparameters = resolve_hyperparameters(given)

        job_id = "ftjob-" + self.token(24)
        obj = {"object": "fine_tuning.job", "id": job_id, "model": model,
               "created_at": int(time.time()), "finished_at": None, "fine_tuned_model": None,
               "organization_id": "org-" + self.args.org, "result_files": [],
               "status": "validating_files", "validation_file": body.get("validation_file"),
               "training_file": body["training_file"], "hyperparameters": hyperparameters,
               "method": {"type": method_type,
                          method_type: {"hyperparameters": dict(hyperparameters)}},
               "trained_tokens": None, "error": None, "user_provided_suffix": suffix,
               "seed": seed if seed is not None else self.rng.randint(0, 2 ** 31 - 1),
               "estimated_finish": None, "integrations": [],
               "metadata": dict(metadata) if metadata is not None else None}
        job = self.jobs[job_id] = Job(obj, self.token(8))
        self.add_event(job, f"Created fine-tuning job: {job_id}")
        self.add_event(job, f"Validating training file: {obj['training_file']}")
        if obj["validation_file"]:
            self.add_event(job, f"Validating validation file: {obj['validation_file']}")
        return json_response(200, obj)

    def get_job(self, req, job_id):
        return json_response(200, self.find_job(job_id).obj)

    def list_jobs(self, req):
        limit = self.limit(req, 20)
        wanted = {key[len("metadata["):-1]: values for key, values in req["query"].items()
                  if key.startswith("metadata[") and key.endswith("]")}
        jobs = [job.obj for job in reversed(self.jobs.values())]
        jobs, _ = self.page(jobs, self.query_value(req, "after"), len(jobs))
        jobs = [job for job in jobs if all(
            (job["metadata"] or {}).get(key) == value
            for key, values in wanted.items() for value in values)]
        data, has_more = jobs[:limit], len(jobs) > limit
        return json_response(200, {"object": "list", "data": data, "has_more": has_more})

    def list_events(self, req, job_id):
        data, has_more = self.page(self.find_job(job_id).events[::-1],
                                   self.query_value(req, "after"), self.limit(req, 20))
        return json_response(200, {"object": "list", "data": data, "has_more": has_more})

    def list_checkpoints(self, req, job_id):
        data, has_more = self.page(self.find_job(job_id).checkpoints[::-1],
                                   self.query_value(req, "after"), self.limit(req, 10))
        return json_response(200, {"object": "list", "data": data,
                                   "first_id": data[0]["id"] if data else None,
                                   "last_id": data[-1]["id"] if data else None,
                                   "has_more": has_more})

    def cancel_job(self, req, job_id):
        job = self.find_job(job_id)
        job.cancel_requests += 1
        if job.obj["status"] in TERMINAL:
            raise ApiError(400, f"Job has already completed: {job_id}")
        self.finish(job, "cancelled", message="Fine-tuning job cancelled")
        return json_response(200, job.obj)

    def state(self, req):
        jobs = [dict(job.obj, events_count=len(job.events),
                     checkpoint_count=len(job.checkpoints), cancel_requests=job.cancel_requests)
                for job in self.jobs.values()]
        return json_response(200, {
            "jobs": jobs, "files": [stored["object"] for stored in self.files.values()],
            "requests": self.requests, "create_job_requests": self.create_job_requests,
            "rate_limited": self.rate_limited, "server_errors": self.server_errors})

    # ---- progress ------------------------------------------------------------------------

    def run_ticker(self, stop):
        """Advances every unfinished job by one tick each --step-seconds until `stop` is set."""
        while not stop.wait(self.args.step_seconds):
            with self.lock:
                for job in self.jobs.values():
                    if job.obj["status"] not in TERMINAL:
                        self.advance(job)

    def advance(self, job):
        obj = job.obj
        if obj["status"] == "validating_files":
            for param in ("training_file", "validation_file"):
                if obj[param] is None:
                    continue
                stored = self.files.get(obj[param])  # a file deleted since counts as empty
                content = stored["content"] if stored else b""
                error = check_jsonl(content, param)
                if error:
                    return self.finish(job, "failed", error=error)
                if param == "training_file":
                    job.training_chars = len(content.decode("utf-8", "replace"))
            self.add_event(job, "Files validated, moving job to queued state")
            obj["status"] = "queued"
        elif obj["status"] == "queued":
            obj["status"] = "running"
            self.add_event(job, "Fine-tuning job started")
            self.estimate_finish(job)
        else:
            self.train_step(job)
        return None

    def estimate_finish(self, job):
        remaining = self.args.steps - job.step
        job.obj["estimated_finish"] = int(time.time() + remaining * self.args.step_seconds) + 1

    def train_step(self, job):
        obj, total = job.obj, self.args.steps
        job.step += 1
        step = job.step
        if step == self.args.fail_at_step:
            return self.finish(job, "failed", error={
                "code": "internal_error", "param": None,
                "message": "Fine-tuning job failed due to an internal error."})
        with_validation = obj["validation_file"] is not None
        per_epoch = math.ceil(total / obj["hyperparameters"]["n_epochs"])
        epoch_end = step % per_epoch == 0 or step == total
        metrics = step_metrics(step, with_validation, full=epoch_end)
        message = f"Step {step}/{total}: training loss={metrics['train_loss']:.4f}"
        if with_validation:
            message += f", validation loss={metrics['valid_loss']:.4f}"
        self.add_event(job, message, data={"step": step, "total_steps": total, **metrics},
                       type_="metrics")
        job.csv_rows.append(",".join(str(value) for value in [
            step, metrics["train_loss"], metrics["train_mean_token_accuracy"],
            metrics.get("valid_loss", ""), metrics.get("valid_mean_token_accuracy", ""), "", ""]))
        if epoch_end:
            job.checkpoints.append({
                "object": "fine_tuning.job.checkpoint", "id": "ftckpt_" + self.token(24),
                "created_at": int(time.time()),
                "fine_tuned_model_checkpoint": f"{self.model_name(job)}:ckpt-step-{step}",
                "step_number": step, "metrics": {"step": step, **metrics},
                "fine_tuning_job_id": obj["id"]})
            del job.checkpoints[:-KEPT_CHECKPOINTS]
        if step < total:
            self.estimate_finish(job)
            return None
        csv = "\n".join([CSV_HEADER] + job.csv_rows) + "\n"
        result = self.store_file("step_metrics.csv", "fine-tune-results", csv.encode())
        obj["fine_tuned_model"] = self.model_name(job)
        obj["trained_tokens"] = job.training_chars // 4 * obj["hyperparameters"]["n_epochs"]
        obj["result_files"] = [result["id"]]
        self.add_event(job, "New fine-tuned model created")
        return self.finish(job, "succeeded", message="The job has successfully completed")

    def finish(self, job, status, error=None, message=None):
        """Moves `job` to a terminal status, recording an error event for a failure."""
        job.obj.update(status=status, finished_at=int(time.time()), estimated_finish=None)
        if error:
            job.obj["error"] = error
            self.add_event(job, error["message"], level="error")
        if message:
            self.add_event(job, message)


def log_body(headers, body):
    """The request body as recorded in --log: parsed JSON, multipart parts, or text."""
    content_type = headers.get("Content-Type", "")
    if "multipart/form-data" in content_type.lower():
        try:
            parts = parse_multipart(body, content_type)
        except ApiError:
            parts = None
        if parts is not None:
            return {name: data.decode("utf-8", "replace") if filename is None else {
                "filename": filename, "bytes": len(data),
                "first_line": data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")}
                for name, (filename, data) in parts.items()}
    return fake_http.log_body(headers, body)


class Handler(fake_http.Handler):
    """fake_http's front end with OpenAI's error bodies, chunked request bodies, multipart
    bodies summarized in the log and an x-request-id header on every answer."""

    server_version = "fake-openai/1.0"
    fake = None  # the FakeOpenAI, set by main()

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return super().read_body()

    def framing_error(self):
        return ApiError(400, "Malformed request body framing").response

    def internal_error(self, error):
        return ApiError(500, f"fake_openai internal error: {error!r}",
                        type_="server_error").response

    def summary(self, req, status):
        return f"fake_openai: {self.command} {req['path']} {status}"

    def body_for_log(self, body):
        return log_body(self.headers, body)

    def send_answer(self, status, content_type, payload, headers):
        super().send_answer(status, content_type, payload,
                            {"x-request-id": "req_" + os.urandom(16).hex(), **headers})


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True, help="where to write the bound port")
    parser.add_argument("--api-key", required=True, help="the only accepted bearer key")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--steps", type=int, default=12, help="training steps of every job")
    parser.add_argument("--step-seconds", type=float, default=0.05, help="seconds per tick")
    parser.add_argument("--rate-limit", type=int, default=0, help="first N requests get 429")
    parser.add_argument("--server-errors", type=int, default=0, help="then N get 500 / 502")
    parser.add_argument("--insufficient-quota", action="store_true", help="job creation: 429")
    parser.add_argument("--fail-at-step", type=int, default=0, help="jobs fail at step K")
    parser.add_argument("--org", default="fake-org", help="organization name")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.step_seconds <= 0:
        parser.error("--steps must be >= 1 and --step-seconds > 0")
    return args


def main(argv):
    args = parse_args(argv)
    fake = FakeOpenAI(args)
    Handler.fake = fake

    def start_ticker(stop):
        threading.Thread(target=fake.run_ticker, args=(stop,), daemon=True).start()

    fake_http.serve(Handler, args.port_file, on_listening=start_ticker)
    fake.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
