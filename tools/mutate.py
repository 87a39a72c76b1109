"""`make mutate`: mutation testing of the money and state logic, one module at a time.

The modules and the tests that exercise each are listed in ``pyproject.toml``
under ``[tool.keel.mutate.modules]`` (adding a module is one line there); the
rest of mutmut's settings are in ``[tool.mutmut]``.

For each module, in a fresh child process, mutmut (pinned in the ``dev``
extra) copies the project into ``mutants/``, mutates only that module, finds
which of the module's tests reach each mutated function, and runs those tests
against every mutant. Then this prints, per module, the mutation score
(killed / all mutants; a mutant no test reaches counts as a survivor) and
every surviving mutant with its diff. A survivor listed in
``docs/mutation-survivors.md`` (an equivalent or message-only mutant, with the
reason) is marked as such; any other survivor is new and must be killed by a
behaviour test or listed there.

Exit status: 0 when every module scores at least ``min_score`` and has no
unlisted survivor, 1 otherwise.

Usage::

    python tools/mutate.py                      # every module
    python tools/mutate.py plugins/risk/checks.py  # some modules
    MUTATE_JOBS=1 python tools/mutate.py        # mutmut workers (default 2)

Logs of each module's mutmut run: ``mutants/keel-mutate/<module>.log``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "mutants" / "keel-mutate"
SURVIVORS_DOC = ROOT / "docs" / "mutation-survivors.md"
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def settings() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    table: dict[str, object] = data["tool"]["keel"]["mutate"]
    return table


def documented() -> dict[str, str]:
    """Mutant name -> reason, from the table rows of ``docs/mutation-survivors.md``."""
    if not SURVIVORS_DOC.exists():
        return {}
    found = {}
    for line in SURVIVORS_DOC.read_text().splitlines():
        m = re.match(r"\|\s*`([\w.]+__mutmut_\d+)`\s*\|.*\|\s*([^|]+?)\s*\|\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


# -- the child: one module -------------------------------------------------------------
def run_one(module: str, tests: list[str], jobs: int) -> None:
    """Run mutmut on ``module`` with ``tests`` as the pytest selection; write a JSON summary."""
    import dataclasses

    from mutmut import __main__ as mutmut_main
    from mutmut import configuration
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    # The mutated copy of this module is made anew (a copy left by an earlier
    # run, mutated or not, would be reused as it is), and so are the stats of
    # which test reaches which function (kept, they would lack this module's).
    for stale in [*(ROOT / "mutants").glob(module + "*"), ROOT / "mutants" / "mutmut-stats.json"]:
        stale.unlink(missing_ok=True)
    configuration._config = dataclasses.replace(
        configuration.config(), only_mutate=[module],
        pytest_add_cli_args_test_selection=list(tests))
    try:
        mutmut_main._run((), jobs)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    data = SourceFileMutationData(path=module)
    data.load()
    statuses = {k: status_by_exit_code[v] for k, v in data.exit_code_by_key.items()}
    diffs = {k: get_diff_for_mutant(k, path=module)
             for k, s in statuses.items() if s not in KILLED}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / (module.replace("/", ".") + ".json")).write_text(
        json.dumps({"module": module, "statuses": statuses, "diffs": diffs}, indent=1))


# -- the parent: every module --------------------------------------------------------------
def main(argv: list[str]) -> int:
    conf = settings()
    modules: dict[str, list[str]] = conf["modules"]  # type: ignore[assignment]
    min_score = float(conf.get("min_score", 90))  # type: ignore[arg-type]
    chosen = argv or list(modules)
    unknown = [m for m in chosen if m not in modules]
    if unknown:
        print(f"not in [tool.keel.mutate.modules]: {', '.join(unknown)}", file=sys.stderr)
        return 2
    jobs = int(os.environ.get("MUTATE_JOBS", "2"))
    OUT.mkdir(parents=True, exist_ok=True)
    listed = documented()
    rows, survivors, ok = [], [], True
    for module in chosen:
        log = OUT / (module.replace("/", ".") + ".log")
        print(f"mutating {module} (tests: {' '.join(modules[module])}) ...", flush=True)
        with log.open("w") as fh:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", module, str(jobs), *modules[module]],
                cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, check=False)
        result_path = OUT / (module.replace("/", ".") + ".json")
        if proc.returncode != 0 or not result_path.exists():
            print(f"  mutmut failed (exit {proc.returncode}); see {log.relative_to(ROOT)}")
            ok = False
            continue
        result = json.loads(result_path.read_text())
        statuses: dict[str, str] = result["statuses"]
        total = len(statuses)
        killed = sum(s in KILLED for s in statuses.values())
        alive = sorted((k for k, s in statuses.items() if s not in KILLED),
                       key=lambda k: (k.rsplit("__mutmut_", 1)[0], int(k.rsplit("_", 1)[1])))
        unlisted = [k for k in alive if k not in listed]
        score = 100.0 * killed / total if total else 100.0
        rows.append((module, total, killed, score, len(alive), len(unlisted)))
        if score < min_score or unlisted:
            ok = False
        for k in alive:
            survivors.append((k, statuses[k], listed.get(k), result["diffs"].get(k, "")))
    if survivors:
        print("\nsurviving mutants (mutmut show NAME for the full diff):")
        for name, status, reason, diff in survivors:
            change = [ln for ln in diff.splitlines()
                      if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
            why = f"listed: {reason}" if reason else "NOT LISTED in docs/mutation-survivors.md"
            print(f"  {name} [{status}] {why}")
            for ln in change:
                print(f"      {ln.strip()}")
    print(f"\n{'module':<36} {'mutants':>8} {'killed':>7} {'score':>7} "
          f"{'survived':>9} {'unlisted':>9}")
    for module, total, killed, score, alive_n, unlisted_n in rows:
        print(f"{module:<36} {total:>8} {killed:>7} {score:>6.1f}% {alive_n:>9} {unlisted_n:>9}")
    print(f"\nminimum score {min_score:g} %: {'met' if ok else 'NOT met'}"
          + ("" if ok else " (or a survivor is not listed, or a run failed)"))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        os.chdir(ROOT)
        run_one(sys.argv[2], sys.argv[4:], int(sys.argv[3]))
    else:
        sys.exit(main(sys.argv[1:]))
