"""The worker's read API as faust pages: customers, agent briefs, the OpenAPI document.

Any worker of the group answers for any customer: a single ``GET`` goes to the worker
that owns the customer's partition through faust's router (``app.router.route_req``,
what ``table_route`` does); ``POST /v1/customers/briefs`` splits its ids by owner, asks
each owner for its part (marked as routed, so it answers from its own store only) and
merges the answers in the order asked. Every request for customer data is checked
first, on the worker it reached (:mod:`cxpulse.processors.worker.access`); the owner
checks the forwarded ``Authorization`` header again.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import faust
import orjson
from cxpulse.processors.worker.access import Denied, ReadAccess
from cxpulse.processors.worker.openapi import openapi_document
from faust.exceptions import SameNode
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

__all__ = ["ROUTED_HEADER", "add_read_api"]

log = logging.getLogger(__name__)

ROUTED_HEADER = "X-Cxpulse-Routed"  # a batch part sent by another worker: answer from this store only
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
Handler = Callable[[], Awaitable[Any]]


def _ident(url: Any) -> tuple[str, int]:
    url = URL(str(url))
    return (url.host if url.scheme else url.path) or "", int(url.port or 80)


def add_read_api(app: Any, runtime: Any, table: Any) -> None:
    """Register ``/customers/{id}``, the brief API and ``/openapi.json`` on ``app``."""
    settings = runtime.settings
    worker = settings.worker
    access = ReadAccess(settings.gateway.tokens, loopback_open=worker.read_without_token_from_loopback,
                        cors_origins=worker.cors_origins)
    document = openapi_document(worker)
    me = _ident(app.conf.canonical_url)

    def error(view: Any, request: Any, status: int, code: str, detail: str,
              headers: dict[str, str] | None = None) -> Any:
        return view.json({"error": code, "detail": detail}, status=status,
                         headers={**(headers or {}), **access.cors_headers(request.headers.get("Origin"))})

    def denied(view: Any, request: Any) -> Any:
        refusal: Denied | None = access.check(request.headers.get("Authorization"), request.remote)
        if refusal is None:
            return None
        return error(view, request, refusal.status, refusal.error, refusal.detail, refusal.headers)

    def with_cors(request: Any, response: Any) -> Any:
        for name, value in access.cors_headers(request.headers.get("Origin")).items():
            response.headers[name] = value
        return response

    def preflight(view: Any, request: Any, methods: str) -> Any:
        headers = access.preflight_headers(request.headers.get("Origin"), methods)
        if headers is None:
            return view.json({"error": "forbidden", "detail": "this origin may not call the read API"}, status=403)
        return view.bytes(b"", status=204, headers=headers)

    async def routed(view: Any, request: Any, customer_id: str, local: Handler) -> Any:
        """Answer on the owner of ``customer_id``'s partition (here, or forwarded there)."""
        try:
            response = await app.router.route_req(table.name, customer_id, view.web, request)
        except SameNode:
            response = await local()
        except (TimeoutError, ServiceUnavailable, KeyError, aiohttp.ClientError) as exc:
            log.info("read API: the owner of a customer's partition did not answer (%s)", type(exc).__name__)
            return error(view, request, 503, "unavailable", "the worker that owns this customer cannot be reached; "
                         "ask again")
        return with_cors(request, response)

    def not_found(view: Any, request: Any) -> Any:
        return error(view, request, 404, "not_found", "customer not found")

    @app.page("/customers/{customer_id}", name="customer")
    class Customer(faust.web.View):
        """``GET /customers/{id}``: the customer's score, band, sensitivity, tickets, recent alerts."""

        async def get(self, request: Any, customer_id: str) -> Any:
            refused = denied(self, request)
            if refused is not None:
                return refused
            if not _CUSTOMER_ID.match(customer_id):
                return not_found(self, request)

            async def local() -> Any:
                body = runtime.customer(customer_id)
                return not_found(self, request) if body is None else self.json(body)

            return await routed(self, request, customer_id, local)

    @app.page("/v1/customers/{customer_id}/brief", name="customer_brief")
    class Brief(faust.web.View):
        """``GET /v1/customers/{id}/brief``: what an agent must know about the customer."""

        async def get(self, request: Any, customer_id: str) -> Any:
            refused = denied(self, request)
            if refused is not None:
                return refused
            if not _CUSTOMER_ID.match(customer_id):
                return not_found(self, request)

            async def local() -> Any:
                body = runtime.brief(customer_id)
                return not_found(self, request) if body is None else self.json(body)

            return await routed(self, request, customer_id, local)

        async def options(self, request: Any, customer_id: str) -> Any:
            return preflight(self, request, "GET, OPTIONS")

    @app.page("/v1/customers/briefs", name="customer_briefs")
    class Briefs(faust.web.View):
        """``POST /v1/customers/briefs`` with ``{"customer_ids": [...]}``: briefs from every owner."""

        async def post(self, request: Any) -> Any:
            refused = denied(self, request)
            if refused is not None:
                return refused
            ids = _customer_ids(await request.read(), worker.brief_batch_max)
            if isinstance(ids, str):
                return error(self, request, 400, "bad_request", ids)
            if request.headers.get(ROUTED_HEADER):
                return with_cors(request, self.json({"results": [_local(runtime, cid) for cid in ids]}))
            results = await _gather(app, table, me, runtime, ids, request.headers.get("Authorization"),
                                    worker.route_timeout_seconds)
            return with_cors(request, self.json({"results": [results[cid] for cid in ids]}))

        async def options(self, request: Any) -> Any:
            return preflight(self, request, "POST, OPTIONS")

    @app.page("/openapi.json", name="openapi")
    async def openapi(web: Any, request: Any) -> Any:
        return web.json(document)


