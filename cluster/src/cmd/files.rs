//! `saveconfig`, `showconfig`, `loadconfig` (rules §3.12, §12.1, §14.5). Files live in the login host's own
//! local store and are never replicated; their format is [`crate::config_file`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Ctx, Family, Help};
use crate::config_file::{parse, render, ConfigFile};
use crate::event::EventKind;
use crate::features::{FeatureId, FeatureValue};
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::names::{FileName, GroupName, Hostname};
use crate::roles::Permission;
use crate::session::{Pending, StagedEdit};
use crate::store::Definitions;
use crate::verdict::{gui_commit_hint, gui_count, Asker, Plan, Rejection, Stop};

/// `saveconfig`, `showconfig`, `loadconfig` (login host only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FilesCmd {
    /// `saveconfig [<name>] [masked]`: passwords are saved unmasked unless `masked` (rules §14.5).
    Save {
        name: Option<FileName>,
        masked: bool,
    },
    Show,
    /// `loadconfig <name>`: staged until commit.
    Load {
        name: FileName,
    },
}

fn file_name(w: &mut Words) -> Result<FileName, ParseError> {
    let column = w.column();
    let t = w.next("a file name")?;
    if !t.quoted && t.text.eq_ignore_ascii_case("masked") {
        return Err(ParseError {
            column,
            expected: "a file name".into(),
            found: "\"masked\" (\"masked\" is a keyword, not a file name)".into(),
        });
    }
    FileName::parse(&t.text).map_err(|e| ParseError {
        column,
        expected: "a file name".into(),
        found: format!(
            "\"{}\" ({})",
            t.text.chars().take(40).collect::<String>(),
            e.reason
        ),
    })
}

impl Family for FilesCmd {
    fn owns(word: &str) -> bool {
        matches!(word, "saveconfig" | "showconfig" | "loadconfig")
    }

    fn words() -> Vec<&'static str> {
        vec!["saveconfig", "showconfig", "loadconfig"]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = match word {
            "saveconfig" => {
                let mut name = None;
                let mut masked = false;
                while let Some(t) = w.peek() {
                    if !t.quoted && t.text.eq_ignore_ascii_case("masked") {
                        masked = true;
                        w.advance();
                    } else if name.is_none() && !masked {
                        name = Some(file_name(w)?);
                    } else {
                        return Err(w.err("masked or the end of the line"));
                    }
                }
                FilesCmd::Save { name, masked }
            }
            "showconfig" => FilesCmd::Show,
            _ => FilesCmd::Load { name: file_name(w)? },
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilesCmd::Save { name, masked } => {
                f.write_str("saveconfig")?;
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                if *masked {
                    f.write_str(" masked")?;
                }
                Ok(())
            }
            FilesCmd::Show => f.write_str("showconfig"),
            FilesCmd::Load { name } => write!(f, "loadconfig {name}"),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            FilesCmd::Save { .. } => "saveconfig",
            FilesCmd::Show => "showconfig",
            FilesCmd::Load { .. } => "loadconfig",
        }
    }

    fn kind(&self) -> CommandKind {
        match self {
            FilesCmd::Save { .. } => CommandKind::Immediate,
            FilesCmd::Show => CommandKind::Read,
            FilesCmd::Load { .. } => CommandKind::Stage,
        }
    }

    fn permission(&self) -> Permission {
        match self {
            // Configuration reads (rules §14.7.2, which settles §14.4's row for these two).
            FilesCmd::Save { .. } | FilesCmd::Show => Permission::ReadConfig,
            FilesCmd::Load { .. } => Permission::Admin,
        }
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        match self {
            FilesCmd::Save { name, masked } => saveconfig(ctx, name.as_ref(), *masked),
            FilesCmd::Show => showconfig(ctx),
            FilesCmd::Load { name } => loadconfig(ctx, name),
        }
    }

    fn help(word: &str) -> Option<Help> {
        Some(match word {
            "saveconfig" => Help::new(
                "Save the configuration to a file on the login host.",
                "saveconfig [<name>] [masked]",
            ),
            "showconfig" => Help::new("Show the configuration as a file would hold it.", "showconfig"),
            _ => Help::new(
                "Load a configuration file saved on the login host (staged).",
                "loadconfig <name>",
            ),
        })
    }
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

fn saveconfig(ctx: &Ctx, name: Option<&FileName>, masked: bool) -> Result<Plan, Stop> {
    let name = match name {
        Some(n) => n.to_string(),
        None => default_name(ctx),
    };
    let text = render(ctx.fleet, ctx.login, masked);
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

fn showconfig(ctx: &Ctx) -> Result<Plan, Stop> {
    Ok(Plan::output(
        render(ctx.fleet, ctx.login, true)
            .lines()
            .map(str::to_string)
            .collect(),
    ))
}

fn loadconfig(ctx: &Ctx, name: &FileName) -> Result<Plan, Stop> {
    let name = name.as_str();
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
    let mut warnings: Vec<String> = Vec::new();
    let mut edit = |mode: &Mode, feature: FeatureId, value: Option<FeatureValue>| {
        let base = ctx.base_for(mode, feature);
        items.push(Pending::Edit {
            mode: mode.clone(),
            feature,
            edit: match value {
                Some(value) => StagedEdit::Define { value },
                None => StagedEdit::Remove,
            },
            base,
        });
    };
    let machine_section = |file: &ConfigFile, host: &Hostname| {
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
            // A file saved before a renamegroup (or an addgroup, a deletegroup) does not match the
            // groups: say what is not loaded and what the load removes (rules §3.12, §15.21).
            let file_groups: Vec<&GroupName> = file
                .sections
                .iter()
                .filter_map(|(m, _)| match m {
                    Mode::Group(g) => Some(g),
                    _ => None,
                })
                .collect();
            for g in &file_groups {
                if !c.groups.contains(g) {
                    warnings.push(format!(
                        "Warning: the file's group {g} is not a group of cluster {} now (renamed or deleted since {name} was saved); its settings are not loaded.",
                        c.name
                    ));
                }
            }
            for g in &c.groups {
                let gm = Mode::Group(g.clone());
                let defined: Vec<String> = FeatureId::ALL
                    .iter()
                    .filter(|f| ctx.view.defined(&gm, **f).is_some())
                    .map(|f| f.to_string())
                    .collect();
                if !file_groups.contains(&g) && !defined.is_empty() {
                    warnings.push(format!(
                        "Warning: group {g} is not in {name} (added or renamed since it was saved): loading removes its definitions of {}.",
                        defined.join(", ")
                    ));
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
                    if ctx.view.defined(&gm, f).is_some() && !in_file.contains(&f) {
                        edit(&gm, f, None);
                    }
                }
            }
        }
    }
    let n = items.len();
    Ok(Plan {
        session: ctx.stage(items),
        output: vec![format!(
            "Loaded {name}: staged {n} change(s). Run commit to apply them."
        )],
        // The console's words (rules §15.31).
        gui: vec![format!(
            "Loaded {name} on {}: {} staged. {}",
            ctx.host(),
            gui_count(n, "change", "changes"),
            gui_commit_hint(n)
        )],
        warnings,
        ..Plan::default()
    })
}
