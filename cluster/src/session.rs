//! Login sessions (rules §2.11, §14.7.4): user, login host, the terminal's current mode and staged
//! changes. A session is private: it is not part of the fleet, never advances the fleet's revision, and
//! changes only by the [`SessionChange`]s its own commands produce (and by following the fleet, see
//! `crate::apply::follow`). Here also live the staging helpers every staging command uses: the session's
//! view (its login host's replica with its own edits laid over it, rules §14.2.3), the revision an
//! item's editing started from, and the groups as the staged structural changes leave them.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue, Row};
use crate::mode::Mode;
use crate::names::{GroupName, Hostname, UserName};
use crate::store::{Change, ConfigStore, Definitions, Overlay, Rev};
use crate::structure::StructureOp;

/// Identifies a login session.
pub type SessionId = u64;

/// One row a session touched: as it was when the session first touched it, and as the session leaves
/// it (`None`: absent / deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touched {
    pub key: String,
    pub before: Option<Row>,
    pub after: Option<Row>,
}

/// What a staged edit does to one definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum StagedEdit {
    /// Row changes of a defined item, in the order made; commits merge them with other sessions' changes
    /// of other rows (rules §14.7.5).
    Rows { rows: Vec<Touched> },
    /// A whole new value: a new definition (from the defaults or a copy), `clusterset`, `loadconfig`, a
    /// single-value feature.
    Define { value: FeatureValue },
    /// The definition removed.
    Remove,
}

impl StagedEdit {
    /// The change it writes.
    pub fn change(&self) -> Change {
        match self {
            StagedEdit::Rows { rows } => Change::Rows {
                upsert: rows.iter().filter_map(|t| t.after.clone()).collect(),
                delete: rows
                    .iter()
                    .filter(|t| t.after.is_none())
                    .map(|t| t.key.clone())
                    .collect(),
            },
            StagedEdit::Define { value } => Change::Define { value: value.clone() },
            StagedEdit::Remove => Change::Remove,
        }
    }

    /// Every row it carries, before and after images included (for the secrets visitors).
    pub fn rows_mut(&mut self) -> Box<dyn Iterator<Item = &mut Row> + '_> {
        match self {
            StagedEdit::Rows { rows } => Box::new(
                rows.iter_mut()
                    .flat_map(|t| t.before.iter_mut().chain(t.after.iter_mut())),
            ),
            StagedEdit::Define { value } => Box::new(value.rows.iter_mut()),
            StagedEdit::Remove => Box::new(std::iter::empty()),
        }
    }

    /// This edit followed by `later` (of the same item): row changes keep each row's first `before`; a
    /// whole value absorbs later row changes; a whole value or a removal replaces what came before.
    pub fn then(self, later: StagedEdit) -> StagedEdit {
        match (self, later) {
            (StagedEdit::Rows { mut rows }, StagedEdit::Rows { rows: more }) => {
                for t in more {
                    match rows.iter_mut().find(|r| r.key == t.key) {
                        Some(r) => r.after = t.after,
                        None => rows.push(t),
                    }
                }
                // A row added then deleted again is no change at all.
                rows.retain(|r| !(r.before.is_none() && r.after.is_none()));
                StagedEdit::Rows { rows }
            }
            (StagedEdit::Define { mut value }, StagedEdit::Rows { rows }) => {
                let change = StagedEdit::Rows { rows }.change();
                if let Change::Rows { upsert, delete } = change {
                    value.apply_rows(&upsert, &delete);
                }
                StagedEdit::Define { value }
            }
            (_, later) => later,
        }
    }

    /// Rows added, changed and deleted (for descriptions).
    fn counts(&self) -> (usize, usize, usize) {
        match self {
            StagedEdit::Rows { rows } => {
                rows.iter()
                    .fold((0, 0, 0), |(a, c, d), t| match (&t.before, &t.after) {
                        (None, Some(_)) => (a + 1, c, d),
                        (Some(_), Some(_)) => (a, c + 1, d),
                        _ => (a, c, d + 1),
                    })
            }
            _ => (0, 0, 0),
        }
    }
}

/// One staged change, applied by `commit` (rules §14.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A change of one feature at one mode. `base` is the revision the session saw at its first edit of
    /// the item (for the conflict check).
    Edit {
        mode: Mode,
        feature: FeatureId,
        edit: StagedEdit,
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
                edit: edit @ StagedEdit::Rows { .. },
                ..
            } => {
                let (added, changed, deleted) = edit.counts();
                let mut parts = Vec::new();
                for (n, what) in [(added, "added"), (changed, "changed"), (deleted, "deleted")] {
                    if n > 0 {
                        parts.push(format!("{n} {what}"));
                    }
                }
                if parts.is_empty() {
                    parts.push("no change".into());
                }
                format!("{feature} at {mode}: {}", parts.join(", "))
            }
            Pending::Edit {
                mode,
                feature,
                edit: StagedEdit::Define { value },
                ..
            } => format!("{feature} at {mode}: defined with {} row(s)", value.rows.len()),
            Pending::Edit {
                mode,
                feature,
                edit: StagedEdit::Remove,
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
    /// The role the server gave the session. A replica whose user database is withheld from that role
    /// (the browser's, for help desk and guests: rules §14.7.2) checks commands with it; wherever the
    /// user database is visible, the database decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::roles::Role>,
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
            role: None,
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
                mode, feature, edit, ..
            } = p
            {
                let value = edit
                    .change()
                    .applied_to(*feature, committed.defined(mode, *feature));
                view.set(mode.clone(), *feature, value);
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

    /// Adds a staged item; a later edit of the same item is combined with the earlier one
    /// ([`StagedEdit::then`]) and keeps the first base.
    pub fn stage(&mut self, item: Pending) {
        if let Pending::Edit {
            mode, feature, edit, ..
        } = &item
        {
            for p in self.pending.iter_mut() {
                if let Pending::Edit {
                    mode: m,
                    feature: f,
                    edit: e,
                    ..
                } = p
                {
                    if m == mode && f == feature {
                        let earlier = std::mem::replace(e, StagedEdit::Remove);
                        *e = earlier.then(edit.clone());
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
