#!/usr/bin/env python3
"""Fake of the Etherscan API V2 and of an Ethereum JSON-RPC node, standard library only.

The C++ tests of the enrichment service start it as a subprocess on 127.0.0.1, read its port
from --port-file, point ETHERSCAN_BASE_URL at http://127.0.0.1:<port>/v2/api and ETH_RPC_URL
at http://127.0.0.1:<port>/rpc, and stop it with SIGTERM. The chain comes from --fixture;
--make-fixture writes a deterministic synthetic one (see make_fixture). Endpoints: GET /v2/api
(Etherscan), POST /rpc (JSON-RPC, single or batch), GET /_fake/state and POST
/_fake/fail?mode=X&count=N (test-only, no key). A body needs a Content-Length (else 400).

Documented behaviours of the real services reproduced here, because the client must cope:
  * Etherscan answers almost every error with HTTP 200 and {"status":"0","message":"NOTOK",
    "result":"<text>"}: a bad key ("Invalid API Key (#err2)|"), a missing one, the per-second
    and daily rate limits, a missing or unsupported chainid, the result window, an unknown
    module or action, a bad address ("Error! Invalid address format");
  * an empty list is {"status":"0","message":"No transactions found","result":[]}: status 0
    but not an error (txlist, txlistinternal and tokentx alike); numbers are decimal strings;
  * a list call returns at most --max-records records (the free-tier cap) whatever offset
    asks for, and page * offset > 10000 is refused ("Result window is too large ..."), so a
    long history is read by block cursor: startblock = the last block seen, dropping repeats;
    records are sorted by blockNumber, fixture order within a block; sort=desc reverses that;
  * getsourcecode answers an unverified address with the same one-element list, empty
    SourceCode and ContractName and ABI "Contract source code not verified";
  * getcontractcreation without any creation record answers {"status":"0","message":"No data
    found","result":null} (Etherscan sometimes answers status "1" and [] instead; the fake
    always uses the documented form);
  * the proxy module answers in JSON-RPC form, not in the envelope (eth_blockNumber has id 83,
    eth_getCode and eth_getTransactionCount id 1); addresses match case-insensitively;
  * JSON-RPC errors use geth's codes and messages (-32700 "parse error", -32600 "invalid
    request" / "empty batch", -32601 "the method X does not exist/is not available", -32602
    "invalid argument N: ...", -32000 "header not found"); quantities are hex without leading
    zeros ("0x0"); a batch is answered in reverse order, as a node may, so ids must be
    matched; a request without an id is a notification and gets no answer; a Content-Type
    other than application/json gets HTTP 415.

The fake's own wordings: "Maximum of 20 addresses are allowed" (balancemulti), "Maximum of 5
contract addresses are allowed" (getcontractcreation), "Error! Invalid <param>" for a
non-numeric page, offset, startblock or endblock. Chain 11155111 is an empty chain with head
block 8000000 unless the fixture is that chain. Without history, a JSON-RPC block tag or
number up to the head gets today's values.

Faults (--fail MODE[:COUNT], or POST /_fake/fail): an Etherscan call takes one of the first
queued non-rpc500 entry, a POST /rpc one of the first rpc500 entry. html502: 502 with a
proxy's HTML page; truncated: the normal answer cut in half (Content-Length matching);
malformed: broken JSON with bytes that are not UTF-8; slow: the normal answer after
--delay-seconds; ratelimit, daily, chain: those 200 NOTOK answers; reset: the connection is
closed (RST) unanswered; rpc500: HTTP 500, text body. Faults come before the key check, the
rate limiter (more than --rate-limit-per-second answered calls in a rolling second) after it.
/_fake/state counts /v2/api requests (etherscan_calls), POST /rpc (rpc_calls, rpc_batches of
them batches, rpc_requests the request objects) and limiter refusals (rate_limited; injected
faults are counted in failures_injected).
"""

import argparse
import bisect
import collections
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # so that importing fake_http leaves no __pycache__ here
import fake_http  # noqa: E402

SEPOLIA, SEPOLIA_HEAD = 11155111, 8000000
WINDOW = 10000
DEFAULT_END_BLOCK = 99999999
FAIL_MODES = ("html502", "truncated", "malformed", "slow", "ratelimit", "daily", "chain",
              "reset", "rpc500")
