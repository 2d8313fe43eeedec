//! The configuration file `saveconfig` writes and `loadconfig` reads (rules §3.12, §12.1): the whole
//! hierarchy the login host holds, as text, one item a line:
//!
//! ```text
//! # Clusterdeck configuration
//! asyncos 9.1.2
//! host newyork.example.com
//! passwords unmasked
//! cluster Americas            (or: standalone)
//! [cluster]
//! = smtproutes                (the feature is defined here)
//! + example.com mail.example.com
//! [group:West]
//! ...
//! ```

use serde::Serialize;

use crate::features::{quote_if_needed, ColumnKind, FeatureId, FeatureValue, Row, RowError, MASK};
use crate::fleet::{Fleet, Machine};
use crate::lexer::{tokenize, ParseError};
use crate::mode::Mode;
use crate::names::{NameError, Version};
use crate::store::ConfigStore;

/// Why a configuration file cannot be read: the line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum FileError {
    #[error("line {line}: {error}")]
    Mode { line: usize, error: NameError },
    #[error("line {line}: unknown feature \"{feature}\"")]
    UnknownFeature { line: usize, feature: String },
    #[error("line {line}: a feature outside a [mode] section")]
    FeatureOutsideSection { line: usize },
    #[error("line {line}: a row outside a [mode] section")]
    RowOutsideSection { line: usize },
    #[error("line {line}: a row before any \"= <feature>\"")]
    RowBeforeFeature { line: usize },
    #[error("line {line}: {error}")]
    Words { line: usize, error: ParseError },
    #[error("line {line}: {error}")]
    Row { line: usize, error: RowError },
    #[error("line {line}: {error}")]
    Version { line: usize, error: NameError },
    #[error("line {line}: unexpected \"{text}\"")]
    Unexpected { line: usize, text: String },
    #[error("no \"asyncos <version>\" line")]
    NoVersion,
    #[error("no \"passwords\" line")]
    NoPasswords,
    #[error("no \"cluster <name>\" or \"standalone\" line")]
    NoCluster,
}

/// A parsed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub version: Version,
    pub masked: bool,
    /// `None` for a standalone machine's file.
    pub cluster: Option<String>,
    pub sections: Vec<(Mode, Vec<(FeatureId, FeatureValue)>)>,
}

/// Renders the hierarchy `login` holds (rules §12.1).
pub fn render(fleet: &Fleet, login: &Machine, masked: bool) -> String {
    let store: &ConfigStore = &login.config;
    let mut out = vec![
        "# Clusterdeck configuration".to_string(),
        format!("asyncos {}", login.version),
        format!("host {}", login.hostname),
        format!("passwords {}", if masked { "masked" } else { "unmasked" }),
    ];
    let modes: Vec<Mode> = match fleet.cluster_of(&login.hostname) {
        Some(c) => {
            out.push(format!("cluster {}", c.name));
            fleet.modes_of(&login.hostname)
        }
        None => {
            out.push("standalone".to_string());
            vec![login.own_mode()]
        }
    };
    for mode in modes {
        let Some(settings) = store.modes.get(&mode) else {
            continue;
        };
        out.push(format!("[{mode}]"));
        for (feature, setting) in settings {
            out.push(format!("= {}", feature.command()));
            let schema = feature.schema();
            for row in &setting.value.rows {
                let cells: Vec<String> = schema
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if masked && c.kind == ColumnKind::Secret {
                            MASK.to_string()
                        } else {
                            quote_if_needed(row.cell(i))
                        }
                    })
                    .collect();
                out.push(format!("+ {}", cells.join(" ")));
            }
        }
    }
    out.join("\n") + "\n"
}

/// Parses a configuration file; the error says which line is wrong.
pub fn parse(text: &str) -> Result<ConfigFile, FileError> {
    let mut version = None;
    let mut masked = None;
    let mut cluster: Option<Option<String>> = None;
    let mut sections: Vec<(Mode, Vec<(FeatureId, FeatureValue)>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(mode) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let mode = Mode::parse(mode).map_err(|error| FileError::Mode { line: n, error })?;
            sections.push((mode, Vec::new()));
            continue;
        }
        if let Some(cmd) = line.strip_prefix("= ") {
            let feature = FeatureId::from_command(cmd.trim()).ok_or_else(|| FileError::UnknownFeature {
                line: n,
                feature: cmd.chars().take(40).collect(),
            })?;
            let section = sections
                .last_mut()
                .ok_or(FileError::FeatureOutsideSection { line: n })?;
            section.1.push((feature, FeatureValue::default()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("+ ") {
            let section = sections
                .last_mut()
                .ok_or(FileError::RowOutsideSection { line: n })?;
            let (feature, value) = section
                .1
                .last_mut()
                .ok_or(FileError::RowBeforeFeature { line: n })?;
            let cells: Vec<String> = tokenize(rest)
                .map_err(|error| FileError::Words { line: n, error })?
                .into_iter()
                .map(|t| t.text)
                .collect();
            let row = if cells.iter().any(|c| c == MASK) && *feature == FeatureId::Users {
                Row::from_cells(cells)
            } else {
                feature
                    .schema()
                    .parse_row(&cells)
                    .map_err(|error| FileError::Row { line: n, error })?
            };
            value.rows.push(row);
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "asyncos" => {
                version = Some(
                    Version::parse(value.trim()).map_err(|error| FileError::Version { line: n, error })?,
                )
            }
            "host" => {}
            "passwords" => masked = Some(value.trim() == "masked"),
            "cluster" => cluster = Some(Some(value.trim().to_string())),
            "standalone" => cluster = Some(None),
            _ => {
                return Err(FileError::Unexpected {
                    line: n,
                    text: line.chars().take(40).collect(),
                })
            }
        }
    }
    Ok(ConfigFile {
        version: version.ok_or(FileError::NoVersion)?,
        masked: masked.ok_or(FileError::NoPasswords)?,
        cluster: cluster.ok_or(FileError::NoCluster)?,
        sections,
    })
}
