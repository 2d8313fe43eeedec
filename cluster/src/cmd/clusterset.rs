//! `clusterset copy | move | delete` — Manage Settings (rules §3.4, §5.3). Staged until `commit`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::features::FeatureId;
use crate::lexer::{ParseError, Words};
use crate::mail::{listeners_in, newly_disabled};
use crate::mode::Mode;
use crate::roles::Permission;
use crate::session::{Pending, StagedEdit};
use crate::store::{Definitions, Overlay};
use crate::verdict::{gui_commit_hint, gui_place, Asker, Choice, Plan, Rejection, Stop, YesNo};

/// A feature, or every feature (`clusterset ... all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeatureSel {
    All,
    One(FeatureId),
}

impl fmt::Display for FeatureSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureSel::All => f.write_str("all"),
            FeatureSel::One(id) => write!(f, "{id}"),
        }
    }
}

/// `clusterset` operations (rules §3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClusterSetCmd {
    Copy {
        feature: FeatureSel,
        from: Mode,
        to: Mode,
    },
    Move {
        feature: FeatureSel,
        from: Mode,
        to: Mode,
    },
    Delete {
        feature: FeatureSel,
        mode: Mode,
    },
}

const FEATURE_OR_ALL: &str = "a feature command (smtproutes, listenerconfig, ...) or all";

/// A feature command word, or `all`.
pub(super) fn feature_sel(w: &mut Words) -> Result<FeatureSel, ParseError> {
    let column = w.column();
    let t = w.next(FEATURE_OR_ALL)?;
    if !t.quoted && t.text.eq_ignore_ascii_case("all") {
        return Ok(FeatureSel::All);
    }
    FeatureId::from_command(&t.text)
        .map(FeatureSel::One)
        .ok_or_else(|| ParseError {
            column,
            expected: FEATURE_OR_ALL.into(),
            found: format!("\"{}\"", t.text.chars().take(40).collect::<String>()),
        })
}

/// A feature command word.
pub(super) fn feature_id(w: &mut Words) -> Result<FeatureId, ParseError> {
    let column = w.column();
    match feature_sel(w)? {
        FeatureSel::One(f) => Ok(f),
        FeatureSel::All => Err(ParseError {
            column,
            expected: "a feature command".into(),
            found: "\"all\"".into(),
        }),
    }
}

impl Family for ClusterSetCmd {
    fn owns(word: &str) -> bool {
        word == "clusterset"
    }

    fn words() -> Vec<&'static str> {
        vec!["clusterset"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = match w.expect_keyword(&["copy", "move", "delete"])?.as_str() {
            "copy" => ClusterSetCmd::Copy {
                feature: feature_sel(w)?,
                from: w.mode()?,
                to: w.mode()?,
            },
            "move" => ClusterSetCmd::Move {
                feature: feature_sel(w)?,
                from: w.mode()?,
                to: w.mode()?,
            },
            _ => ClusterSetCmd::Delete {
                feature: feature_sel(w)?,
                mode: w.mode()?,
            },
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterSetCmd::Copy { feature, from, to } => write!(f, "clusterset copy {feature} {from} {to}"),
            ClusterSetCmd::Move { feature, from, to } => write!(f, "clusterset move {feature} {from} {to}"),
            ClusterSetCmd::Delete { feature, mode } => write!(f, "clusterset delete {feature} {mode}"),
        }
    }