NO_KEY = "Missing/Invalid API Key"
BAD_KEY = "Invalid API Key (#err2)|"
RATE_LIMIT = "Max calls per sec rate limit reached ({}/sec)"
DAILY = "Max daily rate limit reached. 110000 (100%) of 100000 day limit"
BAD_CHAIN = ("Missing or unsupported chainid parameter (required for v2 api), please see "
             "https://api.etherscan.io/v2/chainlist for the list of supported chainids")
TOO_LARGE = ("Result window is too large, PageNo x Offset size must be less than or equal to "
             "10000")
BAD_ADDRESS = "Error! Invalid address format"
NOT_VERIFIED = "Contract source code not verified"
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
            b"502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n"
            b"</html>\r\n")
MALFORMED = b'{"status":"1","message":"OK","result":[{"hash":\xff\xfe<garbage \x00}]'
JSON_TYPE = "application/json; charset=utf-8"
ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
LIST_KINDS = {"txlist": "txs", "txlistinternal": "internal", "tokentx": "tokentx"}
SOURCE_DEFAULTS = {"SourceCode": "", "ABI": "[]", "ContractName": "", "CompilerVersion": "",
                   "OptimizationUsed": "0", "Runs": "200", "ConstructorArguments": "",
                   "EVMVersion": "Default", "Library": "", "LicenseType": "None", "Proxy": "0",
                   "Implementation": "", "SwarmSource": ""}
UNVERIFIED = dict(SOURCE_DEFAULTS, ABI=NOT_VERIFIED, OptimizationUsed="", Runs="",
                  LicenseType="Unknown")
BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")


def ok(result):
    return {"status": "1", "message": "OK", "result": result}


def notok(text):
    return {"status": "0", "message": "NOTOK", "result": text}


def json_response(status, obj):
    return status, JSON_TYPE, json.dumps(obj, separators=(",", ":")).encode()


class RpcError(Exception):
    """A JSON-RPC error object {code, message}."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class QueryError(Exception):
    """Raised by Etherscan endpoint code to answer with a NOTOK envelope."""


def load_fixture(path):
    """The fixture with lowercase account keys and each list presorted by blockNumber."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    accounts = {}
    for address, account in (raw.get("accounts") or {}).items():
        account = dict(account)
        for kind in LIST_KINDS.values():  # sorted() is stable: fixture order within a block
            account[kind] = sorted(account.get(kind) or [], key=lambda r: int(r["blockNumber"]))
            account[kind + "_blocks"] = [int(r["blockNumber"]) for r in account[kind]]
        accounts[address.lower()] = account
    return {"chain_id": int(raw.get("chain_id", 1)), "head_block": int(raw["head_block"]),
            "accounts": accounts}


def parse_address(value, index):
    """A lowercase address from JSON-RPC argument `index`, with geth's complaints."""
    text, go = str(value), "into Go value of type common.Address"
    for bad, why in ((not isinstance(value, str), f"cannot unmarshal non-string {go}"),
                     (text[:2].lower() != "0x", f"cannot unmarshal hex string without 0x prefix "
                                                 f"{go}"),
                     (not re.fullmatch(r"[0-9a-fA-F]*", text[2:]),
                      f"cannot unmarshal invalid hex string {go}")):
        if bad:
            raise RpcError(-32602, f"invalid argument {index}: json: {why}")
    if len(text) != 42:
        raise RpcError(-32602, f"invalid argument {index}: hex string has length "
                       f"{len(text) - 2}, want 40 for common.Address")
    return text.lower()


