"""JUnit XML: one test case per finding (failures) and per unreadable input (errors)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from deploysafe.engine import Report
from deploysafe.printable import printable


def render(report: Report) -> str:
    suites = ET.Element("testsuites", name="deploysafe")
    active = [f for f in report.findings if f.suppressed is None]
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="deploysafe scan",
        tests=str(max(len(report.findings) + len(report.errors), 1)),
        failures=str(len(report.failing)),
        errors=str(len(report.errors)),
        skipped=str(len(report.findings) - len(active)),
    )
    failing = set(report.failing)
    for f in report.findings:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f.file,
            name=f"{f.rule_id} {f.resource.display() if f.resource else ''} {f.pointer}".strip(),
            file=f.file,
            line=str(f.line),
        )
        if f.suppressed is not None:
            ET.SubElement(
                case,
                "skipped",
                message=f"suppressed ({f.suppressed.source}): {f.suppressed.reason}",
            )
        elif f in failing:
            fail = ET.SubElement(case, "failure", message=f.message, type=f"{f.severity.label}")
            fail.text = (
                f"{f.file}:{f.line}:{f.column} {f.rule_id} {f.title}\n{f.message}\nFix: {f.fix}"
            )
        else:
            case.set("name", case.get("name", "") + f" ({f.severity.label}, below fail-on)")
    for e in report.errors:
        case = ET.SubElement(suite, "testcase", classname=e.file, name="input", file=e.file)
        err = ET.SubElement(case, "error", message=e.message)
        err.text = f"{e.file}:{e.line or ''} {e.message}"
    if not report.findings and not report.errors:
        ET.SubElement(suite, "testcase", classname="deploysafe", name="no findings")
    _printable(suites)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _printable(element: ET.Element) -> None:
    """Every attribute and text in its printable form: XML 1.0 cannot carry most controls
    (nor a name that is not UTF-8), and a message keeps its line breaks."""
    for node in element.iter():
        for key, value in node.attrib.items():
            node.set(key, printable(value))
        if node.text:
            node.text = "\n".join(printable(line) for line in node.text.split("\n"))
