"""`make audit`: pip-audit over both hashed locks, failing on a known vulnerability.

pip-audit asks a vulnerability service about each locked version, and when the service cannot
answer (no network, or an index mirror without per-version data) it reports the package as
"not audited" and still exits 0 with "No known vulnerabilities found". That is no audit, so
here: any vulnerability fails; some packages audited and some not fails (name them); none
audited by either service means the services cannot be reached from this machine, and the
audit is skipped saying so, the only case that passes without an audit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-image.lock")
SERVICES = ("pypi", "osv")  # pip-audit's own; it knows where they are


def run_audit(service: str) -> list[dict[str, object]]:
    """pip-audit's findings per dependency (`vulns`, or `skip_reason` when not audited)."""
    command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--format", "json"]
    command += ["--progress-spinner", "off", "--vulnerability-service", service]
    for lock in LOCKS:
        command += ["--requirement", str(ROOT / lock)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        # pip-audit stopped before reporting (e.g. the service refused the connection).
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"name": "*", "skip_reason": reason}]
    dependencies: list[dict[str, object]] = report["dependencies"]
    return dependencies


def verdict(
    service: str, dependencies: Sequence[Mapping[str, Any]]
) -> tuple[int | None, list[str]]:
    """(exit code, lines) of one service's report; code None: nothing audited, try another."""
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "empty report"
        return None, [f"pip-audit ({service}): no package could be audited: {reason}"]
    lines = []
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            lines.append(f"{dependency['name']} {dependency['version']}: {vuln['id']} ({fixed})")
    lines += [f"not audited: {d['name']}: {d['skip_reason']}" for d in skipped]
    lines.append(
        f"pip-audit ({service}): {len(audited)} packages audited, "
        f"{len(vulnerable)} with known vulnerabilities, {len(skipped)} not audited"
    )
    return (1 if vulnerable or skipped else 0), lines


def main() -> int:
    for service in SERVICES:
        code, lines = verdict(service, run_audit(service))
        print("\n".join(lines))
        if code is not None:
            return code
    print(
        "make audit SKIPPED: no vulnerability service pip-audit uses answered from this machine "
        "(offline, or a package index without per-version data); run it where one does."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
