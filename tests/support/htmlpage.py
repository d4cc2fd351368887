"""An HTML page read back with the standard library's parser, for tests of the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset({"meta", "input", "br", "img", "link", "hr", "source", "area", "base"})


@dataclass(frozen=True, slots=True)
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None
    parts: list[str] = field(default_factory=list)  # its text, its children's included

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def shown(self) -> bool:
        """Not hidden, nor inside a hidden element."""
        e: Element | None = self
        while e is not None:
            if "hidden" in e.attrs:
                return False
            e = e.parent
        return True


class Page(HTMLParser):
    """Every element of a page, with its attributes, its text and its parent."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.all: list[Element] = []
        self.stack: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        e = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1] if self.stack else None)
        self.all.append(e)
        if tag not in _VOID:
            self.stack.append(e)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for e in self.stack:
            e.parts.append(data)

    @property
    def elements(self) -> list[tuple[str, dict[str, str]]]:
        return [(e.tag, e.attrs) for e in self.all]

    @property
    def text(self) -> dict[str, str]:
        """The text of each element with an id, by id."""
        return {e.attrs["id"]: e.text for e in self.all if "id" in e.attrs}

    @property
    def blocks(self) -> dict[str, str]:
        """The text of the <style> and <script> elements, by tag."""
        return {e.tag: e.text for e in self.all if e.tag in ("style", "script")}

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [e.attrs for e in self.all if name in e.attrs.get("class", "").split()]

    def shown(self, name: str) -> list[str]:
        """The text of each element of class `name` the page shows."""
        return [e.text for e in self.all if name in e.attrs.get("class", "").split() and e.shown]
