"""The HTTP front end shared by the fakes of this directory (fake_openai.py, fake_chain.py).

Each fake is a python3 script, standard library only, that a C++ test starts as a child
process: it binds a free port on 127.0.0.1, writes the port to --port-file, serves until
SIGTERM or SIGINT and then exits 0. The fakes import this module, which is not a script, from
their own directory. It holds what their front ends have in common:
  * Handler, an HTTP/1.1 keep-alive request handler: it reads the whole body, asks the fake's
    dispatch() for the answer, appends the request to the fake's RequestLog, writes one line
    to stderr and answers; a fake subclasses it and overrides the hooks it needs;
  * RequestLog, the --log file: one JSON line per request;
  * log_body, a request body as recorded in that log;
  * serve, the main loop: the server, the port file and the signals.
"""

import json
import os
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RequestLog:
    """The --log file (None: no log), one JSON line per request, written by any thread."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8") if path else None

    def write(self, record):
        with self.lock:
            if self.file:
                self.file.write(json.dumps(record) + "\n")
                self.file.flush()

    def close(self):
        with self.lock:  # handler threads may still be finishing a request
            if self.file:
                self.file.close()
                self.file = None


def log_body(headers, body):
    """The request body as recorded in the log: parsed JSON, or text."""
    if "json" in headers.get("Content-Type", "").lower():
        try:
            return json.loads(body)
        except ValueError:
            pass
    return body.decode("utf-8", "replace")[:65536]


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive front end: reads the whole body, asks the fake, logs, answers.

    A request is a dict of method, path, query (parse_qs, blank values kept), headers, body
    and the fake's own request_fields. fake.dispatch(request) answers it with a tuple
    (status, content type, body bytes[, {extra header: value}]). The request goes to fake.log
    BEFORE the answer goes out, so a client that reads the log after its call finds the call
    in it. A fake sets server_version and fake, and defines summary, framing_error and
    internal_error; the other hooks have defaults.
    """

    protocol_version = "HTTP/1.1"
    fake = None            # the fake: dispatch(request) and log (a RequestLog); set by its main
    request_fields = {}    # the fake's own fields of a new request and their initial values

    def do_GET(self):
        self.handle_request()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def log_request(self, code="-", size="-"):
        pass  # replaced by the one-line summary of handle_request, which omits headers

    # ---- hooks ---------------------------------------------------------------------------

    def read_body(self):
        """The body by Content-Length; ValueError when the request's framing is unusable."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def framing_error(self):
        """The answer to a request whose body read_body refused (the connection then closes)."""
        raise NotImplementedError

    def internal_error(self, error):
        """The answer when dispatch raised `error`, a bug in the fake."""
        raise NotImplementedError

    def summary(self, req, status):
        """The stderr line of a request, without its newline."""
        raise NotImplementedError

    def body_for_log(self, body):
        return log_body(self.headers, body)

    def log_fields(self, req):
        """The fake's own fields of the log record, after the common ones."""
        return {}

    def send_answer(self, status, content_type, payload, headers):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    # ---- one request ---------------------------------------------------------------------

    def handle_request(self):
        url = urllib.parse.urlsplit(self.path)
        req = {"method": self.command, "path": url.path, "headers": self.headers,
               "query": urllib.parse.parse_qs(url.query, keep_blank_values=True),
               **self.request_fields}
        try:
            req["body"] = self.read_body()
        except ValueError:
            self.close_connection = True
            req["body"] = b""
            response = self.framing_error()
        else:
            try:
                response = self.fake.dispatch(req)
            except Exception as error:  # a bug in the fake: answer, and show it on stderr
                self.log_error("internal error: %r", error)
                response = self.internal_error(error)
        status, content_type, payload = response[:3]
        extra = response[3] if len(response) > 3 else {}
        headers = {}
        for name, value in self.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.fake.log.write({"method": self.command, "path": url.path, "query": req["query"],
                             "headers": headers, "body": self.body_for_log(req["body"]),
                             "status": status, **self.log_fields(req)})
        sys.stderr.write(self.summary(req, status) + "\n")
        sys.stderr.flush()
        self.send_answer(status, content_type, payload, extra)


def serve(handler_class, port_file, on_listening=None):
    """Serves handler_class on a free port of 127.0.0.1 until SIGTERM or SIGINT.

    The port goes to port_file as "<port>\\n", written to port_file.tmp and renamed, so that a
    reader never sees a partial file. on_listening(stop), when given, runs once the port file
    is written and before requests are served; threads it starts should end when the
    threading.Event `stop` is set. Returns once the server is closed, within about a second
    of the signal: idle keep-alive connections and calls still running do not delay it.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)  # listening from here on
    server.daemon_threads = True  # idle keep-alive or slow calls must not delay the exit
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as out:
        out.write(f"{server.server_address[1]}\n")
    os.replace(tmp, port_file)
    if on_listening:
        on_listening(stop)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
