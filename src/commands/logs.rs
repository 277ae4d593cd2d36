//! `logs [SERVICE…] [-f] [--tail N] [--since T] [--timestamps]`: redacted, prefixed like
//! Compose when more than one service is shown, one JSON object per line with `--format json`.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::printer::{emit, stdout_closed};
use super::{ExitStatus, Paint, Printer};
use crate::engine::Engine;
use crate::engine::containers::ProjectContainer;
use crate::engine::logs::LogQuery;
use crate::engine::time::{parse_since, split_timestamp};
use crate::secrets::LineRedactor;
use crate::settings::Settings;

/// What `logs` was asked for.
pub struct Request {
    pub services: Vec<String>,
    pub follow: bool,
    pub tail: usize,
    pub since: Option<String>,
    pub timestamps: bool,
}

/// One log line in JSON mode.
#[derive(Serialize)]
struct JsonLine<'a> {
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    line: &'a str,
}

/// How each line is shown: the service prefix (padded like Compose's), timestamps, JSON.
struct LineFormat<'a> {
    printer: &'a Printer,
    width: usize,
    prefixed: bool,
    timestamps: bool,
}

impl LineFormat<'_> {
    /// Prints the complete lines in `text` of `service` (already redacted).
    fn print(&self, service: &str, text: &str) -> Result<()> {
        let mut out = String::new();
        for line in text.lines() {
            if self.printer.json_wanted() {
                let (time, line) = match line.split_once(' ') {
                    Some((t, rest)) if self.timestamps => (Some(t), rest),
                    _ => (None, line),
                };
                let value = JsonLine {
                    service,
                    time,
                    line,
                };
                out.push_str(&serde_json::to_string(&value)?);
            } else {
                if self.prefixed {
                    let label = format!("{service:<width$} |", width = self.width);
                    out.push_str(&self.printer.out.paint(Paint::Dim, &label));
                    out.push(' ');
                }
                out.push_str(line);
            }
            out.push('\n');
        }
        emit(&out)
    }
}

pub async fn logs(root: &Path, request: &Request, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let since = request
        .since
        .as_deref()
        .map(|text| parse_since(text, unix_now()))
        .transpose()?;
    // Logs matter most when something is wrong, secrets included: with invalid secrets, every
    // value that can be read is still redacted.
    let redactor = super::lifecycle::redactor(root, &settings, *printer);
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    let chosen = choose(&settings, &containers, &request.services)?;
    let format = LineFormat {
        printer,
        width: chosen.iter().map(|c| c.service.len()).max().unwrap_or(0),
        prefixed: chosen.len() > 1,
        timestamps: request.timestamps,
    };
    if request.follow {
        let query = LogQuery {
            tail: Some(request.tail),
            since,
            timestamps: request.timestamps,
        };
        let follows = chosen.iter().map(|c| {
            let format = &format;
            let engine = &engine;
            // Redacted by whole lines: a secret split across two chunks is still found.
            let mut lines = LineRedactor::new(redactor.clone());
            async move {
                let mut failed = None;
                engine
                    .follow_logs(&c.id, &query, |chunk| {
                        if let Err(e) = format.print(&c.service, &lines.push(chunk)) {
                            failed = Some(e);
                        }
                        failed.is_none() && !stdout_closed()
                    })
                    .await?;
                if let Some(e) = failed {
                    return Err(e);
                }
                format.print(&c.service, &lines.finish())
            }
        });
        for result in futures_util::future::join_all(follows).await {
            result?;
        }
        return Ok(ExitStatus::Success);
    }
    // Several services are merged by time, so the engine is asked for timestamps either way.
    let merged = chosen.len() > 1;
    let query = LogQuery {
        tail: Some(request.tail),
        since,
        timestamps: request.timestamps || merged,
    };
    let mut lines: Vec<((i64, u32), usize, String, &str)> = Vec::new();
    for (order, c) in chosen.iter().enumerate() {
        let text = redactor.redact(&engine.query_logs(&c.id, &query).await?);
        if !merged {
            format.print(&c.service, &text)?;
            continue;
        }
        for line in text.lines() {
            let (time, rest) = split_timestamp(line).unwrap_or(((0, 0), line));
            let shown = if request.timestamps { line } else { rest };
            lines.push((time, order, shown.to_string(), c.service.as_str()));
        }
    }
    // Stable: lines of one service keep their order.
    lines.sort_by_key(|(time, order, _, _)| (*time, *order));
    for (_, _, line, service) in &lines {
        format.print(service, line)?;
    }
    Ok(ExitStatus::Success)
}

/// The containers of the named services (all when none is named), in service order.
fn choose<'a>(
    settings: &Settings,
    containers: &'a [ProjectContainer],
    names: &[String],
) -> Result<Vec<&'a ProjectContainer>> {
    if containers.is_empty() {
        anyhow::bail!(
            "the stack is not running (no containers of project {}): run `stackctl up`",
            settings.project
        );
    }
    if names.is_empty() {
        return Ok(containers.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            containers
                .iter()
                .find(|c| &c.service == name)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no container for service `{name}` in project {}; there are: {}",
                        settings.project,
                        containers
                            .iter()
                            .map(|c| c.service.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
