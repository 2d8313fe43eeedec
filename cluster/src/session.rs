//! Login sessions (DOMAIN 2.11): user, login host, current mode and staged changes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::FeatureId;
use crate::model::{ConfigStore, FeatureValue, Fleet, Mode, PrepJoin, Rev, SessionId};
use crate::names::{ClusterName, GroupName, Hostname, UserName};

/// One staged change, applied by `commit` (DOMAIN 14.3.1).
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
    AddGroup {
        group: GroupName,
    },
    RenameGroup {
        old: GroupName,
        new: GroupName,
    },
    DeleteGroup {
        group: GroupName,
        dest: Option<GroupName>,
    },
    SetGroup {
        host: Hostname,
        group: GroupName,
    },
    SetName {
        name: ClusterName,
    },
    PrepJoinNew {
        entry: PrepJoin,
    },
    PrepJoinDelete {
        entry: String,
    },
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
            } => {
                format!("{feature} at {mode}: {} row(s)", v.rows.len())
            }
            Pending::Edit {
                mode,
                feature,
                value: None,
                ..
            } => format!("{feature} at {mode}: delete the definition"),
            Pending::AddGroup { group } => format!("add group {group}"),
            Pending::RenameGroup { old, new } => format!("rename group {old} to {new}"),
            Pending::DeleteGroup { group, dest: Some(d) } => {
                format!("delete group {group}, moving its machines to {d}")
            }
            Pending::DeleteGroup { group, dest: None } => format!("delete group {group}"),
            Pending::SetGroup { host, group } => format!("move {host} to group {group}"),
            Pending::SetName { name } => format!("rename the cluster to {name}"),
            Pending::PrepJoinNew { entry } => {
                format!("prepjoin entry for {} (serial {})", entry.host, entry.serial)
            }
            Pending::PrepJoinDelete { entry } => format!("delete prepjoin entry {entry}"),
        }
    }

    pub fn is_structural(&self) -> bool {
        !matches!(self, Pending::Edit { .. })
    }
}

/// A login session. Sessions are part of the fleet so they survive restarts and follow renames.
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
    /// The staged edit of `(mode, feature)`, if any.
    pub fn pending_edit(&self, mode: &Mode, feature: FeatureId) -> Option<&Pending> {
        self.pending
            .iter()
            .find(|p| matches!(p, Pending::Edit { mode: m, feature: f, .. } if m == mode && *f == feature))
    }
}

/// What the session sees: its login host's replica with its own staged edits on top (staged commands
/// are checked against this, DOMAIN 14.2.3). Borrows the replica when nothing is staged.
pub fn session_view<'f>(fleet: &'f Fleet, session: &Session) -> Cow<'f, ConfigStore> {
    static EMPTY: ConfigStore = ConfigStore {
        modes: BTreeMap::new(),
        removed: BTreeMap::new(),
    };
    let base = match fleet.machine(&session.host) {
        Some(m) => &m.config,
        None => &EMPTY,
    };
    if !session.pending.iter().any(|p| matches!(p, Pending::Edit { .. })) {
        return Cow::Borrowed(base);
    }
    let mut store = base.clone();
    for p in &session.pending {
        if let Pending::Edit {
            mode, feature, value, ..
        } = p
        {
            match value {
                Some(v) => {
                    let rev = store
                        .get(mode, *feature)
                        .map(|s| s.rev.clone())
                        .unwrap_or_else(|| crate::model::Rev {
                            at: fleet.now,
                            user: session.user.clone(),
                            origin: session.host.clone(),
                            seq: u64::MAX,
                        });
                    store.set(
                        mode.clone(),
                        *feature,
                        crate::model::Setting {
                            value: v.clone(),
                            rev,
                        },
                    );
                }
                None => {
                    store.remove(mode, *feature);
                }
            }
        }
    }
    Cow::Owned(store)
}
