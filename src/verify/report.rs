//! The verify report as JUnit XML (JSON is the `Report`'s serde form; the human table is the
//! command layer's).

use std::fmt::Write;

use super::xml_text::escape_text;
use super::{Report, Verdict};

fn attr(text: &str) -> String {
    // Reasons are one line; a stray line break is flattened. Characters XML 1.0 forbids (a
    // control character from a log, say) become visible text, so CI can always parse the report.
    escape_text(&text.replace(['\r', '\n'], " "))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Phase;
    use crate::verify::{CheckResult, Kind};

    #[test]
    fn a_reason_with_every_control_character_still_parses() {
        let reason: String = (0u8..0x20)
            .map(char::from)
            .chain("<&>\"'".chars())
            .collect();
        let report = Report {
            phase: Phase::MAX,
            run_id: "r".into(),
            seconds: 0.1,
            passed: 0,
            failed: 1,
            warned: 0,
            skipped: 0,
            checks: vec![CheckResult {
                id: "a.b".into(),
                group: "a".into(),
                kind: Kind::Negative,
                required_from: Phase::KafkaAuth,
                required: true,
                verdict: Verdict::Fail,
                seconds: 0.1,
                reason,
            }],
        };
        let xml = junit(&report);
        assert!(xml.contains("\\x1b"), "{xml}");
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}\n{xml}"),
            }
        }
        assert!(
            xml.chars()
                .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
            "{xml}"
        );
    }
}
