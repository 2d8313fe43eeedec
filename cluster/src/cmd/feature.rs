//! Per-feature configuration commands (`smtproutes`, `listenerconfig`, `userconfig`, ...) and `passwd`
//! (DOMAIN 3.8, 3.9, 5.2, 10.3, 14.5).

use crate::command::FeatureAction;
use crate::event::{EventKind, Write};
use crate::features::{ColumnKind, FeatureId, Shape};
use crate::model::{resolve, ConfigStore, FeatureValue, Mode, Rev, Row};
use crate::session::Pending;
use crate::verdict::{Asker, Plan, Rejection, Stop};

use super::Ctx;

/// The revision of an item in a store: its definition's, or its tombstone's.
pub fn current_rev(store: &ConfigStore, mode: &Mode, feature: FeatureId) -> Option<Rev> {
    store
        .get(mode, feature)
        .map(|s| s.rev.clone())
        .or_else(|| store.tombstone(mode, feature).cloned())
}

/// Where a mode inherits `feature` from, and the value (DOMAIN 5.4: the real source).
pub fn inherited(ctx: &Ctx, store: &ConfigStore, mode: &Mode, feature: FeatureId) -> (Mode, FeatureValue) {
    crate::view::inherited(ctx.fleet, store, mode, feature)
}

/// The value in effect at a mode: its own definition, else what it inherits.
pub fn value_at(ctx: &Ctx, store: &ConfigStore, mode: &Mode, feature: FeatureId) -> FeatureValue {
    match mode {
        Mode::Machine(h) => {
            let r = resolve(store, h, ctx.fleet.group_of(h), feature);
            r.setting
                .map(|s| s.value.clone())
                .unwrap_or_else(|| feature.schema().default_value())
        }
        _ => crate::view::value_at(ctx.fleet, store, mode, feature),
    }
}

fn print(ctx: &Ctx, feature: FeatureId, mode: &Mode) -> Vec<String> {
    let schema = feature.schema();
    let mut out = Vec::new();
    let value = if ctx.cluster().is_none() {
        out.push("Defined at standalone".to_string());
        ctx.view
            .get(mode, feature)
            .map(|s| s.value.clone())
            .unwrap_or_else(|| schema.default_value())
    } else {
        if ctx.view.get(mode, feature).is_some() {
            out.push(format!("Defined at {mode}"));
        } else {
            let source = match mode {
                Mode::Machine(h) => resolve(&ctx.view, h, ctx.fleet.group_of(h), feature).mode,
                _ => inherited(ctx, &ctx.view, mode, feature).0,
            };
            out.push(format!("Inherited from {source}"));
        }
        value_at(ctx, &ctx.view, mode, feature)
    };
    if value.rows.is_empty() {
        out.push("(no entries)".to_string());
    }
    for row in &value.rows {
        out.push(render(feature, row));
    }
    out
}

/// A row as `print` shows it (DOMAIN 10.3).
pub fn render(feature: FeatureId, row: &Row) -> String {
    if feature == FeatureId::IpInterfaces {
        let mut s = format!("{} {}", row.cell(0), row.cell(1));
        if row.cell(2) != "0" {
            s.push_str(&format!(" ssh={}", row.cell(2)));
        }
        if row.cell(3) != "0" && !row.cell(3).is_empty() {
            s.push_str(&format!(" ccs={}", row.cell(3)));
        }
        return s;
    }
    feature.schema().render_row(row)
}

