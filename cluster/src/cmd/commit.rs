//! `commit` and `clear` (rules §3.7, §14.2.3, §14.3.5).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Ctx, Family, Help};
use crate::event::{EventKind, Write};
use crate::features::FeatureId;
use crate::lexer::{ParseError, Words};
use crate::mail::{listener_states, newly_disabled};
use crate::mode::{Level, Mode};
use crate::names::{GroupName, Hostname};
use crate::roles::Permission;
use crate::session::{staged_groups, Pending, SessionChange, StagedEdit, Touched};
use crate::store::{Definitions, Rev};
use crate::structure::StructureOp;
use crate::verdict::{gui_count, gui_place, Asker, Choice, Plan, Rejection, Stop, YesNo};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CommitCmd {
    /// `commit [comment]`: applies every staged change of the session.
    Commit { comment: Option<String> },
    /// `clear`: discards every staged change of the session.
    Clear,
}

impl Family for CommitCmd {
    fn owns(word: &str) -> bool {
        matches!(word, "commit" | "clear")
    }

    fn words() -> Vec<&'static str> {
        vec!["commit", "clear"]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        if word == "clear" {
            w.done()?;
            return Ok(CommitCmd::Clear);
        }
        let rest = w.rest();
        Ok(CommitCmd::Commit {
            comment: (!rest.is_empty()).then(|| rest.join(" ")),
        })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitCmd::Commit { comment: Some(c) } => {
                write!(f, "commit {}", crate::features::quote_if_needed(c))
            }
            CommitCmd::Commit { comment: None } => f.write_str("commit"),
            CommitCmd::Clear => f.write_str("clear"),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            CommitCmd::Commit { .. } => "commit",
            CommitCmd::Clear => "clear",
        }
    }

    fn kind(&self) -> CommandKind {
        match self {
            CommitCmd::Commit { .. } => CommandKind::Immediate,
            // Discarding the session's own staged list never conflicts with anyone.
            CommitCmd::Clear => CommandKind::Stage,
        }
    }

    fn permission(&self) -> Permission {
        match self {
            CommitCmd::Commit { .. } => Permission::Commit,
            CommitCmd::Clear => Permission::Stage,
        }
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        match self {
            CommitCmd::Commit { comment } => commit(ctx, comment.as_deref(), asker),
            CommitCmd::Clear => clear(ctx),
        }
    }

    fn help(word: &str) -> Option<Help> {
        Some(match word {
            "clear" => Help::new("Discard every staged change of this session.", "clear"),
            _ => Help::new("Apply every staged change of this session.", "commit [comment]"),
        })
    }
}

/// Checks the staged structural items in order, each against the groups the previous ones leave.
fn validate_structure(ctx: &Ctx, items: &[&StructureOp]) -> Result<(), Rejection> {
    if items.is_empty() {
        return Ok(());
    }
    let Some(cluster) = ctx.cluster() else {
        return Err(Rejection::StaleStructure {
            reason: format!("{} is no longer in a cluster", ctx.host()),
        });
    };
    let stale = |item: &StructureOp, reason: String| Rejection::StaleStructure {
        reason: format!("\"{}\": {reason}; run clear and stage it again", item.describe()),
    };
    for (i, item) in items.iter().enumerate() {
        let groups = staged_groups(&cluster.groups, items[..i].iter().copied());
        let missing = |g: &GroupName| !groups.contains(g);
        match item {
            StructureOp::RenameGroup { old: g, .. }
            | StructureOp::DeleteGroup { group: g, .. }
            | StructureOp::SetGroup { group: g, .. }
                if missing(g) =>
            {
                return Err(stale(item, format!("group {g} does not exist by then")));
            }
            StructureOp::DeleteGroup { dest: Some(d), .. } if missing(d) => {
                return Err(stale(item, format!("group {d} does not exist by then")));
            }
            StructureOp::SetGroup { host, .. }
                if ctx.fleet.machine(host).and_then(|m| m.cluster()) != Some(&cluster.name) =>
            {
                return Err(stale(item, format!("{host} is no longer a member")));
            }
            StructureOp::AddGroup { group } | StructureOp::RenameGroup { new: group, .. }
                if groups.contains(group) =>
            {
                return Err(stale(item, format!("group {group} already exists")));
            }
            _ => {}
        }
    }
    Ok(())
}