    fn word(&self) -> &'static str {
        "clusterset"
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Stage
    }

    fn permission(&self) -> Permission {
        Permission::Commit
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        check(self, ctx, asker)
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Copy, move or delete a feature's settings between modes (staged).",
            "clusterset copy <feature|all> <from-mode> <to-mode>\nclusterset move <feature|all> <from> <to>\nclusterset delete <feature|all> <mode>\nModes: cluster, group:<name>, machine:<host>.",
        ))
    }

    /// Only modes of the login host's cluster, the destination other than the source (rules §15.34).
    fn complete(_word: &str, done: &[&str], c: &Completion) -> Vec<String> {
        if !c.is_member() {
            return Vec::new();
        }
        let delete = done.first().is_some_and(|s| s.eq_ignore_ascii_case("delete"));
        match done.len() {
            0 => vec!["copy".into(), "move".into(), "delete".into()],
            1 => {
                let mut f = c.features();
                f.push("all".into());
                f
            }
            2 => c.modes(),
            3 if !delete => c
                .modes()
                .into_iter()
                .filter(|m| !m.eq_ignore_ascii_case(done[2]))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn level_allowed(feature: FeatureId, mode: &Mode) -> Result<(), Rejection> {
    let levels = feature.schema().levels;
    if levels.allows(mode.level()) {
        Ok(())
    } else {
        Err(Rejection::LevelNotAllowed {
            feature,
            level: mode.level(),
            levels: levels.describe(),
        })
    }
}

/// Whether a feature lives only at machine level (interfaces, hostname, routes, ...): it always exists at
/// its machine and is never deleted or moved off it (rules §14.7.6).
fn machine_only(feature: FeatureId) -> bool {
    feature.schema().levels.machine_only()
}

/// What `clusterset` may not do to one feature, `None` when it may (rules §3.4, §14.7.6, §15.6): delete or
/// move a machine-only feature, or copy a machine's main hostname onto another machine.
fn machine_only_refusal(op: &ClusterSetCmd, feature: FeatureId) -> Option<Rejection> {
    match op {
        ClusterSetCmd::Delete { mode, .. } if machine_only(feature) => Some(Rejection::MachineOnlyStays {
            feature,
            mode: mode.clone(),
            action: "deleted".into(),
        }),
        ClusterSetCmd::Move { from, .. } if machine_only(feature) => Some(Rejection::MachineOnlyStays {
            feature,
            mode: from.clone(),
            action: "moved off it".into(),
        }),
        ClusterSetCmd::Copy {
            to: Mode::Machine(h), ..
        } if feature == FeatureId::Hostname => Some(Rejection::HostnameChange { host: h.clone() }),
        _ => None,
    }
}

/// Drops from `all` what [`machine_only_refusal`] refuses; the features skipped, by command word. When
/// nothing is left but something was skipped, the refusal says why.
fn skip_machine_only(
    op: &ClusterSetCmd,
    mode: &Mode,
    all: Vec<FeatureId>,
) -> Result<(Vec<FeatureId>, Vec<String>), Rejection> {
    let (skipped, kept): (Vec<FeatureId>, Vec<FeatureId>) = all
        .into_iter()
        .partition(|f| machine_only_refusal(op, *f).is_some());
    let names: Vec<String> = skipped.iter().map(|f| f.to_string()).collect();
    if kept.is_empty() && !skipped.is_empty() {
        return Err(Rejection::OnlyMachineOnly {
            mode: mode.clone(),
            features: names.join(", "),
            action: match op {
                ClusterSetCmd::Delete { .. } => "deleted".into(),
                ClusterSetCmd::Move { .. } => "moved off it".into(),
                ClusterSetCmd::Copy { .. } => "copied onto another machine".into(),
            },
        });
    }
    Ok((kept, names))
}

fn check(op: &ClusterSetCmd, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
    let word = "clusterset";
    ctx.require_cluster(word)?;
    let mut items: Vec<Pending> = Vec::new();
    let mut touched: Vec<FeatureId> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    match op {
        ClusterSetCmd::Copy { feature, from, to } | ClusterSetCmd::Move { feature, from, to } => {
            let is_move = matches!(op, ClusterSetCmd::Move { .. });
            let action = if is_move { "move" } else { "copy" };
            ctx.validate_mode(word, from)?;
            ctx.validate_mode(word, to)?;
            // A detached host writes no other machine's mode (rules §3.4, §14.7.8); a move writes both.
            ctx.may_configure(to, word)?;
            if is_move {
                ctx.may_configure(from, word)?;
            }
            if from == to {
                return Err(Rejection::SameMode { mode: from.clone() }.into());
            }
            let features = match feature {
                FeatureSel::One(f) => {
                    level_allowed(*f, to)?;
                    if is_move {
                        level_allowed(*f, from)?;
                    }
                    if let Some(r) = machine_only_refusal(op, *f) {
                        return Err(r.into());
                    }
                    if ctx.view.defined(from, *f).is_none() {
                        return Err(Rejection::NotDefined {
                            feature: *f,
                            mode: from.clone(),
                            action: action.into(),
                        }
                        .into());
                    }
                    vec![*f]
                }
                FeatureSel::All => {
                    let all: Vec<FeatureId> = ctx
                        .view
                        .defined_at(from)
                        .into_iter()
                        .filter(|f| f.schema().levels.allows(to.level()))
                        .collect();
                    if all.is_empty() {
                        return Err(Rejection::NothingToCopy {
                            mode: from.clone(),
                            dest: to.clone(),
                        }
                        .into());
                    }
                    let (kept, names) = skip_machine_only(op, from, all)?;
                    skipped = names;
                    kept
                }
            };
            let several = features.len() > 1;
            for f in features {
                if ctx.view.defined(to, f).is_some() {
                    let (title, there, here) = (f.schema().title, gui_place(to), gui_place(from));
                    let verb = if is_move { "Moving" } else { "Copying" };
                    // With several features, No skips this one only (rules §15.18).
                    let keep = format!("Keep the {title} of {there}");
                    let question = YesNo {
                        question: format!("Settings for {f} already exist at {to}; replace them? [N]>"),
                        default_yes: false,
                        title: format!("Replace the {title} of {there}?"),
                        body: vec![format!(
                            "{title}: {there} has its own settings already. {verb} those of {here} replaces them when you commit."
                        )],
                        yes: Choice::destroys(format!("Replace them with those of {here}")),
                        no: if several {
                            Choice::acts(format!("{keep} and go on"))
                        } else {
                            Choice::changes_nothing(keep)
                        },
                    };
                    if !asker.yes_no(question)? {
                        continue;
                    }
                }
                items.push(Pending::Edit {
                    mode: to.clone(),
                    feature: f,
                    edit: match ctx.view.defined(from, f) {
                        Some(value) => StagedEdit::Define { value: value.clone() },
                        None => StagedEdit::Remove,
                    },
                    base: ctx.base_for(to, f),
                });
                if is_move {
                    // The cluster level is never undefined (I6): moving away leaves the default there.
                    let edit = if *from == Mode::Cluster {
                        StagedEdit::Define {
                            value: f.schema().default_value(),
                        }
                    } else {
                        StagedEdit::Remove
                    };
                    items.push(Pending::Edit {
                        mode: from.clone(),
                        feature: f,
                        edit,
                        base: ctx.base_for(from, f),
                    });
                }
                touched.push(f);
            }
        }
        ClusterSetCmd::Delete { feature, mode } => {
            ctx.validate_mode(word, mode)?;
            ctx.may_configure(mode, word)?;
            let features = match feature {
                FeatureSel::One(f) => {
                    if *mode == Mode::Cluster {
                        return Err(Rejection::ClusterCannotBeUndefined { feature: *f }.into());
                    }
                    if let Some(r) = machine_only_refusal(op, *f) {
                        return Err(r.into());
                    }
                    if ctx.view.defined(mode, *f).is_none() {
                        return Err(Rejection::NotDefined {
                            feature: *f,
                            mode: mode.clone(),
                            action: "delete".into(),
                        }
                        .into());
                    }
                    vec![*f]
                }
                FeatureSel::All => {
                    if *mode == Mode::Cluster {
                        return Err(Rejection::ClusterCannotBeUndefined {
                            feature: FeatureId::SmtpRoutes,
                        }
                        .into());
                    }
                    let all = ctx.view.defined_at(mode);
                    if all.is_empty() {
                        return Err(Rejection::NothingDefined { mode: mode.clone() }.into());
                    }
                    let (kept, names) = skip_machine_only(op, mode, all)?;
                    skipped = names;
                    kept
                }
            };
            for f in features {
                items.push(Pending::Edit {
                    mode: mode.clone(),
                    feature: f,
                    edit: StagedEdit::Remove,
                    base: ctx.base_for(mode, f),
                });
                touched.push(f);
            }
        }
    }
    if items.is_empty() {
        return Ok(Plan::output(vec!["Nothing was changed.".into()]));
    }
    // What the staged items would do to the session's view.
    let mut after: Overlay = ctx.view.clone();
    for item in &items {
        if let Pending::Edit {
            mode, feature, edit, ..
        } = item
        {
            let value = edit
                .change()
                .applied_to(*feature, ctx.view.defined(mode, *feature));
            after.set(mode.clone(), *feature, value);
        }
    }
    let reach = super::reach(ctx, &ctx.view, &after, &touched);
    let mut warnings = Vec::new();
    if touched
        .iter()
        .any(|f| matches!(f, FeatureId::Listeners | FeatureId::IpInterfaces))
    {
        let hosts: BTreeSet<_> = ctx.members().iter().map(|m| m.hostname.clone()).collect();
        warnings = newly_disabled(
            &hosts,
            |h| listeners_in(ctx.fleet, &ctx.view, h),
            |h| listeners_in(ctx.fleet, &after, h),
        )
        .into_iter()
        .map(|w| w.replacen("Warning: Listener", "Warning: after this change, listener", 1))
        .collect();
    }
    // Copying one machine's interfaces onto another copies their addresses too (rules §14.7.6).
    if let ClusterSetCmd::Copy {
        from: Mode::Machine(a),
        to: Mode::Machine(b),
        ..
    } = op
    {
        if touched.contains(&FeatureId::IpInterfaces) {
            warnings.push(format!(
                "Warning: copying the interfaces of {a} onto {b} copies their IP addresses too: both machines would claim the same addresses; edit them on {b} before you commit."
            ));
        }
    }
    let mut output: Vec<String> = items
        .iter()
        .map(|i| format!("Staged: {}.", i.describe()))
        .collect();
    // The console's words (rules §15.31): titles, modes as the pages name them, and where to commit.
    let mut gui: Vec<String> = items
        .iter()
        .map(|i| format!("Staged: {}.", ctx.gui_describe(i)))
        .collect();
    if !skipped.is_empty() {
        output.push(format!(
            "Skipped {}: machine-only settings stay with their machine (rules §14.7.6).",
            skipped.join(", ")
        ));
        gui.push(format!(
            "Skipped {}: machine-only settings stay with their machine.",
            skipped.join(", ")
        ));
    }
    output.push("Run commit to apply.".to_string());
    gui.push(gui_commit_hint(items.len()).to_string());
    Ok(Plan {
        session: ctx.stage(items),
        output,
        warnings,
        reach,
        gui,
        ..Plan::default()
    })
}
