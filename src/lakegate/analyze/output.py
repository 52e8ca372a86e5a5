"""The analyzer's report for programs: JSON, and SARIF 2.1.0 for code-scanning tools.

SARIF (OASIS Static Analysis Results Interchange Format 2.1.0) is what GitHub code
scanning, GitLab and most IDEs read: one run, the rules as the tool's
``reportingDescriptor``s, one result per finding located by file, line and column.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lakegate import __version__
from lakegate.analyze.engine import Report
from lakegate.analyze.model import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/lakegate/lakegate"


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-able data: ``summary`` and ``findings`` (every field of
    :class:`~lakegate.analyze.model.Finding`; ``rewrite`` only with ``--recommend``)."""
    return {
        "summary": {
            "sources": report.sources,
            "statements": report.statements,
            "findings": len(report.findings),
            "by_severity": report.counts(),
            "seconds": round(report.seconds, 4),
        },
        "findings": [
            {**dataclasses.asdict(f), "severity": f.severity.value} for f in report.findings
        ],
    }


def report_to_sarif(report: Report, rules: list[Rule], base: Path | None = None) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log.

    Args:
        report: The findings.
        rules: Every rule the analyzer knows (the driver's ``rules``; results point at
            them by ``ruleIndex``).
        base: Paths under it are written relative to it, with ``uriBaseId``
            ``%SRCROOT%`` (default: the working directory); others as absolute ``file:`` URIs.
    """
    root = (base or Path.cwd()).resolve()
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        properties: dict[str, Any] = {
            "severity": finding.severity.value,
            "fix": finding.fix,
            "impact": finding.impact,
            "statement": finding.statement,
        }
        if finding.origin:
            properties["origin"] = finding.origin
        if finding.rewrite is not None:
            properties["rewrite"] = finding.rewrite
        if finding.details:
            properties["details"] = finding.details
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": finding.severity.sarif_level,
            "message": {"text": f"{finding.message}. {finding.fix}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(Path(finding.path), root),
                        "region": {"startLine": finding.line, "startColumn": finding.column},
                    }
                }
            ],
            "properties": properties,
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lakegate",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_descriptor(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "results": results,
            }
        ],
    }


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": f"{rule.summary} Fix: {rule.fix} Impact: {rule.impact}."},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {"impact": rule.impact, "source": rule.source},
    }


def _artifact(path: Path, root: Path) -> dict[str, str]:
    resolved = path.resolve()
    try:
        return {"uri": resolved.relative_to(root).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": resolved.as_uri()}
