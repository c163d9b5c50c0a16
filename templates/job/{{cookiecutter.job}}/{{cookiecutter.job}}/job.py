"""{{ cookiecutter.job }}: {{ cookiecutter.source_stream }} -> {{ cookiecutter.sink_stream }}. This file is yours.

`process` gets one validated source event and returns the sink event; evgen sets
`$schema` and `meta` of outputs and sends every failure to the error stream.
`evgen regen` never touches this file.
"""

from __future__ import annotations

from evgen import Stream

from .models import {{ [cookiecutter.source_model, cookiecutter.sink_model] | unique | sort | join(", ") }}


def process(event: {{ cookiecutter.source_model }}) -> {{ cookiecutter.sink_model }}:
{%- if cookiecutter.carry_over == "all" %}
    """Pass the event through: both streams share one schema, so one model (edit me)."""
    return event
{%- else %}
    """Carry over the top-level fields both schemas define alike (edit me)."""
{%- if cookiecutter.missing_required %}
    # TODO: the sink requires fields the source lacks or defines differently: {{ cookiecutter.missing_required }}.
{%- endif %}
    shared = event.model_dump(by_alias=True, exclude_unset=True, include={{ cookiecutter.include }})
    return {{ cookiecutter.sink_model }}.model_validate(shared)
{%- endif %}


def pipeline(stream: Stream) -> Stream:
    """The job's dataflow: every source event through `process` to the sink."""
    return stream.process(process)
