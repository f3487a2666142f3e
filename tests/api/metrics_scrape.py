"""Scraping ``GET /hmi/v1/metrics`` in the API tests, with prometheus-client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Samples", "at", "scrape"]

#: Each sample's value by (name, labels).
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """GET /metrics (Prometheus text format 0.0.4) and parse every sample."""
    response = await client.get("/hmi/v1/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def at(samples: Samples, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with exactly ``labels``."""
    return samples[(name, frozenset(labels.items()))]