class FakeChain:
    """The fake's state and endpoints; every access to the counters holds self.lock."""

    def __init__(self, args, fixture):
        self.args = args
        self.fixture = fixture
        self.lock = threading.Lock()
        self.failures = [[mode, count] for mode, count in args.fail]
        self.recent = collections.deque()  # monotonic times of calls past the limiter
        self.etherscan_calls = self.rate_limited = 0
        self.rpc_calls = self.rpc_batches = self.rpc_requests = 0
        self.calls_by_action = collections.Counter()
        self.rpc_methods = collections.Counter()
        self.injected = collections.Counter()
        self.log = fake_http.RequestLog(args.log)

    def take_failure(self, rpc):
        """The mode of the first queued fault for this kind of call, consuming one of it."""
        for entry in self.failures:
            if (entry[0] == "rpc500") == rpc:
                entry[1] -= 1
                if entry[1] <= 0:
                    self.failures.remove(entry)
                self.injected[entry[0]] += 1
                return entry[0]
        return None

    # ---- dispatch ------------------------------------------------------------------------

    def dispatch(self, req):
        """Answers one request: (status, content type, body); status None drops the line."""
        method, path = req["method"], req["path"]
        routes = {"/v2/api": ("GET", self.etherscan), "/rpc": ("POST", self.rpc),
                  "/_fake/state": ("GET", self.state), "/_fake/fail": ("POST", self.queue)}
        if path not in routes:
            return 404, "text/plain", b"404 page not found\n"
        if method != routes[path][0]:
            return 405, "text/plain", b"method not allowed\n"
        return routes[path][1](req)

    def failures_left(self):
        return [{"mode": mode, "count": count} for mode, count in self.failures]

    def state(self, req):
        with self.lock:
            return json_response(200, {
                "etherscan_calls": self.etherscan_calls, "rate_limited": self.rate_limited,
                "rpc_calls": self.rpc_calls, "rpc_batches": self.rpc_batches,
                "rpc_requests": self.rpc_requests, "calls_by_action": self.calls_by_action,
                "rpc_methods": self.rpc_methods, "failures_injected": self.injected,
                "failures_left": self.failures_left()})

    def queue(self, req):
        query = {key: values[0] for key, values in req["query"].items()}
        mode, count = query.get("mode"), query.get("count", "1")
        if mode not in FAIL_MODES or not re.fullmatch(r"[1-9]\d*", count):
            return json_response(400, {"error": f"mode must be one of {', '.join(FAIL_MODES)} "
                                       "and count a positive integer"})
        with self.lock:
            self.failures.append([mode, int(count)])
            return json_response(200, {"failures_left": self.failures_left()})

    # ---- Etherscan -----------------------------------------------------------------------

    def etherscan(self, req):
        query = {key: values[0] for key, values in req["query"].items()}
        req["label"] = query.get("action", "")
        with self.lock:
            self.etherscan_calls += 1
            self.calls_by_action[req["label"]] += 1
            fault = req["fault"] = self.take_failure(rpc=False)
        canned = {"ratelimit": json_response(200, notok(RATE_LIMIT.format(
                      self.args.rate_limit_per_second or 5))),
                  "daily": json_response(200, notok(DAILY)),
                  "chain": json_response(200, notok(BAD_CHAIN)),
                  "html502": (502, "text/html", HTML_502), "malformed": (200, JSON_TYPE, MALFORMED),
                  "reset": (None, None, b"")}
        if fault in canned:
            return canned[fault]
        if fault == "slow":
            time.sleep(self.args.delay_seconds)  # outside the lock: other calls go on
        with self.lock:
            try:
                answer = self.etherscan_answer(query)
            except QueryError as error:
                answer = notok(str(error))
            except RpcError as error:  # an argument of a proxy call
                answer = {"jsonrpc": "2.0", "id": 1,
                          "error": {"code": error.code, "message": error.message}}
        status, content_type, body = json_response(200, answer)
        if fault == "truncated":
            body = body[:len(body) // 2]
        return status, content_type, body

    def etherscan_answer(self, query):
        if not query.get("apikey"):
            return notok(NO_KEY)
        if query["apikey"] != self.args.api_key:
            return notok(BAD_KEY)
        limit = self.args.rate_limit_per_second
        if limit > 0:
            now = time.monotonic()
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= limit:
                self.rate_limited += 1
                return notok(RATE_LIMIT.format(limit))
            self.recent.append(now)
        chain = query.get("chainid", "")
        if chain.isdigit() and int(chain) == self.fixture["chain_id"]:
            accounts, head = self.fixture["accounts"], self.fixture["head_block"]
        elif chain.isdigit() and int(chain) == SEPOLIA:
            accounts, head = {}, SEPOLIA_HEAD
        else:
            return notok(BAD_CHAIN)
        module, action = query.get("module", ""), query.get("action", "")
        handlers = {
            "account": {"balance": self.balance, "balancemulti": self.balance,
                        "txlist": self.records, "txlistinternal": self.records,
                        "tokentx": self.records},
            "contract": {"getsourcecode": self.sourcecode,
                         "getcontractcreation": self.creation},
            "proxy": {"eth_blockNumber": self.proxy, "eth_getCode": self.proxy,
                      "eth_getTransactionCount": self.proxy},
        }
        if module not in handlers:
            return notok("Error! Missing Or invalid Module name")
        if action not in handlers[module]:
            return notok("Error! Missing Or invalid Action name")
        return handlers[module][action](query, accounts, head)

    @staticmethod
    def address_list(text, maximum, too_many):
        addresses = [a.strip() for a in text.split(",") if a.strip()]
        if len(addresses) > maximum:
            raise QueryError(too_many)
        if not addresses or not all(ADDRESS_RE.fullmatch(a) for a in addresses):
            raise QueryError(BAD_ADDRESS)
        return addresses

    @staticmethod
    def integer(query, name, default):
        value = query.get(name, "")
        if value == "":
            return default
        if not value.isdigit():
            raise QueryError(f"Error! Invalid {name}")
        return int(value)

    def balance(self, query, accounts, head):  # balance and balancemulti
        multi = query["action"] == "balancemulti"
        addresses = self.address_list(query.get("address", ""), 20 if multi else 1,
                                      "Maximum of 20 addresses are allowed" if multi
                                      else BAD_ADDRESS)
        balances = [{"account": a, "balance": str(accounts.get(a.lower(), {})
                                                  .get("balance_wei", "0"))} for a in addresses]
        return ok(balances if multi else balances[0]["balance"])

    def records(self, query, accounts, head):
        address = self.address_list(query.get("address", ""), 1, BAD_ADDRESS)[0].lower()
        start = self.integer(query, "startblock", 0)
        end = (head if query.get("endblock") == "latest"
               else self.integer(query, "endblock", DEFAULT_END_BLOCK))
        page = max(1, self.integer(query, "page", 1))
        offset = self.integer(query, "offset", WINDOW) or WINDOW
        if page * offset > WINDOW:
            return notok(TOO_LARGE)
        kind = LIST_KINDS[query["action"]]
        account = accounts.get(address, {})
        blocks, records = account.get(kind + "_blocks", []), account.get(kind, [])
        selected = records[bisect.bisect_left(blocks, start):bisect.bisect_right(blocks, end)]
        token = query.get("contractaddress", "").lower()
        if kind == "tokentx" and token:
            selected = [r for r in selected if str(r.get("contractAddress", "")).lower() == token]
        if query.get("sort", "asc").lower() == "desc":
            selected = selected[::-1]
        size = min(offset, self.args.max_records)  # the cap also sets where pages start
        selected = selected[(page - 1) * size:page * size]
        if not selected:
            return {"status": "0", "message": "No transactions found", "result": []}
        return ok(selected)

    def sourcecode(self, query, accounts, head):
        address = self.address_list(query.get("address", ""), 1, BAD_ADDRESS)[0]
        source = accounts.get(address.lower(), {}).get("source")
        if not source:
            return ok([dict(UNVERIFIED)])
        return ok([{key: str(source.get(key, default))
                                     for key, default in SOURCE_DEFAULTS.items()}])

    def creation(self, query, accounts, head):
        addresses = self.address_list(query.get("contractaddresses", ""), 5,
                                      "Maximum of 5 contract addresses are allowed")
        found = []
        for address in addresses:
            account = accounts.get(address.lower(), {})
            record = account.get("creation")
            if not record:
                continue
            tx = next((t for t in account.get("txs", []) if t.get("hash") == record["txHash"]),
                      {})
            found.append({"contractAddress": address.lower(),
                          "contractCreator": record["contractCreator"],
                          "txHash": record["txHash"],
                          "blockNumber": str(record.get("blockNumber",
                                                        tx.get("blockNumber", ""))),
                          "timestamp": str(record.get("timestamp", tx.get("timeStamp", "")))})
        if not found:
            return {"status": "0", "message": "No data found", "result": None}
        return ok(found)

    def proxy(self, query, accounts, head):
        action = query["action"]
        if action == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": 83, "result": hex(head)}
        account = accounts.get(parse_address(query.get("address"), 0), {})
        result = (account.get("code") or "0x" if action == "eth_getCode"
                  else hex(int(account.get("nonce", 0))))
        return {"jsonrpc": "2.0", "id": 1, "result": result}

    # ---- JSON-RPC ------------------------------------------------------------------------

    def rpc(self, req):
        with self.lock:
            self.rpc_calls += 1
            fault = req["fault"] = self.take_failure(rpc=True)
        if fault:
            return 500, "text/plain", b"500 Internal Server Error\n"
        media = req["headers"].get("Content-Type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return (415, "text/plain",
                    b"invalid content type, only application/json is supported\n")
        try:
            body = json.loads(req["body"])
        except ValueError:
            req["label"] = "parse-error"
            return json_response(200, {"jsonrpc": "2.0", "id": None,
                                       "error": {"code": -32700, "message": "parse error"}})
        if not isinstance(body, list):
            answer = self.rpc_one(body)
            req["label"] = body.get("method") if isinstance(body, dict) else "invalid"
            return (200, JSON_TYPE, b"") if answer is None else json_response(200, answer)
        with self.lock:
            self.rpc_batches += 1
        req["label"] = "batch[" + ",".join(
            str(m.get("method")) if isinstance(m, dict) else "invalid" for m in body) + "]"
        if not body:
            return json_response(200, {"jsonrpc": "2.0", "id": None,
                                       "error": {"code": -32600, "message": "empty batch"}})
        answers = [a for a in (self.rpc_one(m) for m in body) if a is not None]
        return (200, JSON_TYPE, b"") if not answers else json_response(200, answers[::-1])

    def rpc_one(self, msg):
        """The answer to one request object, or None for a notification."""
        with self.lock:
            self.rpc_requests += 1
            if isinstance(msg, dict) and isinstance(msg.get("method"), str):
                self.rpc_methods[msg["method"]] += 1
        if (not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0"
                or not isinstance(msg.get("method"), str)
                or not isinstance(msg.get("id", 0), (int, str, type(None)))):
            ident = msg.get("id") if isinstance(msg, dict) else None
            return {"jsonrpc": "2.0", "id": ident if isinstance(ident, (int, str)) else None,
                    "error": {"code": -32600, "message": "invalid request"}}
        try:
            result = self.rpc_method(msg["method"], msg.get("params"))
        except RpcError as error:
            answer = {"jsonrpc": "2.0", "id": msg.get("id"),
                      "error": {"code": error.code, "message": error.message}}
        else:
            answer = {"jsonrpc": "2.0", "id": msg.get("id"), "result": result}
        return answer if "id" in msg else None

    def rpc_method(self, method, params):
        arity = {"eth_getBalance": 2, "eth_getCode": 2, "eth_getTransactionCount": 2,
                 "eth_blockNumber": 0, "eth_chainId": 0}
        if method not in arity:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        params = [] if params is None else params
        if not isinstance(params, list):
            raise RpcError(-32602, "non-array args")
        if len(params) > arity[method]:
            raise RpcError(-32602, f"too many arguments, want at most {arity[method]}")
        if len(params) < arity[method]:
            raise RpcError(-32602, f"missing value for required argument {len(params)}")
        head = self.fixture["head_block"]
        if method == "eth_blockNumber":
            return hex(head)
        if method == "eth_chainId":
            return hex(self.fixture["chain_id"])
        address = parse_address(params[0], 0)
        block = params[1]
        if isinstance(block, str) and block not in BLOCK_TAGS:
            why = ("hex string without 0x prefix" if not block.startswith("0x") else
                   "hex number with leading zero digits" if re.fullmatch(r"0x0[0-9a-fA-F]+", block)
                   else None if re.fullmatch(r"0x[0-9a-fA-F]+", block) else "invalid hex string")
            if why:
                raise RpcError(-32602, f"invalid argument 1: {why}")
            if int(block, 16) > head:
                raise RpcError(-32000, "header not found")
        elif not isinstance(block, (str, dict)):
            raise RpcError(-32602, "invalid argument 1: json: cannot unmarshal non-string "
                           "into Go value of type rpc.BlockNumberOrHash")
        account = self.fixture["accounts"].get(address, {})
        if method == "eth_getBalance":
            return hex(int(account.get("balance_wei", 0)))
        if method == "eth_getCode":
            return account.get("code") or "0x"
        return hex(int(account.get("nonce", 0)))


class Handler(fake_http.Handler):
    """fake_http's front end with text error bodies, no Transfer-Encoding, the Etherscan
    action or JSON-RPC method and the injected fault in the log and on stderr, and the
    "reset" fault (status None): the connection closed with RST, unanswered."""

    server_version = "fake-chain/1.0"
    fake = None  # the FakeChain, set by main()
    request_fields = {"fault": None, "label": ""}  # set by the FakeChain endpoints

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):  # the project's client sends Content-Length
            raise ValueError("Transfer-Encoding is not supported")
        return super().read_body()

    def framing_error(self):
        return 400, "text/plain", b"a body needs a Content-Length\n"

    def internal_error(self, error):
        return 500, "text/plain", f"fake_chain internal error: {error!r}\n".encode()

    def summary(self, req, status):
        fault = f" fault={req['fault']}" if req["fault"] else ""
        return (f"fake_chain: {self.command} {req['path']} {req['label']} "
                f"{status if status else 'reset'}{fault}")

    def log_fields(self, req):
        return {"fault": req["fault"]}

    def send_answer(self, status, content_type, payload, headers):
        if status is None:  # close with RST and no answer
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()  # the last reference but ours: the close below is the real one
            self.connection.close()
            return
        super().send_answer(status, content_type, payload, headers)


