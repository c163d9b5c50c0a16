"""page_content_change: mediawiki.page_change.v1 -> mediawiki.page_content_change.v1. This file is yours.

`process` gets one validated source event and returns the sink event; evgen sets
`$schema` and `meta` of outputs and sends every failure to the error stream.
`evgen regen` never touches this file.
"""

from __future__ import annotations

from evgen import Stream

from .models import PageChange, PageContentChange


def process(event: PageChange) -> PageContentChange:
    """Carry over every field the two schemas share (edit me)."""
    return PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))


def pipeline(stream: Stream) -> Stream:
    """The job's dataflow: every source event through `process` to the sink."""
    return stream.process(process)
