"""Commands for the cluster side: `serve` (the admission webhook), `webhook manifests`
(what installs it) and `audit` (what already runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from deploysafe import config as configmod
from deploysafe.cli.common import emit, load_config, say_lines, write_out
from deploysafe.cli.exits import Command, ExitCode, Group, for_report, soft_fail_notes
from deploysafe.cli.options import (
    NEVER,
    REPORT_FORMATS,
    config_option,
    fail_on_option,
    format_option,
    ignore_input_errors_option,
    output_option,
    show_suppressed_option,
)
from deploysafe.errors import InputError, UsageError
from deploysafe.model import Severity

if TYPE_CHECKING:
    import uvicorn

    from deploysafe.cluster.drift import DriftReport


@click.command(cls=Command)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--cert",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TLS certificate (PEM); reloaded when it changes.",
)
@click.option(
    "--key", type=click.Path(path_type=Path, dir_okay=False), help="TLS private key (PEM)."
)
@click.option(
    "--insecure-http",
    is_flag=True,
    help="Serve plain HTTP (local tests only: the API server only calls HTTPS webhooks).",
)
@config_option("in the current folder or the nearest above it in the repository")
@click.option(
    "--namespace",
    envvar="POD_NAMESPACE",
    help="The namespace the webhook runs in (always exempt) [default: $POD_NAMESPACE, "
    "else webhook.namespace, else deploysafe].",
)
@click.option(
    "--fail-open",
    is_flag=True,
    help="Allow (with a warning) when the webhook itself fails; the default denies.",
)
@click.option(
    "--mutate",
    type=click.Choice(["off", "safe", "unsafe"]),
    help="The mutating mode (POST /mutate): answer a request it would deny with the safe "
    "(or also the unsafe) fixes of its findings as a JSON patch [default: webhook.mutate, "
    "else off].",
)
@click.option(
    "--reload-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between checks of the certificate files.",
)
@click.option(
    "--client-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a client has to send a request's headers, and again its body.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes on the one port (one per core; in a cluster, scale replicas).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str,
    port: int,
    cert: Path | None,
    key: Path | None,
    insecure_http: bool,
    config_path: Path | None,
    namespace: str | None,
    fail_open: bool,
    mutate: str | None,
    reload_interval: float,
    client_timeout: float,
    workers: int,
    log_level: str,
) -> ExitCode | None:
    """Run the validating admission webhook (POST /validate; /healthz, /readyz, /metrics),
    and the mutating one (POST /mutate) when --mutate or the policy file turns it on."""
    from deploysafe.cluster.webhook.app import create_app
    from deploysafe.cluster.webhook.metrics import Metrics
    from deploysafe.cluster.webhook.policy import Mutation, from_config
    from deploysafe.cluster.webhook.server import CertReloader, log_config, make_config, run

    if insecure_http and (cert or key):
        raise UsageError("--insecure-http serves plain HTTP: drop --cert and --key, or the flag")
    if not insecure_http and (cert is None or key is None):
        raise UsageError(
            "serve needs --cert and --key (the API server only calls webhooks over HTTPS); "
            "for a local test without TLS, pass --insecure-http"
        )
    # Only `serve` needs these; every other command starts without them.
    import logging.config
    import ssl

    cfg = load_config(config_path, Path.cwd())
    chosen = Mutation(mutate) if mutate is not None else None
    policy = from_config(cfg, namespace=namespace, mutate=chosen)
    metrics = Metrics(workers)
    if cert is not None and key is not None:
        try:  # once here, so a bad pair is a usage error before any worker starts
            CertReloader(cert, key)
        except (OSError, ssl.SSLError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"cannot load --cert {cert} / --key {key}: {detail}") from None
    logging.config.dictConfig(log_config(log_level))

    def build(worker: int) -> uvicorn.Config:
        metrics.use_slot(worker)
        reloader = None
        if cert is not None and key is not None:
            reloader = CertReloader(cert, key, interval=reload_interval, metrics=metrics)
        app = create_app(
            cfg,
            policy,
            fail_open=fail_open,
            metrics=metrics,
            background=reloader.run if reloader is not None else None,
            worker=worker,
            body_timeout=client_timeout,
        )
        return make_config(
            app,
            host=host,
            port=port,
            reloader=reloader,
            log_level=log_level,
            header_timeout=client_timeout,
            limits=policy.limits,
            metrics=metrics,
        )

    try:
        stopped_on_request = run(build, host=host, port=port, workers=workers)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return None if stopped_on_request else ExitCode.SERVER_STOPPED


@click.group("webhook", cls=Group)
def webhook() -> None:
    """The admission webhook's install manifests."""


