"""Build hook: compile `src/ember/_hotness.c` (the module) into one extension at install
time, with `_counter.c` (Ember's hotness counter), `_sampler.c` (the sampler that picks
what it counts), `_watcher.c` (the function watcher),
`_quicken.c` (superinstructions back in counted code), `_quiet.c` (how Ember's Python
runs on the program's threads), `_replies.c` (the thread that waits
for the compile server), `_caches.c` and `_calls.c` (the C that compiled code calls),
`_files.c` (stat of a tree, for the code cache), `_loader.c` (loading object code without
LLVM) and `_start.c` (the start).

hatchling runs this for every wheel it builds:

- `pip install .` (a regular wheel): the extension is compiled in a temporary directory,
  force-included as `ember/_hotness<EXT_SUFFIX>`, and the wheel is tagged for this
  interpreter and platform (it is no longer pure Python).
- `pip install -e .` (what `./ember` does on its first run): the extension is compiled
  in place, next to its source in `src/ember/` (git-ignored), where the editable install
  imports it from.

The compiler and flags are the interpreter's own (sysconfig: CC, CFLAGS, CCSHARED,
LDSHARED, the include directory and EXT_SUFFIX); `CC` in the environment overrides the
compiler. When no C compiler works, the install still succeeds: the reason is written to
`_hotness.missing` next to where the extension would be, and Ember then runs without a
hotness counter (the JIT counts nothing and says why in `-X jit-log` and the stats).

`python hatch_build.py` (no hatchling needed) rebuilds the in-place extension and the
launcher's interpreter (`build_interpreter`: `_main.c` and the same sources, linked
statically with CPython); the `./ember` launcher does that when a C source is newer than
its last setup. `--pth` only writes the venv's `ember-jit.pth`, `--interpreter` only links.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script by the launcher: hatchling is not installed there
    BuildHookInterface = object

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "ember"
SOURCE = PACKAGE / "_hotness.c"
#: Compiled into the same extension: what compiled code calls (attribute caches, CALL).
EXTRA_SOURCES = ("_caches.c", "_calls.c", "_counter.c", "_files.c", "_loader.c", "_quicken.c",
                 "_quiet.c", "_replies.c", "_sampler.c", "_start.c", "_watcher.c")
#: defaults.py's settings that the C start (`_start.c`) and the sampler (`_sampler.c`) use,
#: passed as -DEMBER_<NAME>.
DEFAULTS = ("DEFAULT_THRESHOLD", "BACK_EDGES_PER_CALL", "WARMUP_MS", "MONITORING_TOOL",
            "COMPILER_PY_FRAMES", "COMPILER_C_UNITS", "SAMPLE_MS", "SAMPLE_DEPTH",
            "FIRST_CALL_WAIT_MS")
#: The .pth file of a package installed as a wheel: the start in Python (`ember._boot`).
PTH = ROOT / "src" / "ember-jit.pth"
#: The .pth file pip writes for `pip install -e` (hatchling's editable wheel).
EDITABLE_PTH = "_editable_impl_ember_jit.pth"
MISSING = "_hotness.missing"


def extension_name() -> str:
    return "_hotness" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def _defines(package: Path) -> list[str]:
    """-D flags for defaults.py's settings, read without importing it (the build
    environment may not be able to import ember)."""
    import ast

    values = {}
    for node in ast.parse((package / "defaults.py").read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in DEFAULTS:
                values[target.id] = ast.literal_eval(node.value)
    return [f"-DEMBER_{name}={int(values[name])}" for name in DEFAULTS]


def _compiles(sources: list[Path], tmp: Path, *flags: str) -> tuple[list[list[str]], list[Path]]:
    """The compiler's command line for each source, and the objects they write in tmp."""
    var = sysconfig.get_config_var
    cc = os.environ.get("CC") or var("CC") or "cc"
    include = sysconfig.get_paths()["include"]
    cflags = shlex.split(var("CFLAGS") or "") + shlex.split(var("CCSHARED") or "")
    cflags += _defines(sources[0].parent)
    objs = [tmp / (src.stem + ".o") for src in sources]
    return [[*shlex.split(cc), *cflags, *flags, f"-I{include}", f"-I{src.parent}", "-c",
             str(src), "-o", str(obj)] for src, obj in zip(sources, objs)], objs


