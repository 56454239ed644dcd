"""Replay compiled: how far a compiled hot path would take replay against `json.loads`.

The season benchmark's replay target (0.3 x a bare `json.loads` loop) is missed in CPython
(BENCHMARKS.md, "Replay compiled, measured"). This probe measures the change of another size
that was left: the monitor and the detectors (`agents/`, all but `agents/config.py`, whose
pydantic dataclasses mypyc cannot build) compiled to C with mypyc from the same sources,
unchanged. It copies the committed tree (`git archive HEAD`) to a temporary directory,
compiles it there (a C compiler and about a minute), then runs `benchmarks/season.py
--skip-worker` in the committed tree and in the compiled copy, one after the other, and
checks that both wrote the same alerts. Nothing in the project is compiled; this only measures.
"""

from __future__ import annotations

import argparse
import filecmp
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = {"__init__.py", "config.py"}  # config: pydantic dataclasses, which mypyc cannot build


def copy_tree(to: Path) -> None:
    """The committed tree (HEAD) into `to`."""
    git = shutil.which("git")
    if git is None:
        raise SystemExit("git is needed to copy the committed tree")
    archive = subprocess.run([git, "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(to, filter="data")


def mypy_ini(pyproject: Path) -> str:
    """The project's mypy settings as an ini file, without `packages` (mypyc is given its files)."""
    mypy = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["mypy"]
    lines = ["[mypy]", f"strict = {mypy.get('strict', False)}", f"plugins = {', '.join(mypy.get('plugins', []))}"]
    for override in mypy.get("overrides", []):
        lines.append(f"[mypy-{','.join(override['module'])}]")
        lines += [f"{key} = {value}" for key, value in override.items() if key != "module"]
    return "\n".join(lines) + "\n"


def compile_agents(tree: Path) -> None:
    """mypyc over `tree/agents` (see `LEFT_OUT`); the extension modules land beside the sources."""
    pyproject = tree / "pyproject.toml"
    (tree / "mypy.ini").write_text(mypy_ini(pyproject), encoding="utf-8")
    # mypyc builds with the setuptools of this environment, which may be older than the
    # project's build needs and would refuse its pyproject.toml: the copy does without it
    pyproject.rename(tree / "pyproject.toml.orig")
    files = sorted(str(p.relative_to(tree)) for p in (tree / "agents").glob("*.py") if p.name not in LEFT_OUT)
    built = subprocess.run([sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", *files],
                           cwd=tree, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise SystemExit(f"mypyc failed (a C compiler is needed):\n{built.stdout[-3000:]}{built.stderr[-3000:]}")
    imported = subprocess.run([sys.executable, "-c", "import agents.monitor; print(agents.monitor.__file__)"],
                              cwd=tree, capture_output=True, text=True, check=True).stdout.strip()
    if not imported.endswith(".so"):
        raise SystemExit(f"the compiled copy imports {imported}, not its extension module")
    print(f"compiled {len(files)} modules of agents/ with mypyc", flush=True)


def season(tree: Path, keep: Path, args: argparse.Namespace) -> None:
    """`benchmarks/season.py --skip-worker` run from `tree` (its own modules first on the path)."""
    print(f"\n=== replay from {'the compiled copy' if tree != ROOT else 'the committed tree'}", flush=True)
    command = [sys.executable, str(tree / "benchmarks" / "season.py"), "--skip-worker", "--mix", args.mix,
               "--rounds", str(args.rounds), "--keep", str(keep)]
    if args.shipments:
        command += ["--shipments", str(args.shipments)]
    subprocess.run(command, cwd=tree, check=True)


def same_alerts(pure: Path, compiled: Path) -> list[str]:
    """The alert files that differ between the two runs (none: the compiled copy found the same)."""
    files = sorted(p.relative_to(pure) for p in pure.rglob("alerts-*.jsonl"))
    if not files:
        return ["no alert files were written"]
    return [str(f) for f in files if not filecmp.cmp(pure / f, compiled / f, shallow=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", choices=["both", "default", "convoys-and-camps"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="paired replay rounds in each tree")
    parser.add_argument("--shipments", type=int, help="a quarter's shipments (fewer for a quick run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compiled-probe-") as work:
        tree = Path(work) / "tree"
        copy_tree(tree)
        compile_agents(tree)
        season(ROOT, Path(work) / "pure", args)
        season(tree, Path(work) / "compiled", args)
        differ = same_alerts(Path(work) / "pure", Path(work) / "compiled")
    print("\nalerts: " + ("the same in both trees" if not differ else f"DIFFER in {', '.join(differ)}"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
