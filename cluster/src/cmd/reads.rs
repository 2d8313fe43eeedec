//! `clustermode`, `clustershow`, `help`.

use crate::cli::{command_words, help_text};
use crate::command::Command;
use crate::event::EventKind;
use crate::features::FeatureId;
use crate::model::{resolve, Mode};
use crate::verdict::{Plan, Rejection, Stop};

use super::Ctx;

pub(super) fn validate_mode(ctx: &Ctx, command: &Command, mode: &Mode) -> Result<(), Rejection> {
    let cluster = ctx.require_cluster(command)?;
    match mode {
        Mode::Cluster => Ok(()),
        Mode::Group(g) if cluster.groups.contains(g) => Ok(()),
        Mode::Group(g) => Err(Rejection::UnknownGroup {
            group: g.clone(),
            cluster: cluster.name.clone(),
        }),
        Mode::Machine(h) => match ctx.fleet.machine(h) {
            None => Err(Rejection::UnknownMachine { host: h.clone() }),
            Some(m) if m.cluster() != Some(&cluster.name) => Err(Rejection::NotAMember {
                host: h.clone(),
                cluster: cluster.name.clone(),
            }),
            Some(_) => Ok(()),
        },
    }
}

pub(super) fn clustermode(ctx: &Ctx, command: &Command, mode: Option<&Mode>) -> Result<Plan, Stop> {
    ctx.require_cluster(command)?;
    let Some(mode) = mode else {
        let current = ctx.mode.clone().unwrap_or(Mode::Cluster);
        return Ok(Plan::output(vec![format!("Mode: {current}")]));
    };
    validate_mode(ctx, command, mode)?;
    if let Mode::Machine(h) = mode {
        if h != ctx.host() && !ctx.is_connected() {
            return Err(Rejection::DetachedHost {
                host: ctx.host().clone(),
                command: "clustermode".into(),
            }
            .into());
        }
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::ModeChanged {
            session: ctx.session.id,
            mode: Some(mode.clone()),
        })],
        output: vec![format!("Mode: {mode}")],
        ..Plan::default()
    })
}

pub(super) fn clustershow(ctx: &Ctx, command: &Command, feature: FeatureId) -> Result<Plan, Stop> {
    let Some(cluster) = ctx.cluster() else {
        let _ = command;
        return Ok(Plan::output(vec![
            "defined at standalone".into(),
            format!("{} uses standalone", ctx.host()),
        ]));
    };
    let mut out = Vec::new();
    let mut modes: Vec<Mode> = vec![Mode::Cluster];
    modes.extend(cluster.groups.iter().map(|g| Mode::Group(g.clone())));
    modes.extend(ctx.members().iter().map(|m| m.own_mode()));
    for mode in &modes {
        if ctx.view.get(mode, feature).is_some() {
            out.push(format!("defined at {mode}"));
        }
    }
    for m in ctx.members() {
        let group = m.membership.as_ref().map(|ms| &ms.group);
        let source = resolve(&ctx.view, &m.hostname, group, feature);
        out.push(format!("{} uses {}", m.hostname, source.mode));
    }
    Ok(Plan::output(out))
}

pub(super) fn help(topic: Option<&str>) -> Result<Plan, Stop> {
    match topic {
        None => {
            let mut out = vec!["Commands (help <command> for details):".to_string()];
            for word in command_words() {
                if let Some((synopsis, _)) = help_text(word) {
                    out.push(format!("  {word:<16} {synopsis}"));
                }
            }
            Ok(Plan::output(out))
        }
        Some(word) => match help_text(word) {
            Some((synopsis, long)) => {
                let mut out = vec![format!("{word}: {synopsis}")];
                if let Some(f) = FeatureId::from_command(word) {
                    let s = f.schema();
                    out.push(format!("Levels: {}. GUI: {}.", s.levels.describe(), s.gui_page));
                    match s.shape {
                        crate::features::Shape::Table => {
                            out.push(format!("{word} [print]"));
                            out.push(format!("{word} new {}", s.row_syntax()));
                            out.push(format!("{word} edit {}", s.row_syntax()));
                            out.push(format!("{word} delete <{}>", s.columns[0].name));
                        }
                        crate::features::Shape::Single => {
                            out.push(format!("{word} [print]"));
                            out.push(format!("{word} {}", s.row_syntax()));
                        }
                    }
                } else {
                    out.extend(long.lines().map(|l| l.trim_start().to_string()));
                }
                Ok(Plan::output(out))
            }
            None => Err(Rejection::Other(format!(
                "No help for \"{word}\": it is not a command. Type help for the list."
            ))
            .into()),
        },
    }
}