def _commands(sources: list[Path], tmp: Path, out: Path) -> list[list[str]]:
    var = sysconfig.get_config_var
    ldshared = shlex.split(var("LDSHARED") or f"{var('CC') or 'cc'} -shared")
    if os.environ.get("CC"):
        ldshared[0:1] = shlex.split(os.environ["CC"])
    compiles, objs = _compiles(sources, tmp)
    return [*compiles, [*ldshared, *map(str, objs), "-o", str(out)]]


def _run(cmd: list[str]) -> str | None:
    """Run one build command; None if it succeeded, else why not, in one line."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{cmd[0]}: {exc}"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        errors = [ln for ln in lines if "error" in ln.lower()] or lines[-1:]
        detail = errors[0].strip() if errors else f"exit status {proc.returncode}"
        return f"{shlex.join(cmd[:1])} failed: {detail}"
    return None


def compile_extension(dest_dir: Path, source: Path = SOURCE) -> str | None:
    """Compile the extension into dest_dir; None on success, else why it was not built.

    The file is written under a temporary name and renamed, so that a process running
    the old extension keeps it, and a failed build leaves no extension at all (never a
    stale one built from other source) but a `_hotness.missing` note saying why.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / extension_name()
    note = dest_dir / MISSING
    why = None
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 12):
        why = f"built by {sys.implementation.name} {sys.version.split()[0]}, not CPython 3.12"
    else:
        with tempfile.TemporaryDirectory(prefix="ember-build-") as tmp:
            built = Path(tmp) / extension_name()
            sources = [source, *(source.parent / name for name in EXTRA_SOURCES)]
            for cmd in _commands(sources, Path(tmp), built):
                why = _run(cmd)
                if why:
                    break
            else:
                staged = dest_dir / (extension_name() + ".tmp")
                shutil.copyfile(built, staged)
                os.replace(staged, target)
                note.unlink(missing_ok=True)
                return None
    target.unlink(missing_ok=True)
    note.write_text(why + "\n")
    return why


class HotnessBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        package = Path(self.root) / "src" / "ember"
        source = package / SOURCE.name
        if version == "editable":
            why = compile_extension(package, source)
            if why:
                self.app.display_warning(f"ember: hotness counter not built: {why}")
            return
        self._tmp = tempfile.mkdtemp(prefix="ember-wheel-")
        out = Path(self._tmp) / "ember"
        why = compile_extension(out, source)
        if why:
            self.app.display_warning(f"ember: hotness counter not built: {why}")
            build_data["force_include"][str(out / MISSING)] = f"ember/{MISSING}"
            return
        build_data["force_include"][str(out / extension_name())] = f"ember/{extension_name()}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def write_pth() -> None:
    """Point this venv's `ember-jit.pth` at the in-place extension by its absolute path:
    site then loads it without searching sys.path or importing the `ember` package, and
    its boot() is the whole start of a run with no Ember switch (see _start.c). Without
    an extension (a failed build), the line falls back to `ember._boot`, which then runs
    without a counter."""
    pth = Path(sysconfig.get_paths()["purelib"]) / "ember-jit.pth"
    if sys.prefix == sys.base_prefix or not pth.exists():
        return  # not the launcher's venv, or Ember is not installed in it
    so = PACKAGE / extension_name()
    line = PTH.read_text()
    # An editable install's own .pth only puts src/ on sys.path: folded into ours as its
    # first line (the order site would have used, `_` sorting first), one file to open
    # and read at every start instead of two. Whether the install is editable comes from
    # pip's RECORD, which lists that file even after the fold removed it.
    editable = pth.with_name(EDITABLE_PTH)
    records = Path(pth.parent).glob("ember_jit-*.dist-info/RECORD")
    is_editable = any(EDITABLE_PTH in r.read_text() for r in records)
    path_line = str(PACKAGE.parent) + "\n" if is_editable else ""
    if so.exists():
        name = "ember._hotness"
        load = ('sys.modules["_frozen_importlib"]._load(sys.modules["_frozen_importlib"]'
                f'.spec_from_loader({name!r}, sys.modules["_frozen_importlib_external"]'
                f'.ExtensionFileLoader({name!r}, {str(so)!r})))')
        # site processes a venv's site-packages twice when it includes the system's
        # (venv() adds it, then addsitepackages again; known_paths stops only the
        # sys.path entry): the guard leaves the loaded extension alone the second time
        # rather than have the import system load it again (no measurable cost).
        # The static ember-python (ember/interpreter.py) is a real file, so getpath
        # would not find the base interpreter through a symlink as it does for the
        # venv's python: the value this venv's python has, set for every process of
        # the venv (the same value for all but that one).
        base = f"sys._base_executable = {sys._base_executable!r}; "
        line = (f'import sys; {base}{name!r} not in sys.modules and '
                'sys.executable.rpartition("/")[2].startswith("ember") '
                f'and ({load}.boot() or __import__("ember._boot"))\n')
    line = path_line + line
    if pth.read_text() != line:
        staged = pth.with_suffix(".tmp")
        staged.write_text(line)
        os.replace(staged, pth)
    if is_editable and editable.exists():
        editable.unlink()


