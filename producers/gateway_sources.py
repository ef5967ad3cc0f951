"""``POST /v1/sources/{name}``: another system's webhooks, mapped to events by a source mapping.

The same bearer tokens, size limit, rate limit and body rules as ``POST /v1/events``
(the request goes through :meth:`Gateway.post_events`); only what is done with the items
differs. Each item is a record of the source system (one JSON object, or an array of
them), judged by the mapping (:mod:`cxpulse.producers.mapping`): its events are checked
against the contract and written to ``cx.events``; a record the mapping ignores is
answered ``ignored``; a record that cannot be mapped is written to the dead-letter topic
with the reason (which field, expression and rule; never a value), so that ``cxpulse dlq
resend`` can send it again once the mapping is fixed.

Answer: ``202`` with one result per record when at least one record was mapped or
ignored; ``400`` (``"error": "unmappable"``, the same per-record results) when none was,
so that the sender's delivery log shows the failure and it does not retry a record that
would fail again. ``404`` for a source the gateway does not serve (``sources.webhooks``).
"""

import logging
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from cxpulse.schemas import dead_letter, dead_letter_json

from .gateway_http import error, json_response
from .gateway_kafka import KafkaUnavailable
from .intake import Accepted
from .mapping import Events, Failed, Mapper, Skipped, judge_record, load_source

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = ["SourceRoutes", "add_source_routes", "webhook_origin"]

log = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE = 5


def webhook_origin(source: str) -> str:
    """The ``source_topic`` of a dead letter from a webhook: where it came from, as a path."""
    return f"gateway:/v1/sources/{source}"


class SourceRoutes:
    """The handler of ``POST /v1/sources/{name}`` for the mappers it was given."""

    def __init__(self, gateway: "Gateway", mappers: dict[str, Mapper]) -> None:
        self.gateway = gateway
        self.mappers = mappers

    async def post_source(self, request: web.Request) -> web.Response:
        """Authenticate, limit and decode like ``/v1/events``, then map (see the module docstring)."""
        name = request.match_info["name"]
        return await self.gateway.post_events(request, ingest=lambda items: self._ingest(name, items))

    async def _ingest(self, name: str, items: list[Any]) -> web.Response:
        mapper = self.mappers.get(name)
        if mapper is None:  # answered after authentication: unknown callers learn nothing
            return error(404, "not_found", "this gateway serves no source of that name (sources.webhooks)")
        gateway = self.gateway
        now, max_future = gateway._clock(), gateway.settings.validation.max_future_seconds
        outcomes = [judge_record(mapper, item, now, max_future) for item in items]
        fresh, duplicates = self._fresh(outcomes)
        letters = [_letter(name, item, outcome) for item, outcome in zip(items, outcomes, strict=True) if isinstance(outcome, Failed)]
        try:
            if fresh:
                await gateway.writer.write([(event.key, event.value) for event in fresh])
            if letters:
                await gateway.writer.write(letters, topic=gateway.settings.topics.dlq)
        except KafkaUnavailable as exc:
            log.warning("answering 503 to %d %s record(s): Kafka unavailable (%s)", len(items), name, exc)
            gateway.metrics.outcomes["unavailable"].inc(len(fresh))
            return error(503, "unavailable", "Kafka is unavailable: no record of this request is confirmed; "
                         "send it again later", {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})  # fmt: skip
        gateway.recent.add(event.identity for event in fresh)
        return self._answer(name, outcomes, fresh, duplicates)

    def _fresh(self, outcomes: list[Events | Skipped | Failed]) -> tuple[list[Accepted], int]:
        """The events not delivered recently nor earlier in this request, and how many were."""
        fresh: list[Accepted] = []
        seen: set[tuple[str, str]] = set()
        duplicates = 0
        for outcome in outcomes:
            if not isinstance(outcome, Events):
                continue
            for event in outcome.accepted:
                if event.identity in seen or event.identity in self.gateway.recent:
                    duplicates += 1
                else:
                    seen.add(event.identity)
                    fresh.append(event)
        return fresh, duplicates

    def _answer(self, name: str, outcomes: list[Events | Skipped | Failed], fresh: list[Accepted],
                duplicates: int) -> web.Response:  # fmt: skip
        metrics = self.gateway.metrics
        metrics.outcomes["accepted"].inc(len(fresh))
        metrics.outcomes["duplicate"].inc(duplicates)
        counts = {"mapped": 0, "ignored": 0, "unmappable": 0}
        results = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, Events):
                counts["mapped"] += 1
                results.append({"index": index, "status": "accepted", "events": len(outcome.accepted)})
            elif isinstance(outcome, Skipped):
                counts["ignored"] += 1
                results.append({"index": index, "status": "ignored"})
            else:
                counts["unmappable"] += 1
                errors = [{"field": problem.field, "reason": problem.reason} for problem in outcome.errors]
                results.append({"index": index, "status": "rejected", "errors": errors})
        for outcome_name, count in counts.items():
            if count:
                metrics.source_records.labels(name, outcome_name).inc(count)
        metrics.outcomes["rejected"].inc(counts["unmappable"])
        body = {"accepted": counts["mapped"], "ignored": counts["ignored"], "rejected": counts["unmappable"],
                "results": results}  # fmt: skip
        if counts["mapped"] or counts["ignored"]:
            return json_response(body, 202)
        detail = "no record of this request could be mapped; each is in the dead-letter topic with its reason"
        return json_response({"error": "unmappable", "detail": detail, **body}, 400)


def _letter(name: str, item: Any, outcome: Failed) -> tuple[None, bytes]:
    letter = dead_letter(outcome.reason, orjson.dumps(item), source_topic=webhook_origin(name),
                         partition=None, offset=None, key=None, source=name)  # fmt: skip
    return None, dead_letter_json(letter)


def add_source_routes(app: web.Application, gateway: "Gateway") -> None:
    """Serve ``POST /v1/sources/{name}`` for ``sources.webhooks``; a bad mapping fails here, at start."""
    settings = gateway.settings
    mappers = {name: load_source(name, settings) for name in settings.sources.webhooks}
    app.router.add_post("/v1/sources/{name}", SourceRoutes(gateway, mappers).post_source)
