//! `saveconfig`, `showconfig`, `loadconfig` (DOMAIN 3.12, 12.1, 14.5). Files live in the login host's own
//! local store and are never replicated.
//!
//! File format (text, one item a line):
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

use crate::cli::tokenize;
use crate::event::EventKind;
use crate::features::{quote_if_needed, ColumnKind, FeatureId};
use crate::model::{ConfigStore, FeatureValue, Mode, Row};
use crate::names::Version;
use crate::session::Pending;
use crate::verdict::{Plan, Rejection, Stop};

use super::Ctx;

const MASK: &str = "********";

/// A parsed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub version: Version,
    pub masked: bool,
    /// `None` for a standalone machine's file.
    pub cluster: Option<String>,
    pub sections: Vec<(Mode, Vec<(FeatureId, FeatureValue)>)>,
}

/// Renders the hierarchy the login host holds.
pub fn render(ctx: &Ctx, masked: bool) -> String {
    let store: &ConfigStore = &ctx.login.config;
    let mut out = vec![
        "# Clusterdeck configuration".to_string(),
        format!("asyncos {}", ctx.login.version),
        format!("host {}", ctx.login.hostname),
        format!("passwords {}", if masked { "masked" } else { "unmasked" }),
    ];
    let modes: Vec<Mode> = match ctx.cluster() {
        Some(c) => {
            out.push(format!("cluster {}", c.name));
            let mut m = vec![Mode::Cluster];
            m.extend(c.groups.iter().map(|g| Mode::Group(g.clone())));
            m.extend(ctx.members().iter().map(|x| x.own_mode()));
            m
        }
        None => {
            out.push("standalone".to_string());
            vec![ctx.login.own_mode()]
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
pub fn parse(text: &str) -> Result<ConfigFile, String> {
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
            let mode = Mode::parse(mode).map_err(|e| format!("line {n}: {e}"))?;
            sections.push((mode, Vec::new()));
            continue;
        }
        if let Some(cmd) = line.strip_prefix("= ") {
            let feature = FeatureId::from_command(cmd.trim())
                .ok_or_else(|| format!("line {n}: unknown feature \"{cmd}\""))?;
            let section = sections
                .last_mut()
                .ok_or_else(|| format!("line {n}: a feature outside a [mode] section"))?;
            section.1.push((feature, FeatureValue::default()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("+ ") {
            let section = sections
                .last_mut()
                .ok_or_else(|| format!("line {n}: a row outside a [mode] section"))?;
            let (feature, value) = section
                .1
                .last_mut()
                .ok_or_else(|| format!("line {n}: a row before any \"= <feature>\""))?;
            let cells: Vec<String> = tokenize(rest)
                .map_err(|e| format!("line {n}: {e}"))?
                .into_iter()
                .map(|t| t.text)
                .collect();
            let row = if cells.iter().any(|c| c == MASK) && *feature == FeatureId::Users {
                Row(cells)
            } else {
                feature
                    .schema()
                    .parse_row(&cells)
                    .map_err(|e| format!("line {n}: {e}"))?
            };
            value.rows.push(row);
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "asyncos" => version = Some(Version::parse(value.trim()).map_err(|e| format!("line {n}: {e}"))?),
            "host" => {}
            "passwords" => masked = Some(value.trim() == "masked"),
            "cluster" => cluster = Some(Some(value.trim().to_string())),
            "standalone" => cluster = Some(None),
            _ => {
                return Err(format!(
                    "line {n}: unexpected \"{}\"",
                    line.chars().take(40).collect::<String>()
                ))
            }
        }
    }
    Ok(ConfigFile {
        version: version.ok_or("no \"asyncos <version>\" line")?,
        masked: masked.ok_or("no \"passwords\" line")?,
        cluster: cluster.ok_or("no \"cluster <name>\" or \"standalone\" line")?,
        sections,
    })
}

fn default_name(ctx: &Ctx) -> String {
    let stamp: String = ctx
        .now
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    format!("config-{}-{stamp}.txt", ctx.login.hostname)
}

pub(super) fn saveconfig(ctx: &Ctx, name: Option<&str>, masked: bool) -> Result<Plan, Stop> {
    let name = match name {
        Some(n) => crate::cli::file_name(n)
            .map_err(|reason| Rejection::Other(format!("Invalid file name \"{n}\": {reason}.")))?,
        None => default_name(ctx),
    };
    let text = render(ctx, masked);
    let mut output = vec![format!("Configuration saved as {name} on {}.", ctx.host())];
    if !masked {
        output.push("Passwords are saved unmasked; the file can be loaded back.".into());
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::ConfigSaved {
            host: ctx.host().clone(),
            name,
            text,
        })],
        output,
        ..Plan::default()
    })
}

pub(super) fn showconfig(ctx: &Ctx) -> Result<Plan, Stop> {
    Ok(Plan::output(
        render(ctx, true).lines().map(str::to_string).collect(),
    ))
}

pub(super) fn loadconfig(ctx: &Ctx, name: &str) -> Result<Plan, Stop> {
    let text = ctx
        .login
        .local
        .saved_configs
        .get(name)
        .ok_or_else(|| Rejection::NoSuchFile {
            host: ctx.host().clone(),
            name: name.chars().take(80).collect(),
        })?;
    let file = parse(text).map_err(|reason| Rejection::BadFile {
        name: name.to_string(),
        reason,
    })?;
    if file.version != ctx.login.version {
        return Err(Rejection::FileVersion {
            file_version: file.version,
            host_version: ctx.login.version,
        }
        .into());
    }
    if file.masked {
        return Err(Rejection::MaskedPassphrases {
            name: name.to_string(),
        }
        .into());
    }
    let scope = |reason: &str| {
        Stop::Rejected(Rejection::FileScope {
            reason: reason.to_string(),
        })
    };
    let mut items: Vec<Pending> = Vec::new();
    let mut edit = |mode: &Mode, feature: FeatureId, value: Option<FeatureValue>| {
        let base = super::commit::base_for(ctx, mode, feature);
        items.push(Pending::Edit {
            mode: mode.clone(),
            feature,
            value,
            base,
        });
    };
    let machine_section = |file: &ConfigFile, host: &crate::names::Hostname| {
        let own = Mode::Machine(host.clone());
        match &file.cluster {
            None => file.sections.first().map(|(_, s)| s.clone()),
            Some(_) => file
                .sections
                .iter()
                .find(|(m, _)| *m == own)
                .map(|(_, s)| s.clone()),
        }
    };
    match (ctx.cluster(), &ctx.mode) {
        (None, _) => {
            if file.cluster.is_some() {
                return Err(scope(
                    "A standalone machine loads only configuration files saved on a standalone machine.",
                ));
            }
            let own = ctx.login.own_mode();
            for (feature, value) in machine_section(&file, ctx.host()).unwrap_or_default() {
                if feature != FeatureId::Hostname {
                    edit(&own, feature, Some(value));
                }
            }
        }
        (Some(c), Some(Mode::Machine(h))) => {
            let Some(section) = machine_section(&file, h) else {
                return Err(scope(&format!("The file has no settings for {h}.")));
            };
            let mode = Mode::Machine(h.clone());
            for (feature, value) in section {
                if feature != FeatureId::Hostname && feature.schema().levels.machine {
                    edit(&mode, feature, Some(value));
                }
            }
            let _ = c;
        }
        (Some(c), _) => {
            if file.cluster.is_none() {
                return Err(scope(
                    "A standalone machine's configuration can only be loaded in machine mode.",
                ));
            }
            for (mode, settings) in &file.sections {
                match mode {
                    Mode::Cluster => {
                        for (feature, value) in settings {
                            if feature.schema().levels.cluster {
                                edit(mode, *feature, Some(value.clone()));
                            }
                        }
                    }
                    Mode::Group(g) if c.groups.contains(g) => {
                        for (feature, value) in settings {
                            edit(mode, *feature, Some(value.clone()));
                        }
                    }
                    _ => {}
                }
            }
            // Group definitions the file does not have are removed: the file replaces them.
            for g in &c.groups {
                let gm = Mode::Group(g.clone());
                let in_file: Vec<FeatureId> = file
                    .sections
                    .iter()
                    .filter(|(m, _)| *m == gm)
                    .flat_map(|(_, s)| s.iter().map(|(f, _)| *f))
                    .collect();
                for f in FeatureId::ALL {
                    if ctx.view.get(&gm, f).is_some() && !in_file.contains(&f) {
                        edit(&gm, f, None);
                    }
                }
            }
        }
    }
    let n = items.len();
    Ok(Plan {
        events: ctx.stage(items),
        output: vec![format!(
            "Loaded {name}: staged {n} change(s). Run commit to apply them."
        )],
        ..Plan::default()
    })
}
