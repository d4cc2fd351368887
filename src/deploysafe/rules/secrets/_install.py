"""Whether a rendered node's value is made when a Helm chart is installed, not committed."""

from __future__ import annotations

from deploysafe.model import Document, KeyPath


def install_time(doc: Document, path: KeyPath) -> bool:
    """A chart's own template generates or looks up the value at `path` (`randAlphaNum`,
    `lookup`): the repository holds the recipe, not the secret. Seen in the template's
    line, or in the output (two renders drew different values there)."""
    if path in doc.generated:
        return True
    if doc.helm_values is None or path not in doc.positions:
        return False
    # Only a rendered chart's documents get here: a scan without charts need not import it.
    from deploysafe.secrets.install import made_at_install

    return made_at_install(doc.lines, doc.positions[path][0])