# ---- fixture generator -------------------------------------------------------------------

def make_fixture(path, n_accounts, txs_per_account):
    """Writes a deterministic synthetic fixture: `n_accounts` plain EOAs with about
    `txs_per_account` txs each (counterparties outside the fixture), a verified contract
    (FakeToken, also the token of every tokentx) with a creation record, an EIP-7702 EOA
    delegated to it, and a busy EOA with 2,500 txs over ~160,000 blocks, often several per
    block, txs 1000 and 2000 (0-based) sharing the block of the one before. A "roles" key
    names them; the server ignores it."""
    rng = random.Random(20000000)
    head, chain_id = 20000000, 1

    def address(size=20):  # size 32: a hash
        return "0x" + rng.getrandbits(8 * size).to_bytes(size, "big").hex()

    def tx(block, sender, to, value, data="0x", created="", gas=21000):
        return {"hash": address(32), "blockNumber": str(block),
                "timeStamp": str(1717200000 - (head - block) * 12), "from": sender, "to": to,
                "value": str(value), "gas": str(gas),
                "gasPrice": str(rng.randint(2, 80) * 10 ** 9),
                "gasUsed": str(gas if data == "0x" else gas * 3 // 4),
                "isError": "1" if rng.random() < 0.03 else "0", "input": data,
                "contractAddress": created}

    def account(owner, txs, code="0x", internal=(), tokentx=()):
        lists = {kind: sorted(records, key=lambda r: int(r["blockNumber"]))
                 for kind, records in (("txs", txs), ("internal", internal), ("tokentx", tokentx))}
        return {"balance_wei": str(rng.randint(0, 50 * 10 ** 18)), "code": code,
                "nonce": sum(1 for t in txs if t["from"] == owner), **lists}

    def random_tx(me, block=None):
        other = address()
        sender, to = (me, other) if rng.random() < 0.5 else (other, me)
        return tx(block or rng.randint(head - 500000, head), sender, to,
                  rng.randint(0, 5 * 10 ** 18))

    contract = address()
    eoas = [address() for _ in range(n_accounts)]
    creator = eoas[0]
    create_block = head - 400000
    creation_tx = tx(create_block, creator, "", 0, "0x60806040" + "00" * 32, contract, 1500000)
    accounts, contract_internal = {}, []
    transfer = "0xa9059cbb" + "00" * 64
    for me in eoas:
        txs = [random_tx(me) for _ in range(txs_per_account)]
        if me == creator:
            txs.append(creation_tx)
        internal = [dict(tx(rng.randint(create_block + 1, head), contract, me,
                            rng.randint(1, 10 ** 17), "", "", 2300), gasPrice="0", input="")
                    for _ in range(txs_per_account // 5)]
        contract_internal += internal
        tokentx = [{key: base[key] for key in ("hash", "blockNumber", "timeStamp", "from", "to",
                                               "value")}
                   for base in (random_tx(me, rng.randint(create_block + 1, head))
                                for _ in range(txs_per_account // 4))]
        for record in tokentx:
            record.update(contractAddress=contract, tokenName="Fake Token", tokenSymbol="FAKE",
                          tokenDecimal="18")
        accounts[me] = account(me, txs, internal=internal, tokentx=tokentx)
    calls = [tx(rng.randint(create_block + 1, head), rng.choice(eoas), contract, 0, transfer,
                gas=65000) for _ in range(txs_per_account)]
    accounts[contract] = account(contract, [creation_tx] + calls,
                                 code="0x6080604052" + address(120)[2:],
                                 internal=contract_internal)
    accounts[contract]["nonce"] = 1
    accounts[contract]["source"] = {
        "SourceCode": "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n\n"
                      "contract FakeToken {\n    mapping(address => uint256) public balanceOf;"
                      "\n}\n",
        "ABI": '[{"type":"function","name":"balanceOf","stateMutability":"view","inputs":'
               '[{"type":"address"}],"outputs":[{"type":"uint256"}]}]',
        "ContractName": "FakeToken", "CompilerVersion": "v0.8.24+commit.e11b9ed9",
        "OptimizationUsed": "1", "Runs": "200", "LicenseType": "MIT", "Proxy": "0",
        "Implementation": ""}
    accounts[contract]["creation"] = {
        "contractCreator": creator, "txHash": creation_tx["hash"],
        "blockNumber": creation_tx["blockNumber"], "timestamp": creation_tx["timeStamp"]}
    delegated = address()
    accounts[delegated] = account(delegated, [random_tx(delegated)
                                              for _ in range(txs_per_account)],
                                  code="0xef0100" + contract[2:])
    busy = address()
    block, busy_txs = head - 1500000, []
    for index in range(2500):
        if index not in (1000, 2000):
            block += rng.choice((0, 0, 1, 1, 1, 2, 3, 8, 40, 600))
        busy_txs.append(random_tx(busy, block))
    accounts[busy] = account(busy, busy_txs)
    fixture = {"chain_id": chain_id, "head_block": head,
               "roles": {"eoas": eoas, "contract": contract, "creator": creator,
                         "delegated": delegated, "busy": busy},
               "accounts": accounts}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(fixture, out, indent=1)
        out.write("\n")
    os.replace(tmp, path)


def parse_fail(text):
    mode, _, count = text.partition(":")
    if mode not in FAIL_MODES or not re.fullmatch(r"[1-9]\d*", count or "1"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: want MODE[:COUNT], MODE one of {', '.join(FAIL_MODES)}")
    return mode, int(count or 1)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", help="where to write the bound port")
    parser.add_argument("--fixture", help="the chain, a JSON file")
    parser.add_argument("--api-key", default="fake-etherscan-key", help="the accepted apikey")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--rate-limit-per-second", type=int, default=0,
                        help="Etherscan calls per rolling second (0: no limit)")
    parser.add_argument("--fail", type=parse_fail, action="append", default=[],
                        metavar="MODE[:COUNT]", help="queue a fault; repeatable")
    parser.add_argument("--delay-seconds", type=float, default=5.0, help="delay of 'slow'")
    parser.add_argument("--max-records", type=int, default=1000,
                        help="most records one list call returns")
    parser.add_argument("--make-fixture", metavar="OUT", help="write a synthetic fixture, exit")
    parser.add_argument("--accounts", type=int, default=5, help="plain EOAs of --make-fixture")
    parser.add_argument("--txs-per-account", type=int, default=20, help="for --make-fixture")
    args = parser.parse_args(argv)
    if args.make_fixture:
        if args.accounts < 1 or args.txs_per_account < 0:
            parser.error("--accounts must be >= 1 and --txs-per-account >= 0")
    elif not args.port_file or not args.fixture:
        parser.error("--port-file and --fixture are required (or --make-fixture)")
    if args.max_records < 1 or args.rate_limit_per_second < 0 or args.delay_seconds < 0:
        parser.error("--max-records must be >= 1, --rate-limit-per-second and "
                     "--delay-seconds >= 0")
    return args


def main(argv):
    args = parse_args(argv)
    if args.make_fixture:
        make_fixture(args.make_fixture, args.accounts, args.txs_per_account)
        return 0
    fake = FakeChain(args, load_fixture(args.fixture))
    Handler.fake = fake
    fake_http.serve(Handler, args.port_file)
    fake.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
