//! Login sessions (rules §2.11, §14.7.4): user, login host, the terminal's current mode and staged
//! changes. A session is private: it is not part of the fleet, never advances the fleet's revision, and
//! changes only by the [`SessionChange`]s its own commands produce (and by following the fleet, see
//! `crate::apply::follow`). Here also live the staging helpers every staging command uses: the session's
//! view (its login host's replica with its own edits laid over it, rules §14.2.3), the revision an
//! item's editing started from, and the groups as the staged structural changes leave them.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue};
use crate::mode::Mode;
use crate::names::{GroupName, Hostname, UserName};
use crate::store::{ConfigStore, Overlay, Rev};
use crate::structure::StructureOp;

/// Identifies a login session.
pub type SessionId = u64;

/// One staged change, applied by `commit` (rules §14.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A whole-value change of one feature at one mode; `value: None` removes the definition.
    /// `base` is the revision the session saw at its first edit of the item (for the conflict check).
    Edit {
        mode: Mode,
        feature: FeatureId,
        value: Option<FeatureValue>,
        base: Option<Rev>,
    },
    /// A structural change of the cluster.
    Structure(StructureOp),
}

impl Pending {
    /// A one-line description for `commit` previews and the pending-changes panel.
    pub fn describe(&self) -> String {
        match self {
            Pending::Edit {
                mode,
                feature,
                value: Some(v),
                ..
            } => format!("{feature} at {mode}: {} row(s)", v.rows.len()),
            Pending::Edit {
                mode,
                feature,
                value: None,
                ..
            } => format!("{feature} at {mode}: delete the definition"),
            Pending::Structure(op) => op.describe(),
        }
    }

    pub fn structure(&self) -> Option<&StructureOp> {
        match self {
            Pending::Structure(op) => Some(op),
            Pending::Edit { .. } => None,
        }
    }
}

/// A change of a session, produced by its own commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SessionChange {
    /// The terminal's mode (`clustermode`, or an accepted mode-switch question).
    Mode { mode: Option<Mode> },
    /// One more staged item.
    Stage { item: Pending },
    /// Every staged item is gone (`clear`, or a `commit`).
    Clear,
}

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user: UserName,
    pub host: Hostname,
    /// `None` on a standalone machine (no modes).
    pub mode: Option<Mode>,
    pub pending: Vec<Pending>,
}

impl Session {
    /// A new session of `user` on `host`; a member starts in cluster mode, a standalone machine has no
    /// mode (rules §12.9).
    pub fn open(id: SessionId, user: UserName, host: Hostname, member: bool) -> Session {
        Session {
            id,
            user,
            host,
            mode: member.then_some(Mode::Cluster),
            pending: Vec::new(),
        }
    }

    /// Applies one of the session's own changes.
    pub fn apply(&mut self, change: &SessionChange) {
        match change {
            SessionChange::Mode { mode } => self.mode = mode.clone(),
            SessionChange::Stage { item } => self.stage(item.clone()),
            SessionChange::Clear => self.pending.clear(),
        }
    }

    /// The staged edit of `(mode, feature)`, if any.
    pub fn pending_edit(&self, mode: &Mode, feature: FeatureId) -> Option<&Pending> {
        self.pending
            .iter()
            .find(|p| matches!(p, Pending::Edit { mode: m, feature: f, .. } if m == mode && *f == feature))
    }

    /// What the session sees: `committed` (its login host's replica) with its staged edits laid over it.
    pub fn view<'a>(&self, committed: &'a ConfigStore) -> Overlay<'a> {
        let mut view = Overlay::new(committed);
        for p in &self.pending {
            if let Pending::Edit {
                mode, feature, value, ..
            } = p
            {
                view.set(mode.clone(), *feature, value.clone());
            }
        }
        view
    }

    /// The revision the editing of an item starts from: the first staged edit's, else the committed one.
    pub fn base_for(&self, committed: &ConfigStore, mode: &Mode, feature: FeatureId) -> Option<Rev> {
        if let Some(Pending::Edit { base, .. }) = self.pending_edit(mode, feature) {
            return base.clone();
        }
        committed.current_rev(mode, feature)
    }

    /// The staged structural changes, in order.
    pub fn structure(&self) -> impl Iterator<Item = &StructureOp> {
        self.pending.iter().filter_map(Pending::structure)
    }

    /// `groups` with the session's staged group changes applied in order: what the next staged item is
    /// checked against (rules §14.2.3).
    pub fn staged_groups(&self, groups: &[GroupName]) -> Vec<GroupName> {
        staged_groups(groups, self.structure())
    }

    /// Adds a staged item; a second edit of the same item replaces its value and keeps the first base.
    pub fn stage(&mut self, item: Pending) {
        if let Pending::Edit {
            mode, feature, value, ..
        } = &item
        {
            for p in self.pending.iter_mut() {
                if let Pending::Edit {
                    mode: m,
                    feature: f,
                    value: v,
                    ..
                } = p
                {
                    if m == mode && f == feature {
                        *v = value.clone();
                        return;
                    }
                }
            }
        }
        self.pending.push(item);
    }
}

/// `groups` after `ops`, applied in order.
pub fn staged_groups<'a>(
    groups: &[GroupName],
    ops: impl IntoIterator<Item = &'a StructureOp>,
) -> Vec<GroupName> {
    let mut out = groups.to_vec();
    for op in ops {
        op.groups_after(&mut out);
    }
    out
}
