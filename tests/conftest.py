"""Suite-wide set-up, and the one place that decides which tests are `integration` or `slow`.

`integration` tests drive a real external component: git, GnuPG, ssh-keygen, Helm (binary or
helm-python-sdk), kubectl/kustomize, the HTTPS webhook server, or the deploysafe CLI as a
process. `slow` tests are unit tests that take 0.2 s or more. `make quick` runs
neither; `make test` runs everything.

The tables below decide, by module, by fixture or by test. A guard holds them: a test that
starts a process or listens on a socket without the `integration` marker fails and names
what it ran. (The guard cannot see Helm's in-process SDK; its tests are listed by name.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Mapping
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # tests/test_habits.py runs the guard in a child session

# Tests create and drive their own git repositories (bare remotes, history scans). Run from
# a git hook or `git rebase --exec`, these variables would point every one of those git
# calls at the enclosing repository instead: `git init --bare` once re-initialised it.
for _var in (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
):
    os.environ.pop(_var, None)
# A scan through the CLI keeps renders in the user's cache folder; a test renders what it
# reads and writes nothing outside its tmp dirs. Tests of the cache name their own folder.
os.environ["DEPLOYSAFE_CACHE_DIR"] = ""

_ROOT = Path(__file__).resolve().parent.parent  # the tables name paths from here

# Modules whose every test drives an external component.
INTEGRATION_MODULES: frozenset[str] = frozenset(
    {
        "tests/cluster/test_webhook_server.py",  # `deploysafe serve` over HTTPS
        "tests/cluster/test_webhook_mutate.py",  # `deploysafe serve --mutate` over HTTPS
        "tests/engine/test_blame.py",  # kustomize builds and Helm renders
        "tests/host/test_git.py",  # the git runner, against real repositories
        "tests/host/test_ci.py",  # deployed refs read from real repositories
        "tests/engine/test_render_scan.py",  # Helm and kubectl/kustomize renders
        "tests/engine/test_render_cache.py",  # Helm and kubectl/kustomize renders, kept
        "tests/engine/test_coverage.py",  # git work trees, Helm and kustomize renders
        "tests/inputs/test_discover_git.py",  # git work trees
        "tests/engine/test_focused_scan.py",  # git work trees, kustomize builds, Helm renders
        "tests/engine/test_changed_since.py",  # git repositories, kustomize builds, Helm renders
        "tests/cli/test_precommit_hooks.py",  # the real pre-commit, installing from PyPI
        "tests/engine/test_where.py",  # real repositories, charts and kustomizations
        "tests/engine/test_history.py",  # --git-history over real repositories
        "tests/rules/test_secrets_install_time.py",  # Helm renders
        "tests/cli/test_unreadable_inputs.py",  # the CLI as a process, without root's reads
        "tests/inputs/test_sandbox.py",  # Helm and kustomize renders under limits
        "tests/inputs/test_kustomize_batch.py",  # kustomize builds, batched and alone
        "tests/inputs/test_helmsteady.py",  # Helm renders of a chart that draws, twice
        "tests/formats/test_html_browser.py",  # headless Chromium
        "tests/cli/test_soft_fail.py",  # the installed CLI as a process
        "tests/cli/test_console.py",  # the installed CLI as a process, and its exit
        "tests/fix/test_rendered.py",  # kubectl kustomize builds
        "tests/fix/test_helm.py",  # Helm renders of the fixed charts
        "tests/fix/test_helm_flag.py",  # Helm renders, the flag tried on first
        "tests/fix/test_fix_examples.py",  # kustomize builds of the examples, zizmor
        "tests/cli/test_terminal.py",  # the installed CLI on a pseudo-terminal
        "tests/test_packaging.py",  # python -m build, twine, pip into a fresh venv
        "tests/cli/test_action.py",  # the GitHub Action's step under bash, zizmor, git
        "tests/formats/test_gitlab.py",  # the GitLab template's script under bash
        "tests/test_bench_corpus.py",  # the benchmark corpus through Helm and kustomize
    }
)

# Fixtures that stand one up, by the folder whose conftest or modules define them.
INTEGRATION_FIXTURES: Mapping[str, frozenset[str]] = {
    # GnuPG and SSH keys; the autouse `isolated` of gitops/pipeline requests them.
    "tests/gitops/": frozenset({"keys", "repo", "app"}),
}

# Single tests (a parametrized test by its function name, or one case by its full id).
INTEGRATION_TESTS: Mapping[str, frozenset[str]] = {
    "tests/cli/test_cli.py": frozenset({"test_real_entry_point_exit_codes"}),
    "tests/fix/test_default_deny.py": frozenset(
        {
            "test_a_kustomize_overlay_gets_the_file_in_its_resources",  # kubectl kustomize
            "test_a_chart_s_workloads_are_left_to_the_chart_with_the_reason",  # the Helm engine
        }
    ),
    "tests/config/test_sections.py": frozenset(
        {"test_a_policy_kept_outside_the_checkout_reads_render_inputs_from_it"}
    ),
    # click's bash script asks bash for its version.
    "tests/cli/test_completion.py": frozenset(
        {
            "test_bash_completes_commands_options_and_choices",
            "test_completion_prints_the_script_for_each_shell",
        }
    ),
    "tests/cli/test_init.py": frozenset(
        {"test_a_scan_with_the_written_policy_renders_as_the_repository_deploys"}
    ),
    "tests/cluster/test_audit.py": frozenset(
        {
            "test_audit_from_stdin_reports_as_scan_does",
            "test_include_owned_checks_replicasets_too",
            "test_text_output_notes_what_was_skipped",
            "test_unreadable_input_is_an_input_error",
        }
    ),
    "tests/cluster/test_webhook_review.py": frozenset(
        {"test_internal_errors_fail_closed_unless_fail_open"}
    ),
    "tests/engine/test_engine.py": frozenset(
        {
            "test_an_ignored_folder_named_explicitly_is_scanned",
            "test_git_ignored_and_excluded_files_are_skipped",
        }
    ),
    "tests/engine/test_namespaces.py": frozenset(
        {
            "test_helm_install_time_namespace_without_its_namespace_object_is_restricted",
            "test_helm_release_namespace_is_decided_at_install_time",
            "test_helm_render_namespace_never_shows",
            "test_helm_render_namespace_never_shows_in_a_render_error",
            "test_helm_with_a_namespace",
            "test_helm_with_the_default_namespace_is_ds501_for_each_object",
            "test_kustomization_namespace_and_install_time",
            "test_kustomization_with_dash_n",
        }
    ),
    "tests/engine/test_fold.py": frozenset({"test_a_base_shared_by_overlays_is_reported_once"}),
    "tests/formats/test_secrets_outputs.py": frozenset(
        {
            "test_git_history_line_with_two_secrets_shows_neither",
            "test_git_history_outside_a_repository_is_a_usage_error",
            "test_git_history_reports_deleted_secrets_at_their_first_commit",
        }
    ),
    "tests/inputs/test_render.py": frozenset(
        {
            "test_broken_chart_is_an_error_not_an_exception",
            "test_broken_kustomization_is_an_error",
            "test_a_missing_file_deep_in_a_base_is_named_at_the_overlay_line",
            "test_a_failed_build_says_its_error_not_the_deprecation_warnings_before_it",
            "test_a_separator_joined_to_the_next_line_splits_as_helm_splits",
            "test_helm_bad_inputs_are_errors",
            "test_helm_documents_are_traced_to_their_section_past_false_ifs",
            "test_helm_documents_point_at_their_templates",
            "test_helm_loops_and_multi_document_templates",
            "test_helm_namespace_is_the_default_namespace",
            "test_helm_positions_are_template_lines",
            "test_helm_values_files_and_set_change_the_output",
            "test_helm_with_a_namespace_writes_it_where_the_chart_asks",
            "test_helm_without_a_namespace_leaves_it_to_install_time",
            "test_kustomize_does_not_write_into_the_tree",
            "test_kustomize_documents_point_at_their_files",
            "test_kustomize_positions_are_source_lines",
        }
    ),
    "tests/rules/test_secrets_kustomize.py": frozenset(
        {
            "test_read_as_written_when_the_folder_is_rendered",
            "test_rendered_sops_generator_is_clean",
        }
    ),
    "tests/rules/test_secrets_rules.py": frozenset({"test_secrets_examples[render]"}),
    "tests/test_image.py": frozenset({"test_dockerfile_passes_hadolint"}),
}

# Unit tests of 0.2 s or more (all cases together), which would dominate `make quick`.
SLOW_TESTS: Mapping[str, frozenset[str]] = {
    # Generates the benchmark corpus and renders it: Helm charts and 7 kustomize builds.
    "tests/test_bench_corpus.py": frozenset(
        {"test_sample_corpus_renders_and_builds_without_errors"}
    ),
    # pre-commit installs deploysafe into two environments: a minute or more.
    "tests/cli/test_precommit_hooks.py": frozenset(
        {"test_hooks_fail_on_insecure_files_and_pass_on_fixed_ones"}
    ),
    # A fresh interpreter per CLI module.
    "tests/cli/test_layout.py": frozenset({"test_each_module_imports_on_its_own"}),
    "tests/config/test_sections.py": frozenset({"test_policy_imports_no_higher_layer"}),
    # Each parses every module of src/deploysafe.
    "tests/test_architecture.py": frozenset(
        {
            "test_no_module_imports_another_packages_private_names",
            "test_front_ends_use_only_the_engine_api",
            "test_no_import_cycles_beyond_the_known_ones",
            "test_every_known_cycle_still_exists",
        }
    ),
    "tests/secrets/test_embedded.py": frozenset({"test_hostile_embedded_values_are_linear"}),
    # Worker processes on trees of 60 files of 40 KB; scans of a tree twice over.
    "tests/engine/test_worker_memory.py": frozenset(
        {
            "test_workers_started_for_a_check_leave_the_callers_collector_as_it_was",
            "test_workers_are_forked_while_the_tree_is_found_and_gone_when_the_scan_ends",
        }
    ),
    "tests/engine/test_spool.py": frozenset({"test_a_report_on_disk_is_the_report_held_in_memory"}),
    "tests/ci/test_ci_parsing.py": frozenset(
        {"test_alias_bomb_is_refused", "test_every_zizmor_fixture_loads_without_internal_errors"}
    ),
    # Each copies 10,000 references, or references up to the 200,000-value cap.
    "tests/ci/test_gitlab_references.py": frozenset(
        {
            "test_thousands_of_references_resolve_in_linear_time",
            "test_expansion_past_the_cap_is_an_error",
        }
    ),
    # 24 jobs inheriting a template of 22,000 values, to the 500,000-value cap.
    "tests/ci/test_gitlab_extends.py": frozenset(
        {"test_inheritance_past_the_cap_is_an_error_at_the_job"}
    ),
    "tests/cluster/test_webhook_manifests.py": frozenset(
        {
            "test_each_namespace_gets_one_call_per_mode",
            "test_output_passes_deploysafe_scan",
            "test_mutating_mode_routes_each_namespace_once_by_its_enforce_label",
        }
    ),
    "tests/conformance/test_secrets_conformance.py": frozenset(
        {"test_gitleaks_rules_file_loads_and_finds"}
    ),
    # Fixes and scans twice a tree of up to 70 upstream fixtures per level and version.
    "tests/conformance/test_fix_pss_conformance.py": frozenset(
        {"test_fix_makes_every_fail_fixture_allowed"}
    ),
    "tests/cli/test_fix.py": frozenset(
        {"test_fix_then_scan_removes_the_fixed_findings_and_adds_none"}
    ),
    "tests/engine/test_engine.py": frozenset({"test_parallel_scan_equals_serial"}),
    # 1,100 files, scanned twice (one process, then worker processes).
    "tests/engine/test_namespaces.py": frozenset(
        {"test_a_large_tree_is_searched_for_namespaces_while_it_is_planned"}
    ),
    "tests/test_habits.py": frozenset({"test_the_guard_fails_unmarked_tests_that_reach_outside"}),
    # Each starts headless Chromium (a second or more).
    "tests/formats/test_html_browser.py": frozenset(
        {
            "test_chromium_renders_practices_and_findings",
            "test_a_fragment_sets_the_filter",
            "test_loading_makes_no_request_and_the_controls_filter",
        }
    ),
    # Building the distributions takes about 20 s, the install into a fresh venv more.
    "tests/test_packaging.py": frozenset(
        {
            "test_build_gives_an_sdist_and_a_wheel_that_pass_twine_check",
            "test_wheel_holds_every_module_and_the_type_marker",
            "test_sdist_holds_the_tests_docs_and_examples",
            "test_wheel_with_the_helm_extra_installs_a_deploysafe_that_renders_charts",
        }
    ),
    # A virtual environment and a pip install of the action's checkout (about 20 s).
    "tests/cli/test_action.py": frozenset({"test_install_step_then_scan_with_what_it_installed"}),
    # Each case times the detector on megabytes of hostile text in a fresh interpreter.
    "tests/secrets/test_secrets_detect.py": frozenset({"test_hostile_input_is_linear"}),
    # Hostile inputs built at their caps (nesting, operand depth): each half a second or more.
    "tests/rules/test_secrets_rules.py": frozenset(
        {"test_a_docker_config_nested_past_the_cap_is_a_credential"}
    ),
    "tests/inputs/test_dockerfile.py": frozenset(
        {"test_a_deep_copy_line_does_not_hide_the_next_line"}
    ),
}


def _listed(item: pytest.Item, table: Mapping[str, frozenset[str]]) -> bool:
    names = table.get(item.nodeid.partition("::")[0], frozenset())
    return item.name in names or getattr(item, "originalname", item.name) in names


def _integration(item: pytest.Item) -> bool:
    module = item.nodeid.partition("::")[0]
    fixtures = set(getattr(item, "fixturenames", ()))
    return (
        module in INTEGRATION_MODULES
        or _listed(item, INTEGRATION_TESTS)
        or any(module.startswith(f) and fixtures & n for f, n in INTEGRATION_FIXTURES.items())
    )


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, so every listed test is seen
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _integration(item):
            item.add_marker(pytest.mark.integration)
        if _listed(item, SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
    if not any("::" in arg for arg in config.args):
        _refuse_stale_names(items)


def _refuse_stale_names(items: list[pytest.Item]) -> None:
    """A renamed test must not drop out of its marker silently."""
    seen: dict[str, set[str]] = {}
    for item in items:
        names = seen.setdefault(item.nodeid.partition("::")[0], set())
        names.update({item.name, getattr(item, "originalname", item.name)})
    for table in (INTEGRATION_TESTS, SLOW_TESTS):
        for module, listed in table.items():
            missing = sorted(listed - seen[module]) if module in seen else []
            if missing:
                raise pytest.UsageError(
                    f"tests/conftest.py names tests that {module} does not have: "
                    f"{', '.join(missing)}; update the table to the new names"
                )
    for module in INTEGRATION_MODULES:
        if not (_ROOT / module).is_file():
            raise pytest.UsageError(f"tests/conftest.py names a missing module: {module}")


# The guard. An audit hook cannot be removed, so it stays cheap: it records only while a
# test of this session is set up or runs, and only the events that reach outside.
_OUTSIDE = frozenset(
    {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "socket.bind"}
)
_seen: list[str] | None = None


def _describe(event: str, args: tuple[object, ...]) -> str | None:
    try:
        if event == "socket.bind":
            return f"listens on {args[1]!r}"
        argv = args[1] if event == "subprocess.Popen" else args[0]
        words = [str(w) for w in (argv if isinstance(argv, list | tuple) else [argv])]
        if words[:1] == [sys.executable]:
            return None  # a fresh interpreter of ours, for a clean timing, is no component
        if words[:1] == ["git"] and {"ls-files", "check-ignore", "--show-toplevel"} & set(
            words[1:4]
        ):
            # Every scan asks git where its repository starts and what it ignores, and
            # walks on without it.
            return None
        return "runs " + " ".join(words[:4])
    except Exception:  # an audit hook must never break the operation it watches
        return event


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _seen is not None and event in _OUTSIDE:
        what = _describe(event, args)
        if what is not None:
            _seen.append(what)


sys.addaudithook(_audit)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _seen
    _seen = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    global _seen
    report = yield
    if call.when == "call":
        seen, _seen = _seen or [], None
        if seen and report.passed and item.get_closest_marker("integration") is None:
            report.outcome = "failed"
            more = f" (and {len(seen) - 1} more)" if len(seen) > 1 else ""
            report.longrepr = (
                f"{item.nodeid} {seen[0]}{more} but is not marked integration: "
                "add it to a table in tests/conftest.py"
            )
    return report
