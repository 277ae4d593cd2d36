//! `start`, `stop`, `restart` of existing containers, and `exec SERVICE -- CMD…`.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::printer::emit;
use super::{ExitStatus, Paint, Printer, Table};
use crate::clients::{Endpoints, Login};
use crate::compose;
use crate::engine::Engine;
use crate::engine::logs::OutputStream;
use crate::orchestrate;
use crate::secrets::{FileStore, LineRedactor, Redactor, SecretSource};
use crate::settings::{KafkaRole, Phase, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

/// The redactor for output from the stack: every secret that can be read.
pub(super) fn redactor(root: &Path, settings: &Settings, printer: Printer) -> Redactor {
    let store = FileStore::new(root);
    match store.load(&settings.principals()) {
        Ok(secrets) => Redactor::new(&secrets),
        Err(e) => {
            printer.warn(&format!(
                "{e}\n(redacting every secret value that can be read)"
            ));
            Redactor::new(&store.readable_values(&settings.principals()))
        }
    }
}

/// What a rolling restart of the Kafka nodes waits with; without the admin secret the nodes
/// restart together (said on stderr).
fn settler(root: &Path, settings: &Settings, printer: Printer) -> Option<orchestrate::Settler> {
    let secrets = FileStore::new(root).load(&settings.principals()).ok();
    let settler = secrets.and_then(|secrets| {
        let admin = Login::kafka(settings, &secrets, KafkaRole::Admin)?;
        let kafka = Endpoints::new(settings, &secrets).ok()?.kafka();
        Some(orchestrate::Settler { kafka, admin })
    });
    if settler.is_none() && settings.kafka.brokers > 1 {
        printer.warn(
            "the Kafka admin secret cannot be read: the nodes restart together, not one at a time",
        );
    }
    settler
}

pub async fn run(
    root: &Path,
    verb: Verb,
    services: &[String],
    printer: &Printer,
) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    let engine = Engine::connect().await?;
    let redactor = redactor(root, &settings, *printer);
    // Starting and restarting nodes wait for the replicas; stopping needs no admin login.
    let settler = match verb {
        Verb::Stop => None,
        Verb::Start | Verb::Restart => settler(root, &settings, *printer),
    };
    let settler = settler.as_ref();
    let report = match verb {
        Verb::Stop => orchestrate::stop(&engine, &stack, services, printer).await?,
        Verb::Start => {
            orchestrate::start(&engine, &stack, services, &redactor, settler, printer).await?
        }
        Verb::Restart => {
            orchestrate::restart(&engine, &stack, services, &redactor, settler, printer).await?
        }
    };
    printer.report(&report, |style, out| {
        let mut table = Table::new();
        for s in &report.services {
            let paint = match s.action.as_str() {
                "started" | "restarted" => Paint::Good,
                "stopped" => Paint::Warn,
                _ => Paint::Dim,
            };
            table.painted(vec![
                (s.action.clone(), paint),
                (s.service.clone(), Paint::Plain),
                (s.health.clone().unwrap_or_default(), Paint::Plain),
            ]);
        }
        out.write_str(&table.render(style))
    })?;
    Ok(ExitStatus::Success)
}

/// `exec --format json`: everything at once.
#[derive(Serialize)]
struct ExecReport<'a> {
    service: &'a str,
    command: &'a [String],
    exit_code: i64,
    stdout: String,
    stderr: String,
}

pub async fn exec(
    root: &Path,
    service: &str,
    command: &[String],
    printer: &Printer,
) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    let Some(container) = containers.iter().find(|c| c.service == service) else {
        anyhow::bail!(
            "no container for service `{service}` in project {}{}",
            settings.project,
            if containers.is_empty() {
                ": the stack is not running (`stackctl up`)".to_string()
            } else {
                format!(
                    "; there are: {}",
                    containers
                        .iter()
                        .map(|c| c.service.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    };
    if container.state != "running" {
        anyhow::bail!(
            "service `{service}` is {}, not running: `stackctl start {service}` or `stackctl up`",
            container.state
        );
    }
    let redactor = redactor(root, &settings, *printer);
    // Each stream redacted by whole lines.
    let mut stdout = LineRedactor::new(redactor.clone());
    let mut stderr = LineRedactor::new(redactor);
    let (mut all_out, mut all_err) = (String::new(), String::new());
    let json = printer.json_wanted();
    let mut failed = None;
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let code = engine
        .exec_streaming(&container.id, &args, |stream, chunk| {
            let (redactor, all) = match stream {
                OutputStream::Stdout => (&mut stdout, &mut all_out),
                OutputStream::Stderr => (&mut stderr, &mut all_err),
            };
            let text = redactor.push(chunk);
            if json {
                all.push_str(&text);
            } else if stream == OutputStream::Stdout {
                if let Err(e) = emit(&text) {
                    failed = Some(e);
                }
            } else {
                eprint!("{text}");
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e);
    }
    let (rest_out, rest_err) = (stdout.finish(), stderr.finish());
    if json {
        all_out.push_str(&rest_out);
        all_err.push_str(&rest_err);
        printer.json(&ExecReport {
            service,
            command,
            exit_code: code,
            stdout: all_out,
            stderr: all_err,
        })?;
    } else {
        emit(&rest_out)?;
        eprint!("{rest_err}");
    }
    // A code the engine could not report (-1) is stackctl's failure to know, not the command's.
    Ok(match u8::try_from(code) {
        Ok(code) => ExitStatus::Code(code),
        Err(_) if code < 0 => ExitStatus::Error,
        // Masked to 0..=255: the conversion cannot fail.
        Err(_) => ExitStatus::Code(u8::try_from(code & 0xff).unwrap_or(u8::MAX)),
    })
}
