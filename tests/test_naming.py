"""Names of generated modules and classes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evgen.naming import RESERVED_NAMES, model_name, module_name, pascal_case, singular, snake_case


@pytest.mark.parametrize(
    ("stream", "module", "model"),
    [
        ("mediawiki.page_change.v1", "mediawiki_page_change_v1", "PageChange"),
        ("mediawiki.page_content_change.v1", "mediawiki_page_content_change_v1", "PageContentChange"),
        ("page_content_change.error", "page_content_change_error", "Error"),
        ("rc1.mediawiki.page_content_change", "rc1_mediawiki_page_content_change", "MediawikiPageContentChange"),
        ("mediawiki.page-create", "mediawiki_page_create", "PageCreate"),
        ("single", "single", "Single"),
        ("test.v2", "test_v2", "Test"),
        ("1st.stream", "s_1st_stream", "Stream"),
    ],
)
def test_stream_names(stream: str, module: str, model: str) -> None:
    assert module_name(stream) == module
    assert model_name(stream) == model
    assert module.isidentifier() and model.isidentifier()


def test_identifiers_from_anything() -> None:
    assert pascal_case("prior_state") == "PriorState"
    assert pascal_case("1abc") == "Model1abc"
    assert pascal_case("") == "Model"
    assert pascal_case("título") == "Titulo"
    assert pascal_case("x\"\"\"\nimport os") == "XImportOs"
    assert snake_case("class") == "s_class"
    assert singular("groups") == "group" and singular("content_slots") == "content_slot" and singular("meta") == "meta"
    assert {"None", "True", "BaseModel", "Field", "list"} <= RESERVED_NAMES


def test_singular_leaves_the_public_inflect_module_unloaded() -> None:
    # inflect's typeguard instrumentation costs ~1.5 s at import; datamodel-code-generator loads a
    # private, uninstrumented copy only while `inflect` is not in sys.modules.
    code = ("import sys; from evgen.naming import singular; "
            "print(singular('content_slots'), 'inflect' in sys.modules, 'typeguard' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["content_slot", "False", "False"]
