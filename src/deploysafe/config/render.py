"""The `render` section: per-chart and per-overlay settings for `deploysafe scan`.

    render:
      charts:
        charts/shop: {values: [charts/shop/values-prod.yaml], namespace: shop, release: shop}
      kustomize:
        deploy/overlays/prod: {namespace: shop-prod}

Keys and values files are paths relative to the policy file's folder, and must stay inside
it once symlinks are followed (`contained`): what is rendered is what the repository holds.
Whether a values file exists is decided when the chart renders: a missing one is an input
error of that chart (naming this file and line), not a reason to refuse the whole policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploysafe.frozen import record
from deploysafe.model import KeyPath

if TYPE_CHECKING:
    from deploysafe.config.reader import Reader

_KEYS = frozenset({"charts", "kustomize"})
_CHART_KEYS = frozenset({"values", "set", "namespace", "release"})
_KUSTOMIZE_KEYS = frozenset({"namespace"})


@record
class Where:
    """A place in the policy file, for messages about a setting found wrong later."""

    file: str
    line: int
    key: str  # dotted, e.g. render.charts.charts/shop.values.0


@record
class ValuesFile:
    """A Helm values file the policy names for a chart, resolved, and where it is named."""

    path: Path  # resolved
    where: Where


@record
class ChartSettings:
    """How the policy file renders one chart: values files, `--set` values, namespace and
    release name."""

    values: tuple[ValuesFile, ...] = ()
    set_values: tuple[str, ...] = ()
    namespace: str | None = None
    release: str | None = None


@record
class KustomizeSettings:
    """How the policy file builds one kustomization: its namespace."""

    namespace: str | None = None


@record
class RenderSettings:
    """The `render:` section: settings per chart and per kustomization."""

    # Keyed by the resolved folder of the chart or kustomization.
    charts: Mapping[Path, ChartSettings] = field(default_factory=dict)
    kustomize: Mapping[Path, KustomizeSettings] = field(default_factory=dict)
    where: Mapping[Path, Where] = field(default_factory=dict)  # each key's place


DEFAULT = RenderSettings()


def parse(r: Reader, raw: Any, base: Path) -> RenderSettings:
    top = r.mapping(raw, ("render",), _KEYS)
    charts: dict[Path, ChartSettings] = {}
    kustomize: dict[Path, KustomizeSettings] = {}
    where: dict[Path, Where] = {}
    for name, value in r.mapping(top.get("charts"), ("render", "charts")).items():
        p: KeyPath = ("render", "charts", str(name))
        with r.item():
            folder = contained(r, name, p, base)
            c = r.mapping(value, p, _CHART_KEYS)
            values = tuple(
                ValuesFile(contained(r, v, (*p, "values", i), base), _where(r, (*p, "values", i)))
                for i, v in enumerate(r.strings(c.get("values"), (*p, "values")))
            )
            charts[folder] = ChartSettings(
                values=values,
                set_values=r.strings(c.get("set"), (*p, "set")),
                namespace=_optional(r, c, "namespace", p),
                release=_optional(r, c, "release", p),
            )
            where[folder] = _where(r, p)
    for name, value in r.mapping(top.get("kustomize"), ("render", "kustomize")).items():
        p = ("render", "kustomize", str(name))
        with r.item():
            folder = contained(r, name, p, base)
            k = r.mapping(value, p, _KUSTOMIZE_KEYS)
            kustomize[folder] = KustomizeSettings(namespace=_optional(r, k, "namespace", p))
            where[folder] = _where(r, p)
    return RenderSettings(charts, kustomize, where)


def contained(r: Reader, value: Any, p: KeyPath, base: Path) -> Path:
    """A render input's path, relative to `base` (the policy file's folder, or the checkout
    a CD host's policy judges), that stays inside it after symlinks: a chart, values file or
    overlay from outside the repository would be rendered into a release that claims to be
    one verified commit."""
    path = (base / r.string(value, p)).resolve()
    if not path.is_relative_to(base.resolve()):
        raise r.fail(
            p,
            "points outside the repository (the policy file's folder, or the checkout for a"
            " policy kept outside it), after symlinks are followed: every render input must"
            " be in the commit that is checked and released; move it into the repository",
        )
    return path


def _optional(r: Reader, raw: Mapping[str, Any], key: str, p: KeyPath) -> str | None:
    return r.string(raw[key], (*p, key)) if key in raw else None


def _where(r: Reader, path: KeyPath) -> Where:
    return Where(r.file, r.line(path), ".".join(str(x) for x in path))
