"""Checks return where (a path, and an offset inside the value there); the engine turns it
into line and column."""

from __future__ import annotations

from deploysafe.ci import yamlci
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Target


def test_a_whole_file_text_document_is_one_value() -> None:
    doc = Document("notes.txt", {}, {}, ["ab", "", "cdef"], type=Target.TEXT)
    assert doc.locate_in((), 0) == (1, 1)
    assert doc.locate_in((), 2) == (1, 3)  # the end of the first line
    assert doc.locate_in((), 3) == (2, 1)
    assert doc.locate_in(("build-arg-flag", "TOKEN", 0), 6) == (3, 3)  # the path only names


def test_a_ci_offset_counts_in_the_scalar_as_written() -> None:
    text = "run: |\n  echo one\n  echo two || true\nx: 'quoted'\ny: [1]\n"
    loaded = yamlci.load(text)
    assert isinstance(loaded, yamlci.Loaded)
    doc = CiDocument(
        "f.yml", loaded.data, loaded.positions, text.splitlines(), text=text, scalars=loaded.scalars
    )
    value = loaded.data["run"]
    offset = doc.source_offset(("run",), value, value.index("||"))
    assert doc.locate_in(("run",), offset) == (3, 12)
    assert doc.locate_in(("x",), 0) == (4, 5)  # inside the quotes
    assert doc.locate_in(("y",), 0) == (5, 1)  # not a scalar: where its key is
