//! `clusterset copy | move | delete` — Manage Settings (DOMAIN 3.4, 5.3). Staged until `commit`.

use std::collections::BTreeSet;

use crate::command::{ClusterSet, Command, FeatureSel};
use crate::features::FeatureId;
use crate::model::{ConfigStore, Mode, Rev, Setting};
use crate::session::Pending;
use crate::verdict::{Asker, Plan, Rejection, Stop};

use super::Ctx;

fn features_defined_at(view: &ConfigStore, mode: &Mode) -> Vec<FeatureId> {
    FeatureId::ALL
        .into_iter()
        .filter(|f| view.get(mode, *f).is_some())
        .collect()
}

pub(super) fn check(ctx: &Ctx, command: &Command, op: &ClusterSet, asker: &mut Asker) -> Result<Plan, Stop> {
    ctx.require_cluster(command)?;
    let mut items: Vec<Pending> = Vec::new();
    let mut touched: Vec<FeatureId> = Vec::new();
    match op {
        ClusterSet::Copy { feature, from, to } | ClusterSet::Move { feature, from, to } => {
            let is_move = matches!(op, ClusterSet::Move { .. });
            let action = if is_move { "move" } else { "copy" };
            super::reads::validate_mode(ctx, command, from)?;
            super::reads::validate_mode(ctx, command, to)?;
            if from == to {
                return Err(Rejection::SameMode { mode: from.clone() }.into());
            }
            let features = match feature {
                FeatureSel::One(f) => {
                    let schema = f.schema();
                    if !schema.levels.allows(to.level()) {
                        return Err(Rejection::LevelNotAllowed {
                            feature: *f,
                            level: to.level().to_string(),
                            levels: schema.levels.describe(),
                        }
                        .into());
                    }
                    if is_move && !schema.levels.allows(from.level()) {
                        return Err(Rejection::LevelNotAllowed {
                            feature: *f,
                            level: from.level().to_string(),
                            levels: schema.levels.describe(),
                        }
                        .into());
                    }
                    if ctx.view.get(from, *f).is_none() {
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
                    let all: Vec<FeatureId> = features_defined_at(&ctx.view, from)
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
                    all
                }
            };
            for f in features {
                if ctx.view.get(to, f).is_some() {
                    let question = format!("Settings for {f} already exist at {to}; replace them? [N]>");
                    if !asker.yes_no(question, false)? {
                        continue;
                    }
                }
                let value = ctx.view.get(from, f).map(|s| s.value.clone());
                items.push(Pending::Edit {
                    mode: to.clone(),
                    feature: f,
                    value,
                    base: super::commit::base_for(ctx, to, f),
                });
                if is_move {
                    // The cluster level is never undefined (I6): moving away leaves the default there.
                    let left = if *from == Mode::Cluster {
                        Some(f.schema().default_value())
                    } else {
                        None
                    };
                    items.push(Pending::Edit {
                        mode: from.clone(),
                        feature: f,
                        value: left,
                        base: super::commit::base_for(ctx, from, f),
                    });
                }
                touched.push(f);
            }
        }
        ClusterSet::Delete { feature, mode } => {
            super::reads::validate_mode(ctx, command, mode)?;
            let features = match feature {
                FeatureSel::One(f) => {
                    if *mode == Mode::Cluster {
                        return Err(Rejection::ClusterCannotBeUndefined { feature: *f }.into());
                    }
                    if ctx.view.get(mode, *f).is_none() {
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
                    let all = features_defined_at(&ctx.view, mode);
                    if all.is_empty() {
                        return Err(Rejection::Other(format!(
                            "Nothing is defined at {mode}; nothing to delete."
                        ))
                        .into());
                    }
                    all
                }
            };
            for f in features {
                items.push(Pending::Edit {
                    mode: mode.clone(),
                    feature: f,
                    value: None,
                    base: super::commit::base_for(ctx, mode, f),
                });
                touched.push(f);
            }
        }
    }
    if items.is_empty() {
        return Ok(Plan::output(vec!["Nothing was changed.".into()]));
    }
    // What the staged items would do to the session's view.
    let mut after = ctx.view.clone().into_owned();
    for item in &items {
        if let Pending::Edit {
            mode, feature, value, ..
        } = item
        {
            match value {
                Some(v) => {
                    let rev = Rev {
                        at: ctx.now,
                        user: ctx.user().clone(),
                        origin: ctx.host().clone(),
                        seq: u64::MAX,
                    };
                    after.set(
                        mode.clone(),
                        *feature,
                        Setting {
                            value: v.clone(),
                            rev,
                        },
                    );
                }
                None => {
                    after.remove(mode, *feature);
                }
            }
        }
    }
    let reach = super::reach(ctx, &ctx.view, &after, &touched);
    let mut warnings = Vec::new();
    if touched
        .iter()
        .any(|f| matches!(f, FeatureId::Listeners | FeatureId::IpInterfaces))
    {
        let mut before_fleet = ctx.fleet.clone();
        let mut after_fleet = ctx.fleet.clone();
        let hosts: BTreeSet<_> = ctx.members().iter().map(|m| m.hostname.clone()).collect();
        for h in &hosts {
            if let Some(m) = before_fleet.machines.get_mut(h) {
                m.config = ctx.view.clone().into_owned();
            }
            if let Some(m) = after_fleet.machines.get_mut(h) {
                m.config = after.clone();
            }
        }
        warnings = super::commit::newly_disabled(&before_fleet, &after_fleet, &hosts)
            .into_iter()
            .map(|w| w.replacen("Warning: Listener", "Warning: after this change, listener", 1))
            .collect();
    }
    let output = items
        .iter()
        .map(|i| format!("Staged: {}.", i.describe()))
        .chain(std::iter::once("Run commit to apply.".to_string()))
        .collect();
    Ok(Plan {
        events: ctx.stage(items),
        output,
        warnings,
        reach,
    })
}
