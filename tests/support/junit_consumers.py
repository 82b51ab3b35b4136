"""Reads a junit.xml with junitparser and prints what a script would get from it, as JSON.

Run by tests/junit_consumers.rs with the interpreter of the venv scripts/test.sh builds.
"""
import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        kinds = []
        for r in case.result:
            kind = {Failure: "failure", Error: "error", Skipped: "skipped"}[type(r)]
            kinds.append({"kind": kind, "type": r.type, "message": r.message, "text": r.text})
        cases.append({
            "name": case.name,
            "classname": case.classname,
            "results": kinds,
            "file": case._elem.get("file"),
            "line": case._elem.get("line"),
        })
    suites.append({
        "name": suite.name,
        "tests": suite.tests,
        "failures": suite.failures,
        "errors": suite.errors,
        "skipped": suite.skipped,
        "properties": {p.name: p.value for p in suite.properties()},
        "cases": cases,
    })
print(json.dumps(suites))
