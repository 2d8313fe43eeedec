//! `commit` and `clear` (DOMAIN 3.7, 14.2.3, 14.3.5).

use std::collections::BTreeSet;

use crate::event::{EventKind, Write};
use crate::features::FeatureId;
use crate::model::{Fleet, Level, Mode, Rev};
use crate::names::Hostname;
use crate::session::Pending;
use crate::verdict::{Asker, Plan, Rejection, Stop};

use super::feature::current_rev;
use super::runtime::{listener_states, ListenerState};
use super::Ctx;

/// The revision a first staged edit of an item starts from (the committed one on the login host).
pub fn base_for(ctx: &Ctx, mode: &Mode, feature: FeatureId) -> Option<Rev> {
    if let Some(Pending::Edit { base, .. }) = ctx.session.pending_edit(mode, feature) {
        return base.clone();
    }
    current_rev(&ctx.login.config, mode, feature)
}

/// Listeners disabled in `after` that were not in `before`, on `hosts`: one warning line each.
pub fn newly_disabled(before: &Fleet, after: &Fleet, hosts: &BTreeSet<Hostname>) -> Vec<String> {
    let mut out = Vec::new();
    for h in hosts {
        let was: BTreeSet<String> = listener_states(before, h)
            .into_iter()
            .filter(|l| l.state == ListenerState::Disabled)
            .map(|l| l.name)
            .collect();
        for l in listener_states(after, h) {
            if l.state == ListenerState::Disabled && !was.contains(&l.name) {
                out.push(format!(
                    "Warning: Listener \"{}\" is disabled on {h}: interface \"{}\" does not exist there.",
                    l.name, l.interface
                ));
            }
        }
    }
    out
}

/// Checks the staged structural items in order, each against the groups the previous ones leave.
fn validate_structure(ctx: &Ctx, items: &[&Pending]) -> Result<(), Rejection> {
    if items.is_empty() {
        return Ok(());
    }
    let Some(cluster) = ctx.cluster() else {
        return Err(Rejection::StaleStructure {
            reason: format!("{} is no longer in a cluster", ctx.host()),
        });
    };
    let stale = |item: &Pending, reason: String| Rejection::StaleStructure {
        reason: format!("\"{}\": {reason}; run clear and stage it again", item.describe()),
    };
    for (i, item) in items.iter().enumerate() {
        let before: Vec<Pending> = items[..i].iter().map(|p| (*p).clone()).collect();
        let groups = super::clusterconfig::staged_groups(cluster, &before);
        let missing = |g: &crate::names::GroupName| !groups.contains(g);
        match item {
            Pending::RenameGroup { old: g, .. }
            | Pending::DeleteGroup { group: g, .. }
            | Pending::SetGroup { group: g, .. }
                if missing(g) =>
            {
                return Err(stale(item, format!("group {g} does not exist by then")));
            }
            Pending::DeleteGroup { dest: Some(d), .. } if missing(d) => {
                return Err(stale(item, format!("group {d} does not exist by then")));
            }
            Pending::SetGroup { host, .. }
                if ctx.fleet.machine(host).and_then(|m| m.cluster()) != Some(&cluster.name) =>
            {
                return Err(stale(item, format!("{host} is no longer a member")));
            }
            Pending::AddGroup { group } | Pending::RenameGroup { new: group, .. }
                if groups.contains(group) =>
            {
                return Err(stale(item, format!("group {group} already exists")));
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn commit(ctx: &Ctx, comment: Option<&str>, asker: &mut Asker) -> Result<Plan, Stop> {
    let pending = &ctx.session.pending;
    if pending.is_empty() {
        return Ok(Plan::output(vec!["There are no changes to commit.".into()]));
    }
    let structural: Vec<&Pending> = pending.iter().filter(|p| p.is_structural()).collect();
    if !structural.is_empty() && ctx.cluster().is_some() && !ctx.is_connected() {
        return Err(Rejection::StructureWhileDetached {
            host: ctx.host().clone(),
            what: structural[0].describe(),
        }
        .into());
    }
    validate_structure(ctx, &structural[..])?;
    if let Some(c) = ctx.cluster() {
        for p in pending {
            if let Pending::Edit {
                mode: Mode::Group(g), ..
            } = p
            {
                let renamed_or_added = pending.iter().any(|q| matches!(q, Pending::AddGroup { group } | Pending::RenameGroup { new: group, .. } if group == g));
                if !c.groups.contains(g) && !renamed_or_added {
                    return Err(Rejection::StaleStructure {
                        reason: format!("group {g} no longer exists; run clear and stage the change again"),
                    }
                    .into());
                }
            }
        }
    }
    // The conflict question, per item edited by someone else since this session's first edit of it.
    let mut writes = Vec::new();
    let mut discarded = Vec::new();
    for p in pending {
        let Pending::Edit {
            mode,
            feature,
            value,
            base,
        } = p
        else {
            continue;
        };
        let current = current_rev(&ctx.login.config, mode, *feature);
        if current != *base {
            if let Some(rev) = current {
                let question = format!(
                    "{feature} at {mode} was changed by '{}' on {} at {} after you started editing. Discard your change? [Y]>",
                    rev.user, rev.origin, rev.at
                );
                if asker.yes_no(question, true)? {
                    discarded.push(format!("{feature} at {mode}"));
                    continue;
                }
            }
        }
        writes.push(Write {
            mode: mode.clone(),
            feature: *feature,
            value: value.clone(),
        });
    }
    let structure: Vec<Pending> = structural.into_iter().cloned().collect();
    let event = ctx.event(EventKind::Committed {
        session: Some(ctx.session.id),
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
    warnings.extend(newly_disabled(ctx.fleet, &after, &targets));
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
    let mut output = vec![format!(
        "Committed {} change(s){}.",
        writes.len() + structure.len(),
        comment.map(|c| format!(" ({c})")).unwrap_or_default()
    )];
    for d in &discarded {
        output.push(format!("Discarded your change to {d}."));
    }
    if !reach.is_empty() {
        output.push(format!(
            "Effective configuration changed on: {}.",
            reach.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Plan {
        events: vec![event],
        output,
        warnings,
        reach,
    })
}

pub(super) fn clear(ctx: &Ctx) -> Result<Plan, Stop> {
    let n = ctx.session.pending.len();
    if n == 0 {
        return Ok(Plan::output(vec!["There are no changes to clear.".into()]));
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::Cleared {
            session: ctx.session.id,
        })],
        output: vec![format!("Discarded {n} staged change(s).")],
        ..Plan::default()
    })
}