@webhook.command("manifests")
@click.option(
    "--namespace",
    "-n",
    help="Namespace to install into [default: webhook.namespace or deploysafe].",
)
@click.option("--image", help="Container image with deploysafe [default: deploysafe:VERSION].")
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(min=2))
@click.option(
    "--timeout",
    default=5,
    show_default=True,
    type=click.IntRange(1, 10),
    help="timeoutSeconds of each webhook entry.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="PEM CA that signed your serving certificate (instead of cert-manager).",
)
@config_option(
    "in the current folder or the nearest above it in the repository",
    what="Policy file shipped to the webhook",
)
@output_option("the manifests")
def manifests(
    namespace: str | None,
    image: str | None,
    replicas: int,
    timeout: int,
    ca_bundle: Path | None,
    config_path: Path | None,
    output: Path | None,
) -> None:
    """Print the Namespace, Deployment, PDB, Service, NetworkPolicy, cert-manager
    Certificate and ValidatingWebhookConfiguration that install `deploysafe serve` (and
    the MutatingWebhookConfiguration when the policy file sets webhook.mutate)."""
    from deploysafe.cluster.webhook import manifests as mf
    from deploysafe.cluster.webhook.policy import from_config

    path = config_path or configmod.find(Path.cwd())
    policy = from_config(load_config(path, Path.cwd()), namespace=namespace)
    pem = None
    if ca_bundle is not None:
        pem = ca_bundle.read_text(encoding="utf-8", errors="replace")
    text = path.read_text(encoding="utf-8") if path is not None else ""
    opts = mf.InstallOptions(
        namespace=policy.namespace,
        image=image or mf.DEFAULT_IMAGE,
        replicas=replicas,
        timeout=timeout,
        ca_bundle=pem,
        config_text=text,
    )
    out = mf.render(mf.build(policy, opts))
    if output is None:
        click.echo(out, nl=False)
    else:
        write_out(output, [out])


@click.command(cls=Command)
@click.argument(
    "source", default="-", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True)
)
@format_option(REPORT_FORMATS)
@output_option()
@fail_on_option()
@ignore_input_errors_option()
@config_option("in the current folder or the nearest above it in the repository")
@click.option(
    "--include-owned",
    is_flag=True,
    help="Also check objects whose controller is in the input (ReplicaSets, Pods).",
)
@show_suppressed_option()
@click.option(
    "--env",
    "environment",
    help="Also report drift against this environment's current release (text or json).",
)
def audit(
    source: Path,
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    ignore_input_errors: bool,
    config_path: Path | None,
    include_owned: bool,
    show_suppressed: bool,
    environment: str | None,
) -> ExitCode:
    """Check live objects from a kubectl dump (a file, or - for stdin).

    Reads `kubectl get ... -A -o yaml` output, drops status and server-set fields, and
    reports findings as `scan` does.

    \b
    kubectl get deploy,sts,ds,cronjob,job,pod,svc,cm,netpol,role,rolebinding,\\
      clusterrole,clusterrolebinding,ns -A -o yaml | deploysafe audit -
    """
    from dataclasses import replace

    from deploysafe.cluster.audit import audit as run_audit
    from deploysafe.cluster.audit import read
    from deploysafe.cluster.webhook.policy import from_config

    cfg = load_config(config_path, Path.cwd())
    try:
        if fail_on and fail_on != NEVER:
            cfg = replace(cfg, fail_on=Severity.parse(fail_on))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    policy = from_config(cfg)
    if str(source) == "-":
        display, raw = "<stdin>", sys.stdin.buffer.read()
    else:
        display = str(source)
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{display}: not UTF-8 text (byte {exc.start})") from None
    live_input = read(
        text,
        display,
        exempt_namespaces=policy.exempt_namespaces,
        include_owned=include_owned,
    )
    if environment is not None and fmt not in ("text", "json"):
        raise UsageError("drift (--env) is reported in text or json format")
    report = run_audit(live_input, cfg)
    soft = {"findings_fail": fail_on != NEVER, "input_errors_fail": not ignore_input_errors}
    report = replace(report, notes=(*report.notes, *soft_fail_notes(report, **soft)))
    if environment is None:
        emit(report, fmt, output, show_suppressed)
        return for_report(report, **soft)
    drift = _drift(cfg, environment, text, display, policy.exempt_namespaces)
    if fmt == "json":
        from deploysafe.formats import jsonfmt

        doc = json.loads("".join(jsonfmt.chunks(report)))
        doc["drift"] = drift.to_json()
        out = json.dumps(doc, indent=2) + "\n"
        if output is None:
            click.echo(out, nl=False)
        else:
            write_out(output, [out])
    else:
        emit(report, fmt, output, show_suppressed)
        if output is None:
            click.echo()
            say_lines(drift.render())
        else:
            with output.open("a", encoding="utf-8") as fh:
                fh.write("\n" + drift.render())
    return for_report(report, drifted=bool(drift.drifts), **soft)


def _drift(
    cfg: configmod.Config,
    environment: str,
    text: str,
    display: str,
    exempt: tuple[str, ...],
) -> DriftReport:
    import tempfile

    from deploysafe.cluster.audit import read
    from deploysafe.cluster.drift import against_environment
    from deploysafe.gitops.pipeline import GitOpsError

    everything = read(text, display, exempt_namespaces=exempt, include_owned=True)
    with tempfile.TemporaryDirectory(prefix="deploysafe-drift-") as tmp:
        try:
            return against_environment(cfg, environment, everything.documents, Path(tmp))
        except GitOpsError as exc:
            raise InputError(f"cannot read environment {environment}: {exc}") from None
