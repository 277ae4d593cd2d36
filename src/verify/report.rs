//! The verify report as JUnit XML (JSON is the `Report`'s serde form; the human table is the
//! command layer's).

use std::fmt::Write;

use super::{Report, Verdict};
use crate::render::escape;

fn attr(text: &str) -> String {
    // Reasons are one line; a stray line break is flattened rather than refused.
    escape::xml(&text.replace(['\r', '\n'], " ")).unwrap_or_default()
}

/// JUnit XML: one test suite, one test case per check; warnings are passing cases with a note.
pub fn junit(report: &Report) -> String {
    let checks: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Skipped)
        .collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"stackctl verify\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
        checks.len(),
        report.failed,
        report.seconds
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"stackctl.verify.phase{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
        report.phase,
        checks.len(),
        report.failed,
        report.seconds
    );
    for c in checks {
        let _ = write!(
            out,
            "    <testcase classname=\"stackctl.{}\" name=\"{}\" time=\"{:.3}\"",
            attr(&c.group),
            attr(&c.id),
            c.seconds
        );
        match c.verdict {
            Verdict::Fail => {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\"/>\n    </testcase>",
                    attr(&c.reason)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>{}: {}</system-out>\n    </testcase>",
                    attr(&format!("{:?}", c.verdict)),
                    attr(&c.reason)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
