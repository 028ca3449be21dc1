"""Example handlers for the job types of the product description, run by
`gopherctl dev`: `gopher-worker gopher_worker.examples:registry`."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from gopher_worker import Job, PermanentError, Registry

log = logging.getLogger("gopher.examples")
registry = Registry()


@registry.handler("email")
async def send_email(job: Job) -> dict[str, Any]:
    """Pretend to send an email; a missing recipient can never succeed."""
    to = job.payload.get("to")
    if not to or "@" not in str(to):
        raise PermanentError(f"payload.to must be an email address, got {to!r}")
    await asyncio.sleep(0.05)
    log.info("sent %r to %s", job.payload.get("subject", ""), to)
    return {"delivered_to": to}


def resize_image(job: Job) -> dict[str, Any]:
    """CPU-bound work runs as a sync handler, in the worker's thread pool."""
    width, height = int(job.payload.get("width", 128)), int(job.payload.get("height", 128))
    digest = hashlib.sha256(f"{job.payload.get('url', '')}:{width}x{height}".encode()).hexdigest()
    return {"thumbnail": f"thumb-{digest[:12]}.png", "width": width, "height": height}


registry.register_handler("image_resize", resize_image, timeout_s=30)


@registry.handler("report_generation", timeout_s=120)
async def generate_report(job: Job) -> dict[str, Any]:
    """A slower job: lease extension keeps it owned while it runs."""
    rows = int(job.payload.get("rows", 1000))
    await asyncio.sleep(min(rows / 10_000, 5))
    return {"report": f"report-{job.id[:8]}.csv", "rows": rows}