fn commit(ctx: &Ctx, comment: Option<&str>, asker: &mut Asker) -> Result<Plan, Stop> {
    let pending = &ctx.session.pending;
    if pending.is_empty() {
        return Ok(Plan::output(vec!["There are no changes to commit.".into()]));
    }
    let structural: Vec<&StructureOp> = ctx.session.structure().collect();
    if let (Some(first), Some(_), false) = (structural.first(), ctx.cluster(), ctx.is_connected()) {
        return Err(Rejection::StructureWhileDetached {
            host: ctx.host().clone(),
            what: first.describe(),
        }
        .into());
    }
    validate_structure(ctx, &structural)?;
    // Every staged item against the session's standing now, not when it was staged (rules §7, §14.2.3,
    // §14.7.8): the login host may have been disconnected, the user's role changed, meanwhile.
    for p in pending {
        if let Pending::Edit { mode, feature, .. } = p {
            if ctx.may_configure(mode, "commit").is_err() {
                return Err(Rejection::DetachedCommit {
                    host: ctx.host().clone(),
                    feature: *feature,
                    mode: mode.clone(),
                }
                .into());
            }
            let needed = if *feature == FeatureId::Users {
                Permission::Admin
            } else {
                Permission::Stage
            };
            if !ctx.role.may(needed) {
                return Err(Rejection::NotPermitted {
                    user: ctx.user().clone(),
                    role: ctx.role,
                    command: "commit".into(),
                    why: format!("a staged change to {feature} is for {}", needed.who()),
                }
                .into());
            }
        }
    }
    if let Some(c) = ctx.cluster() {
        for p in pending {
            if let Pending::Edit {
                mode: Mode::Group(g), ..
            } = p
            {
                let renamed_or_added = structural.iter().any(|q| {
                    matches!(q, StructureOp::AddGroup { group } | StructureOp::RenameGroup { new: group, .. } if group == g)
                });
                if !c.groups.contains(g) && !renamed_or_added {
                    return Err(Rejection::StaleStructure {
                        reason: format!("group {g} no longer exists; run clear and stage the change again"),
                    }
                    .into());
                }
            }
        }
    }
    // Merge with what others committed meanwhile (rules §14.7.5): row changes that touch no row someone
    // else changed go in as they are; the question is asked only for rows both changed (naming them), or
    // for a whole item another commit changed under a whole-value edit.
    let mut writes = Vec::new();
    let mut discarded = Vec::new();
    let mut overwrote = Vec::new();
    for p in pending {
        let Pending::Edit {
            mode,
            feature,
            edit,
            base,
        } = p
        else {
            continue;
        };
        let committed = &ctx.login.config;
        let current_rev = committed.current_rev(mode, *feature);
        let change = match (current_rev.as_ref().filter(|r| Some(*r) != base.as_ref()), edit) {
            (None, _) => edit.change(),
            (Some(rev), StagedEdit::Rows { rows }) if committed.defined(mode, *feature).is_some() => {
                let current = committed.defined(mode, *feature);
                let theirs = |t: &Touched| current.and_then(|v| v.row(&t.key)).cloned();
                // Rows both changed, and differently.
                let both: Vec<&Touched> = rows
                    .iter()
                    .filter(|t| theirs(t) != t.before && theirs(t) != t.after)
                    .collect();
                let mut keep: Vec<Touched> = rows.iter().filter(|t| !both.contains(t)).cloned().collect();
                if !both.is_empty() {
                    let keys = name_rows(&both);
                    let it = if both.len() == 1 { "it" } else { "them" };
                    let question = conflict_question(
                        format!(
                            "{feature} at {mode} was changed by '{}' on {} at {} after you started editing: {keys}. Discard your change to {it}? [Y]>",
                            rev.user, rev.origin, rev.at,
                        ),
                        *feature,
                        mode,
                        rev,
                        Some(&keys),
                    );
                    if asker.yes_no(question)? {
                        discarded.push(format!("{keys} of {feature} at {mode}"));
                    } else {
                        overwrote.push(format!(
                            "Overwrote {keys} of {feature} at {mode} (changed by '{}' on {} at {}).",
                            rev.user, rev.origin, rev.at
                        ));
                        keep.extend(both.into_iter().cloned());
                    }
                }
                if keep.is_empty() {
                    continue;
                }
                StagedEdit::Rows { rows: keep }.change()
            }
            (Some(rev), edit) => {
                let question = conflict_question(
                    format!(
                        "{feature} at {mode} was changed by '{}' on {} at {} after you started editing. Discard your change? [Y]>",
                        rev.user, rev.origin, rev.at
                    ),
                    *feature,
                    mode,
                    rev,
                    None,
                );
                if asker.yes_no(question)? {
                    discarded.push(format!("{feature} at {mode}"));
                    continue;
                }
                overwrote.push(format!(
                    "Overwrote {feature} at {mode} (changed by '{}' on {} at {}).",
                    rev.user, rev.origin, rev.at
                ));
                edit.change()
            }
        };
        if let Some(merged) = change.applied_to(*feature, committed.defined(mode, *feature)) {
            let max = feature.schema().max_rows;
            if merged.rows.len() > max {
                return Err(Rejection::TooManyRows {
                    feature: *feature,
                    mode: mode.clone(),
                    max,
                }
                .into());
            }
        }
        writes.push(Write {
            mode: mode.clone(),
            feature: *feature,
            change,
        });
    }
    let structure: Vec<StructureOp> = structural.into_iter().cloned().collect();
    let event = ctx.event(EventKind::Committed {
        host: ctx.host().clone(),
        user: ctx.user().clone(),
        writes: writes.clone(),
        structure: structure.clone(),
        comment: comment.map(str::to_string),
    });
    let mut after = ctx.fleet.clone();
    crate::apply::apply(&mut after, &event);
    let targets = crate::apply::targets(ctx.fleet, ctx.host());
    let mut warnings = Vec::new();
    if ctx.cluster().is_some() && writes.iter().any(|w| w.mode.level() != Level::Machine) {
        let away: Vec<String> = ctx
            .members()
            .iter()
            .filter(|m| !targets.contains(&m.hostname))
            .map(|m| m.hostname.to_string())
            .collect();
        if !away.is_empty() {
            warnings.push(format!(
                "Warning: {} machine(s) are disconnected ({}). Changes will be synchronised when they reconnect and may conflict.",
                away.len(),
                away.join(", ")
            ));
        }
    }
    warnings.extend(newly_disabled(
        &targets,
        |h| listener_states(ctx.fleet, h),
        |h| listener_states(&after, h),
    ));
    let features: Vec<FeatureId> = writes.iter().map(|w| w.feature).collect();
    let reach: Vec<Hostname> = after
        .machines
        .keys()
        .filter(|h| {
            features
                .iter()
                .any(|f| ctx.fleet.effective(h, *f) != after.effective(h, *f))
                || ctx.fleet.machine(h).map(|m| &m.membership) != after.machine(h).map(|m| &m.membership)
        })
        .cloned()
        .collect();
    let committed = writes.len() + structure.len();
    let comment = comment.map(|c| format!(" ({c})")).unwrap_or_default();
    let mut output = vec![format!("Committed {committed} change(s){comment}.")];
    // The console's words (rules §15.31): the same lines, counted without `(s)`.
    let mut gui = vec![format!(
        "Committed {}{comment}.",
        gui_count(committed, "change", "changes")
    )];
    for d in &discarded {
        output.push(format!("Discarded your change to {d}."));
    }
    output.extend(overwrote.iter().cloned());
    if !reach.is_empty() {
        output.push(format!(
            "Effective configuration changed on: {}.",
            reach.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    gui.extend(output.iter().skip(1).cloned());
    Ok(Plan {
        events: vec![event],
        session: vec![SessionChange::Clear],
        output,
        warnings,
        reach,
        notes: overwrote,
        gui,
        declined: false,
    })
}

/// The commit-conflict question (rules §14.1.3, §14.7.5) in both renderings: `question` is the CLI's;
/// the console names both outcomes by whose change survives (rules §15.31). `rows` names the rows both
/// changed, when only rows conflict.
fn conflict_question(
    question: String,
    feature: FeatureId,
    mode: &Mode,
    rev: &Rev,
    rows: Option<&str>,
) -> YesNo {
    let (title, place, who) = (feature.schema().title, gui_place(mode), &rev.user);
    let what = match rows {
        Some(keys) => format!("{keys} of {title}"),
        None => title.to_string(),
    };
    YesNo {
        question,
        default_yes: true,
        title: format!("{who} changed {title} at {place} while you were editing"),
        body: vec![
            format!(
                "{who} committed a change to {what} at {place} on {} at {}, after you started editing.",
                rev.origin, rev.at
            ),
            "Keeping theirs drops your change to it and commits the rest; overwriting replaces theirs with yours."
                .into(),
            "Cancel commits nothing; your changes stay staged.".into(),
        ],
        yes: Choice::acts(format!("Keep {who}'s change")),
        no: Choice::destroys(format!("Overwrite {who}'s change")),
    }
}

/// The rows a conflict question names: the first few by key, then how many more (a question stays one
/// readable line however many rows both sides changed).
fn name_rows(rows: &[&Touched]) -> String {
    const SHOWN: usize = 10;
    let mut keys: Vec<&str> = rows.iter().take(SHOWN).map(|t| t.key.as_str()).collect();
    let more = rows.len().saturating_sub(SHOWN);
    let more = format!("and {more} more");
    if rows.len() > SHOWN {
        keys.push(&more);
    }
    keys.join(", ")
}

fn clear(ctx: &Ctx) -> Result<Plan, Stop> {
    let n = ctx.session.pending.len();
    if n == 0 {
        return Ok(Plan::output(vec!["There are no changes to clear.".into()]));
    }
    Ok(Plan {
        session: vec![SessionChange::Clear],
        output: vec![format!("Discarded {n} staged change(s).")],
        gui: vec![format!(
            "Discarded {}. Nothing was sent to any machine.",
            gui_count(n, "staged change", "staged changes")
        )],
        ..Plan::default()
    })
}
