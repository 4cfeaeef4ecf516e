"""The project's contract files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirement_name(spec: str) -> str:
    """The distribution name of a requirement string: 'torch>=2.2,<2.14' -> 'torch'."""
    return re.split(r"[<>=!~\[; ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_names_nothing_beyond_pyproject():
    project = _pyproject()["project"]
    declared = {_requirement_name(d) for d in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_requirement_name(d) for d in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {_requirement_name(d) for d in conda} <= {"python", "pip"}
    for spec in pip:
        if spec.startswith("-e"):
            extras = re.search(r"\[(.*)\]", spec).group(1).split(",")
            assert set(extras) <= set(project["optional-dependencies"]), spec
        else:
            assert _requirement_name(spec) in declared, f"{spec} is not in pyproject.toml"


def test_torch_pin_admits_the_local_cpu_build():
    torch_spec = next(d for d in _pyproject()["project"]["dependencies"] if d.startswith("torch"))
    bounds = dict(re.findall(r"(>=|<)([\d.]+)", torch_spec))
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert as_tuple(bounds[">="]) <= (2, 13, 0) < as_tuple(bounds["<"])
    assert as_tuple(bounds["<"]) <= (2, 14), "an open upper bound would pull a newer CUDA build"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
    assert "make test" in readme and "make demo" in readme

