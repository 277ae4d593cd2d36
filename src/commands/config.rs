//! `config`: the resolved model as YAML (default) or JSON. Reads no secret.

use std::path::Path;

use anyhow::{Context, Result};

use super::printer::emit;
use super::{ExitStatus, Printer};
use crate::compose;
use crate::settings::{Phase, Settings};

pub fn show(root: &Path, phase: Phase, printer: Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, phase)?;
    let model = compose::model::model(&settings, &stack);
    if printer.json_wanted() {
        printer.json(&model)?;
    } else {
        emit(&serde_norway::to_string(&model).context("writing the model as YAML")?)?;
    }
    Ok(ExitStatus::Success)
}
