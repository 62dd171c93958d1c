"""A pytest plugin: run a project's test suite with Ember's JIT on.

    python3.12 -m pytest -p ember.pytest_plugin
    python3.12 -m pytest -p ember.pytest_plugin --ember-stats --ember-threshold=100

or, to have it always, in the project's pytest configuration:

    [tool.pytest.ini_options]
    addopts = "-p ember.pytest_plugin"

Loading the plugin turns the JIT on (`ember.install()` at `pytest_configure`, so the
tests, the code they test and pytest itself are counted from collection on) and off
again at `pytest_unconfigure` (`ember.uninstall()`). It is not registered as a `pytest11`
entry point, so installing Ember never changes other projects' test runs; `-p` is the
switch. `--no-ember` (with the plugin loaded from addopts) leaves the JIT off for one run.

Options:
  --ember-stats       a summary of what Ember compiled and refused at the end of the run
  --ember-threshold=N calls before a function is compiled (default: Ember's, or
                      `-X jit-threshold` / `EMBER_JIT_THRESHOLD`)
  --no-ember          load the plugin but leave the JIT off

`-X jit=off` / `EMBER_JIT=off` leaves the JIT off here too, as for the `ember` command.
"""

from __future__ import annotations


def pytest_addoption(parser) -> None:
    group = parser.getgroup("ember", "Ember JIT")
    group.addoption("--ember-stats", action="store_true", default=False,
                    help="print a summary of what Ember compiled at the end of the run")
    group.addoption("--ember-threshold", type=int, default=None, metavar="N",
                    help="calls before a function is compiled")
    group.addoption("--no-ember", action="store_true", default=False,
                    help="leave Ember's JIT off although the plugin is loaded")


def pytest_configure(config) -> None:
    if config.getoption("no_ember"):
        return
    import ember

    threshold = config.getoption("ember_threshold")
    try:
        ember.install(threshold=threshold)
    except RuntimeError:
        ember.install()  # already on (`ember -m pytest`): keep its settings
    config._ember_installed = True


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not getattr(config, "_ember_installed", False) or not config.getoption("ember_stats"):
        return
    import ember

    data = ember.stats()
    t = data["totals"]
    tr = terminalreporter
    tr.write_sep("-", "ember")
    tr.write_line(
        f"{t['compiled']} compiled, {t['refused']} refused, {t['invalidated']} invalidated; "
        f"compile {t['compile_ms']:.1f} ms of {t['run_ms']:.1f} ms run, "
        f"threshold {t['threshold']}"
    )
    if not t["counting"]["on"]:
        tr.write_line(f"not counting: {t['counting']['why']}")
    if t["refused_by_reason"]:
        reasons = ", ".join(f"{k} {v}" for k, v in t["refused_by_reason"].items())
        tr.write_line(f"refused by reason: {reasons}")


def pytest_unconfigure(config) -> None:
    if getattr(config, "_ember_installed", False):
        import ember

        ember.uninstall()
        config._ember_installed = False
