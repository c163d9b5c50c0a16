from typing import Any, Iterator

import pytest
from pydantic import BaseModel

from evgen.errors import ContractError
from evgen.runtime import contract


class Source(BaseModel):
    a: int


class Sink(BaseModel):
    b: int


class SinkChild(Sink):
    pass


def one(event: Source) -> Sink:
    return Sink(b=event.a)


def many(event: Source) -> Iterator[Sink]:
    yield Sink(b=event.a)


def wrong(event: Sink) -> Source:
    return Source(a=event.b)


def test_accepts_and_produces() -> None:
    contract.check_accepts(one, Source, "process(one)")
    assert contract.produced_type(one) is Sink
    assert contract.produced_type(many) is Sink
    contract.check_produces(SinkChild, Sink, "x")


def test_mismatch_names_both_types() -> None:
    with pytest.raises(ContractError, match=r"process\(wrong\): wrong takes Sink but the stream carries Source"):
        contract.check_accepts(wrong, Source, "process(wrong)")
    with pytest.raises(ContractError, match=r"the pipeline returns Source but the sink expects Sink"):
        contract.check_produces(contract.produced_type(wrong), Sink, "the pipeline")


def test_unannotated_and_callable_objects() -> None:
    contract.check_accepts(lambda e: e, Source, "filter")
    assert contract.produced_type(lambda e: e) is Any

    class Enricher:
        def __call__(self, event: Source) -> Sink:
            return Sink(b=event.a)

    contract.check_accepts(Enricher(), Source, "process")
    assert contract.produced_type(Enricher()) is Sink


def test_extra_parameters_are_reported() -> None:
    def f(event: Source, session: int, flag: bool = False) -> Sink: ...

    assert contract.extra_parameters(f) == {"session": int}