def _c_string(text: str) -> str:
    """*text* as a C string literal (octal escapes for all but plain printable ASCII)."""
    plain = set(b" !#$%&'()*+,-./0123456789:;<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                b"abcdefghijklmnopqrstuvwxyz{|}~")
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03o}" for b in os.fsencode(text)) + '"'


def build_interpreter() -> str:
    """Link the launcher's interpreter (`.venv/ember/bin/ember-python`, src/ember/_main.c):
    this CPython statically, with Ember's start in its main() and the extension's C
    built in. Run by this venv's python. Returns a line saying what was done; where it
    cannot be done, no such interpreter is left and the launcher uses the venv's
    `bin/ember-python` (ember/interpreter.py)."""
    sys.path.insert(0, str(PACKAGE.parent))
    from ember import interpreter

    dest = Path(sys.prefix, *interpreter.STANDALONE)
    paths = [sysconfig.get_paths()["purelib"]]
    if str(PACKAGE.parent) not in paths:
        paths.append(str(PACKAGE.parent))  # an editable install: src/
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    with tempfile.TemporaryDirectory(prefix="ember-interpreter-") as tmp:
        header = Path(tmp, "ember_paths.h")
        header.write_text(f"#define EMBER_PATHS {_c_string(chr(10).join(paths))}\n"
                          f"#define EMBER_BASE_EXECUTABLE {_c_string(base)}\n")
        sources = [PACKAGE / "_main.c", SOURCE, *(PACKAGE / name for name in EXTRA_SOURCES)]
        compiles, objs = _compiles(sources, Path(tmp), f"-I{tmp}")
        why = next(filter(None, map(_run, compiles)), None)
        if why is None:
            why = interpreter.link(str(dest), [str(o) for o in objs], base)
    if why is None:
        return f"{dest}: CPython {sys.version.split()[0]} with Ember's start, statically linked"
    dest.unlink(missing_ok=True)
    return f"no {dest} ({why}): the launcher runs {Path(sys.prefix, 'bin', interpreter.NAME)}"


if __name__ == "__main__":
    args = sys.argv[1:]
    problem = None if args in (["--pth"], ["--interpreter"]) else compile_extension(PACKAGE)
    if problem:
        print(f"ember: hotness counter not built: {problem}", file=sys.stderr)
    if args != ["--interpreter"]:
        write_pth()
    if args != ["--pth"]:
        print(build_interpreter())
    sys.exit(0)
