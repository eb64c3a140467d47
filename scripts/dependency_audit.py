"""Known vulnerabilities in the installed dependencies: pip-audit, with an honest fallback.

pip-audit asks PyPI's per-release JSON API (`/pypi/<name>/<version>/json`). Where only the
per-project API answers (a mirror or proxy that serves `/pypi/<name>/json`), pip-audit skips
every package and still prints "No known vulnerabilities found". This script then checks
the skipped packages itself: the per-project answer lists the vulnerabilities of the latest
release, so it is conclusive for a package installed at its latest release; the others are
reported as not audited. Exit status 1 when a vulnerability is known.

    .venv/bin/python scripts/dependency_audit.py [pip-audit options, e.g. --ignore-vuln ID]
"""

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from pip._internal.models.index import PyPI

# The package index pip itself uses by default, as pip knows it.
PYPI = PyPI.pypi_url + "/{name}/json"


def run_pip_audit(extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        command = [
            str(Path(sys.executable).with_name("pip-audit")),
            "--skip-editable",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
            *extra,
        ]
        done = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
        if not report.exists():
            sys.stderr.write(done.stderr)
            raise SystemExit(f"pip-audit did not run (exit {done.returncode})")
        return json.loads(report.read_text())


def latest_release_vulnerabilities(name: str, version: str) -> list[dict] | None:
    """The vulnerabilities PyPI lists for this package, when `version` is its latest release;
    None when that cannot be told."""
    try:
        url = PYPI.format(name=name)  # a fixed https URL
        with urllib.request.urlopen(url, timeout=15) as answer:  # noqa: S310
            data = json.load(answer)
    except OSError:
        return None
    if data.get("info", {}).get("version") != version:
        return None
    return [v for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]


def installed_versions() -> dict[str, str]:
    from importlib.metadata import distributions

    return {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}


def main() -> int:
    extra = sys.argv[1:]
    ignored = {extra[i + 1] for i, arg in enumerate(extra[:-1]) if arg == "--ignore-vuln"}
    report = run_pip_audit(extra)
    found = [
        (d["name"], d["version"], v["id"], v.get("fix_versions", []))
        for d in report["dependencies"]
        for v in d.get("vulns", [])
    ]
    skipped = [d["name"] for d in report["dependencies"] if "skip_reason" in d]
    audited = len(report["dependencies"]) - len(skipped)
    unaudited = []
    if skipped:
        versions = installed_versions()
        for name in skipped:
            version = versions.get(name.lower().replace("_", "-"))
            if name == "bbtraining" or version is None:
                continue
            vulns = latest_release_vulnerabilities(name, version)
            if vulns is None:
                unaudited.append(f"{name} {version}")
                continue
            audited += 1
            for v in vulns:
                ids = {v["id"], *v.get("aliases", [])}
                if not ids & ignored:
                    found.append((name, version, v["id"], v.get("fixed_in", [])))
    for name, version, vuln, fixes in found:
        print(f"VULNERABLE {name} {version}: {vuln} (fixed in {', '.join(fixes) or '—'})")
    print(f"{audited} packages audited, {len(found)} known vulnerabilities.")
    if unaudited:
        print(f"Not audited (no answer for this release): {', '.join(unaudited)}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