pub(super) fn check(
    ctx: &Ctx,
    feature: FeatureId,
    action: &FeatureAction,
    asker: &mut Asker,
) -> Result<Plan, Stop> {
    let schema = feature.schema();
    let mode = ctx.edit_mode();
    if ctx.cluster().is_some() {
        if !schema.levels.allows(mode.level()) {
            return Err(Rejection::LevelNotAllowed {
                feature,
                level: mode.level().to_string(),
                levels: schema.levels.describe(),
            }
            .into());
        }
        if let Mode::Machine(h) = &mode {
            if h != ctx.host() && !ctx.is_connected() {
                return Err(Rejection::DetachedHost {
                    host: ctx.host().clone(),
                    command: feature.command().into(),
                }
                .into());
            }
        }
    }
    if let FeatureAction::Print = action {
        return Ok(Plan::output(print(ctx, feature, &mode)));
    }
    // Every check that does not depend on the answer runs before the question.
    let row = match action {
        FeatureAction::New(cells) | FeatureAction::Edit(cells) | FeatureAction::Set(cells) => {
            Some(schema.parse_row(cells)?)
        }
        _ => None,
    };
    if let (FeatureAction::Set(_), Some(row)) = (action, &row) {
        if schema.shape != Shape::Single {
            return Err(Rejection::Other(format!(
                "{feature} takes new, edit or delete; see help {feature}."
            ))
            .into());
        }
        if feature == FeatureId::Hostname {
            let host = match &mode {
                Mode::Machine(h) => h.clone(),
                _ => ctx.host().clone(),
            };
            if row.cell(0) != host.as_str() {
                return Err(Rejection::HostnameChange { host }.into());
            }
        }
    } else if schema.shape == Shape::Single {
        return Err(Rejection::Other(format!(
            "{feature} holds one value: set it with \"{feature} {}\".",
            schema.row_syntax()
        ))
        .into());
    }
    if let FeatureAction::Delete(key) = action {
        if feature == FeatureId::Users && key == "admin" {
            return Err(Rejection::AdminIsPermanent.into());
        }
    }
    let defined = ctx.view.get(&mode, feature).map(|s| s.value.clone());
    let start = match defined {
        Some(v) => v,
        None => {
            let (source, inherited_value) = inherited(ctx, &ctx.view, &mode, feature);
            let question = format!(
                "{feature} is not defined at {mode}; it inherits from {source}.\n\
                 1. Start with the default settings\n\
                 2. Start with a copy of the settings inherited from {source}\n[2]>"
            );
            match asker.choose(question, 2, 2)? {
                1 => schema.default_value(),
                _ => inherited_value,
            }
        }
    };
    let mut value = start;
    let summary = match (action, row) {
        (FeatureAction::New(_), Some(row)) => {
            if value.row(row.key()).is_some() {
                return Err(Rejection::KeyExists {
                    feature,
                    mode,
                    key: row.key().to_string(),
                }
                .into());
            }
            let s = format!("added {}", render(feature, &row));
            value.rows.push(row);
            s
        }
        (FeatureAction::Edit(_), Some(row)) => {
            let Some(slot) = value.rows.iter_mut().find(|r| r.key() == row.key()) else {
                return Err(Rejection::KeyMissing {
                    feature,
                    mode,
                    key: row.key().to_string(),
                }
                .into());
            };
            let s = format!("changed {}", render(feature, &row));
            *slot = row;
            s
        }
        (FeatureAction::Delete(key), _) => {
            let before = value.rows.len();
            value.rows.retain(|r| r.key() != key);
            if value.rows.len() == before {
                return Err(Rejection::KeyMissing {
                    feature,
                    mode,
                    key: key.chars().take(80).collect(),
                }
                .into());
            }
            format!("deleted {key}")
        }
        (FeatureAction::Set(_), Some(row)) => {
            let s = format!("set to {}", render(feature, &row));
            value.rows = vec![row];
            s
        }
        _ => String::new(),
    };
    let base = super::commit::base_for(ctx, &mode, feature);
    let mut after = ctx.view.clone().into_owned();
    if let Some(s) = after.get(&mode, feature).cloned() {
        after.set(
            mode.clone(),
            feature,
            crate::model::Setting {
                value: value.clone(),
                rev: s.rev,
            },
        );
    } else {
        after.set(
            mode.clone(),
            feature,
            crate::model::Setting {
                value: value.clone(),
                rev: Rev {
                    at: ctx.now,
                    user: ctx.user().clone(),
                    origin: ctx.host().clone(),
                    seq: u64::MAX,
                },
            },
        );
    }
    let reach = super::reach(ctx, &ctx.view, &after, &[feature]);
    let item = Pending::Edit {
        mode: mode.clone(),
        feature,
        value: Some(value),
        base,
    };
    let where_ = if ctx.cluster().is_some() {
        mode.to_string()
    } else {
        "standalone".to_string()
    };
    Ok(Plan {
        events: vec![ctx.event(EventKind::Staged {
            session: ctx.session.id,
            item,
        })],
        output: vec![format!(
            "Staged: {feature} at {where_}: {summary}. Run commit to apply it."
        )],
        warnings: Vec::new(),
        reach,
    })
}

/// `passwd <new>`: the user's own password, at once, at cluster level (or the standalone's own users).
pub(super) fn passwd(ctx: &Ctx, password: &str) -> Result<Plan, Stop> {
    crate::features::validate_cell(ColumnKind::Secret, password).map_err(|reason| {
        Rejection::InvalidRow(format!("passwd: the new password is not valid: {reason}"))
    })?;
    let mode = if ctx.cluster().is_some() {
        Mode::Cluster
    } else {
        ctx.login.own_mode()
    };
    let mut users = ctx
        .login
        .config
        .get(&mode, FeatureId::Users)
        .map(|s| s.value.clone())
        .ok_or_else(|| Rejection::UserGone {
            user: ctx.user().clone(),
            host: ctx.host().clone(),
        })?;
    let Some(row) = users.rows.iter_mut().find(|r| r.key() == ctx.user().as_str()) else {
        return Err(Rejection::UserGone {
            user: ctx.user().clone(),
            host: ctx.host().clone(),
        }
        .into());
    };
    row.0[2] = password.to_string();
    Ok(Plan {
        events: vec![ctx.event(EventKind::Committed {
            session: None,
            host: ctx.host().clone(),
            user: ctx.user().clone(),
            writes: vec![Write {
                mode,
                feature: FeatureId::Users,
                value: Some(users),
            }],
            structure: Vec::new(),
            comment: Some("passwd".into()),
        })],
        output: vec![format!("Password changed for {}.", ctx.user())],
        ..Plan::default()
    })
}