def _customer_ids(body: bytes, limit: int) -> list[str] | str:
    """The distinct customer ids of a brief request, in order, or why the body is not one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "the body is not valid JSON"
    ids = data.get("customer_ids") if isinstance(data, dict) else None
    if not isinstance(ids, list) or not ids or set(data) != {"customer_ids"}:
        return 'the body must be {"customer_ids": [...]} with at least one id'
    if len(ids) > limit:
        return f"at most {limit} customer ids per request"
    if not all(isinstance(cid, str) and _CUSTOMER_ID.match(cid) for cid in ids):
        return "customer_ids: each must be 1-64 characters of A-Za-z0-9._:-"
    return list(dict.fromkeys(ids))


def _local(runtime: Any, customer_id: str) -> dict[str, Any]:
    brief = runtime.brief(customer_id)
    if brief is None:
        return {"customer_id": customer_id, "status": "not_found"}
    return {"customer_id": customer_id, "status": "found", "brief": brief}


async def _gather(app: Any, table: Any, me: tuple[str, int], runtime: Any, ids: list[str],
                  authorization: str | None, timeout: float) -> dict[str, dict[str, Any]]:
    """Each id's result: answered here, by the worker that owns it, or ``unavailable``."""
    results: dict[str, dict[str, Any]] = {}
    owners: dict[str, list[str]] = {}
    for cid in ids:
        try:
            url = app.router.key_store(table.name, cid)
        except KeyError:  # no assignment known for its partition (a rebalance)
            results[cid] = {"customer_id": cid, "status": "unavailable"}
            continue
        if _ident(url) == me:
            results[cid] = _local(runtime, cid)
        else:
            owners.setdefault(str(url), []).append(cid)
    answers = await asyncio.gather(*(_ask(app, url, part, authorization, timeout) for url, part in owners.items()))
    for part, answer in zip(owners.values(), answers, strict=True):
        for cid in part:
            results[cid] = answer.get(cid) or {"customer_id": cid, "status": "unavailable"}
    return results


async def _ask(app: Any, url: str, ids: list[str], authorization: str | None,
               timeout: float) -> dict[str, dict[str, Any]]:
    """Ask the worker at ``url`` for its part of a batch; ``{}`` when it does not answer."""
    headers = {ROUTED_HEADER: "1", "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    target = URL(url).with_path("/v1/customers/briefs")
    try:
        async with app.http_client.post(target, data=orjson.dumps({"customer_ids": ids}), headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status != 200:
                log.info("read API: a worker answered %d to its part of a brief batch", response.status)
                return {}
            body = orjson.loads(await response.read())
    except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError) as exc:
        log.info("read API: a worker did not answer its part of a brief batch (%s)", type(exc).__name__)
        return {}
    return {item["customer_id"]: item for item in body.get("results", []) if isinstance(item, dict)}
