//! A configuration store — one host's copy of `mode -> feature -> setting` — and the one resolution of
//! inheritance (rules §2.4, §5.1, §5.4): [`resolve`] answers effective values, what a mode inherits and
//! where each value comes from. [`Overlay`] lays a session's staged edits over a store without copying
//! it; everything that reads definitions takes [`Definitions`], so a replica and a session's view are
//! read the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue, Levels, Row};
use crate::mode::Mode;
use crate::names::{GroupName, Hostname, Timestamp, UserName};

pub mod flat;

/// Who wrote a setting, when, and on which host (rules §2.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rev {
    pub at: Timestamp,
    pub user: UserName,
    pub origin: Hostname,
    /// The fleet revision of the commit that wrote it; unique per commit.
    pub seq: u64,
}

/// A change of one definition, as a commit writes it (rules §14.7.10): the rows added or changed and the
/// rows deleted — so its size does not depend on the table's — or a whole new value, or the definition
/// removed. Each replica applies it to its own copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Rows { upsert: Vec<Row>, delete: Vec<String> },
    Define { value: FeatureValue },
    Remove,
}

impl Change {
    /// The value after the change, given the value before (`None`: not defined; a row change then starts
    /// from the feature's default). `None`: the definition is removed.
    pub fn applied_to(&self, feature: FeatureId, before: Option<&FeatureValue>) -> Option<FeatureValue> {
        match self {
            Change::Rows { upsert, delete } => {
                let mut value = before
                    .cloned()
                    .unwrap_or_else(|| feature.schema().default_value());
                value.apply_rows(upsert, delete);
                Some(value)
            }
            Change::Define { value } => Some(value.clone()),
            Change::Remove => None,
        }
    }

    /// The rows it writes (secrets included), for visitors.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut Row> {
        match self {
            Change::Rows { upsert, .. } => upsert.iter_mut(),
            Change::Define { value } => value.rows.iter_mut(),
            Change::Remove => [].iter_mut(),
        }
    }
}

/// A stored definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub value: FeatureValue,
    pub rev: Rev,
}

/// One host's copy of the configuration: `mode -> feature -> setting`. A mode that holds a feature
/// *defines* it. For a standalone machine the only mode is its own machine mode.
///
/// `removed` keeps the revision of each deleted definition (a tombstone), so that the last-writer-wins
/// merge on reconnect (rules §8.3) does not bring back what a newer commit deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfigStore {
    pub modes: BTreeMap<Mode, BTreeMap<FeatureId, Setting>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<Mode, BTreeMap<FeatureId, Rev>>,
}

impl ConfigStore {
    pub fn get(&self, mode: &Mode, feature: FeatureId) -> Option<&Setting> {
        self.modes.get(mode).and_then(|m| m.get(&feature))
    }

    /// Defines `feature` at `mode`.
    pub fn set(&mut self, mode: Mode, feature: FeatureId, setting: Setting) {
        if let Some(t) = self.removed.get_mut(&mode) {
            t.remove(&feature);
            if t.is_empty() {
                self.removed.remove(&mode);
            }
        }
        self.modes.entry(mode).or_default().insert(feature, setting);
    }

    /// Removes a definition without leaving a tombstone (whole-mode drops).
    pub fn remove(&mut self, mode: &Mode, feature: FeatureId) -> Option<Setting> {
        let map = self.modes.get_mut(mode)?;
        let out = map.remove(&feature);
        if map.is_empty() {
            self.modes.remove(mode);
        }
        out
    }

    /// Removes a definition by a commit at `rev`, leaving a tombstone for the merge.
    pub fn delete(&mut self, mode: &Mode, feature: FeatureId, rev: Rev) {
        self.remove(mode, feature);
        self.removed.entry(mode.clone()).or_default().insert(feature, rev);
    }

    /// The tombstone of a deleted definition.
    pub fn tombstone(&self, mode: &Mode, feature: FeatureId) -> Option<&Rev> {
        self.removed.get(mode).and_then(|m| m.get(&feature))
    }

    /// The revision of an item: its definition's, or its tombstone's.
    pub fn current_rev(&self, mode: &Mode, feature: FeatureId) -> Option<Rev> {
        self.get(mode, feature)
            .map(|s| s.rev.clone())
            .or_else(|| self.tombstone(mode, feature).cloned())
    }

    /// Drops a whole mode (its definitions and tombstones).
    pub fn drop_mode(&mut self, mode: &Mode) {
        self.modes.remove(mode);
        self.removed.remove(mode);
    }

    /// Renames a mode, keeping its definitions (group rename).
    pub fn rename_mode(&mut self, old: &Mode, new: Mode) {
        if let Some(m) = self.modes.remove(old) {
            self.modes.insert(new.clone(), m);
        }
        if let Some(t) = self.removed.remove(old) {
            self.removed.insert(new, t);
        }
    }

    /// Every `(mode, feature)` this store defines.
    pub fn keys(&self) -> impl Iterator<Item = (&Mode, FeatureId)> {
        self.modes
            .iter()
            .flat_map(|(m, fs)| fs.keys().map(move |f| (m, *f)))
    }
}

/// Read access to definitions: a replica, or a replica with staged edits laid over it.
pub trait Definitions {
    /// The value `mode` defines for `feature`, if it defines it.
    fn defined(&self, mode: &Mode, feature: FeatureId) -> Option<&FeatureValue>;

    /// The features `mode` defines, in catalogue order.
    fn defined_at(&self, mode: &Mode) -> Vec<FeatureId> {
        FeatureId::ALL
            .into_iter()
            .filter(|f| self.defined(mode, *f).is_some())
            .collect()
    }
}

impl Definitions for ConfigStore {
    fn defined(&self, mode: &Mode, feature: FeatureId) -> Option<&FeatureValue> {
        self.get(mode, feature).map(|s| &s.value)
    }
}

/// A store with edits laid over it: `Some(value)` defines, `None` removes the definition. Borrows the
/// store; only the edits are owned.
#[derive(Debug, Clone)]
pub struct Overlay<'a> {
    base: &'a ConfigStore,
    edits: BTreeMap<(Mode, FeatureId), Option<FeatureValue>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a ConfigStore) -> Self {
        Overlay {
            base,
            edits: BTreeMap::new(),
        }
    }

    /// The store underneath (the committed replica).
    pub fn base(&self) -> &'a ConfigStore {
        self.base
    }

    /// Lays one more edit over the view (a later edit of the same item replaces an earlier one).
    pub fn set(&mut self, mode: Mode, feature: FeatureId, value: Option<FeatureValue>) {
        self.edits.insert((mode, feature), value);
    }

    /// This view with one more edit.
    pub fn with(&self, mode: Mode, feature: FeatureId, value: Option<FeatureValue>) -> Overlay<'a> {
        let mut next = self.clone();
        next.set(mode, feature, value);
        next
    }
}

impl Definitions for Overlay<'_> {
    fn defined(&self, mode: &Mode, feature: FeatureId) -> Option<&FeatureValue> {
        match self.edits.get(&(mode.clone(), feature)) {
            Some(edit) => edit.as_ref(),
            None => self.base.defined(mode, feature),
        }
    }
}

/// The modes `mode` reads `feature` from, most specific first (rules §2.4, §5.1): the mode itself, then
/// — for a machine — its group, then the cluster; ancestors only at levels the feature allows. `group`
/// is the machine's group (`None` for a standalone machine or a group/cluster mode).
pub fn chain(mode: &Mode, group: Option<&GroupName>, feature: FeatureId) -> Vec<Mode> {
    let in_group = match (mode, group) {
        (Mode::Machine(_), Some(g)) => Some(g),
        _ => None,
    };
    let reads = Ancestors::of(
        feature.schema().levels,
        in_group.is_some(),
        *mode == Mode::Cluster,
    );
    let mut out = vec![mode.clone()];
    if let (true, Some(g)) = (reads.group, in_group) {
        out.push(Mode::Group(g.clone()));
    }
    if reads.cluster {
        out.push(Mode::Cluster);
    }
    out
}

/// Which ancestors a mode reads a feature from after itself (rules §2.4, §5.1) — the one rule both
/// [`chain`] and the flat table ([`flat::FlatTable`]) follow: a machine in a group reads its group when
/// the feature may be stored at group level; every mode but the cluster reads the cluster when the
/// feature may be stored there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ancestors {
    pub group: bool,
    pub cluster: bool,
}

impl Ancestors {
    /// For a feature stored at `levels`, read from a machine in a group (`machine_in_group`), or from
    /// the cluster mode itself (`is_cluster`), or from any other mode (both false).
    pub fn of(levels: Levels, machine_in_group: bool, is_cluster: bool) -> Ancestors {
        Ancestors {
            group: machine_in_group && levels.group,
            cluster: !is_cluster && levels.cluster,
        }
    }
}

/// Where a value comes from and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The defining mode; when no mode of the chain defines the feature, the least specific one.
    pub source: Mode,
    /// The value, or `None` for the built-in default.
    pub value: Option<&'a FeatureValue>,
}

impl Resolved<'_> {
    /// The value, or the feature's built-in default.
    pub fn value_or_default(&self, feature: FeatureId) -> FeatureValue {
        self.value
            .cloned()
            .unwrap_or_else(|| feature.schema().default_value())
    }
}

fn first_defined<'a, D: Definitions + ?Sized>(
    defs: &'a D,
    modes: &[Mode],
    fallback: &Mode,
    feature: FeatureId,
) -> Resolved<'a> {
    for m in modes {
        if let Some(v) = defs.defined(m, feature) {
            return Resolved {
                source: m.clone(),
                value: Some(v),
            };
        }
    }
    Resolved {
        source: modes.last().unwrap_or(fallback).clone(),
        value: None,
    }
}

/// The value in effect at `mode` and where it comes from: the most specific defined mode of its chain.
pub fn resolve<'a, D: Definitions + ?Sized>(
    defs: &'a D,
    mode: &Mode,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> Resolved<'a> {
    first_defined(defs, &chain(mode, group, feature), mode, feature)
}

/// What `mode` inherits for `feature` — the value it would have without its own definition, and where
/// that comes from (rules §5.4: the real source, not always the cluster).
pub fn inherited<'a, D: Definitions + ?Sized>(
    defs: &'a D,
    mode: &Mode,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> Resolved<'a> {
    let chain = chain(mode, group, feature);
    first_defined(defs, &chain[1..], mode, feature)
}

/// The effective value of `feature` for the machine `host` (in `group`) in `defs`.
pub fn effective<D: Definitions + ?Sized>(
    defs: &D,
    host: &Hostname,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> FeatureValue {
    effective_ref(defs, host, group, feature).into_owned()
}

/// [`effective`], borrowed from `defs` when a mode defines the feature (the mail flow reads listeners
/// and interfaces on every event; copying them each time was most of its cost).
pub fn effective_ref<'a, D: Definitions + ?Sized>(
    defs: &'a D,
    host: &Hostname,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> std::borrow::Cow<'a, FeatureValue> {
    match resolve(defs, &Mode::Machine(host.clone()), group, feature).value {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => std::borrow::Cow::Owned(feature.schema().default_value()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev() -> Rev {
        Rev {
            at: Timestamp(0),
            user: UserName::parse("admin").unwrap(),
            origin: Hostname::parse("a.example.com").unwrap(),
            seq: 1,
        }
    }

    fn value(key: &str) -> FeatureValue {
        FeatureId::SmtpRoutes
            .schema()
            .parse_row(&[key.into(), "mx.example.com".into()])
            .map(|r| FeatureValue::of(vec![r]))
            .unwrap()
    }

    #[test]
    fn the_most_specific_definition_wins_and_names_its_source() {
        let h = Hostname::parse("a.example.com").unwrap();
        let g = GroupName::parse("West").unwrap();
        let f = FeatureId::SmtpRoutes;
        let mut store = ConfigStore::default();
        store.set(
            Mode::Cluster,
            f,
            Setting {
                value: value("c.example.com"),
                rev: rev(),
            },
        );
        let machine = Mode::Machine(h.clone());
        assert_eq!(resolve(&store, &machine, Some(&g), f).source, Mode::Cluster);
        store.set(
            Mode::Group(g.clone()),
            f,
            Setting {
                value: value("g.example.com"),
                rev: rev(),
            },
        );
        let r = resolve(&store, &machine, Some(&g), f);
        assert_eq!(r.source, Mode::Group(g.clone()));
        assert_eq!(r.value, Some(&value("g.example.com")));
        // A machine without its own definition inherits the group's; the group inherits the cluster's.
        assert_eq!(
            inherited(&store, &machine, Some(&g), f).source,
            Mode::Group(g.clone())
        );
        assert_eq!(
            inherited(&store, &Mode::Group(g.clone()), None, f).source,
            Mode::Cluster
        );
        // Staged edits over the store: removing the group's definition falls back to the cluster.
        let view = Overlay::new(&store).with(Mode::Group(g.clone()), f, None);
        assert_eq!(resolve(&view, &machine, Some(&g), f).source, Mode::Cluster);
        assert_eq!(effective(&view, &h, Some(&g), f), value("c.example.com"));
    }

    #[test]
    fn machine_only_features_resolve_at_the_machine_only() {
        let h = Hostname::parse("a.example.com").unwrap();
        let g = GroupName::parse("West").unwrap();
        let chain = chain(&Mode::Machine(h.clone()), Some(&g), FeatureId::IpInterfaces);
        assert_eq!(chain, vec![Mode::Machine(h)]);
        assert_eq!(chain_of_cluster_only(), vec![Mode::Group(g), Mode::Cluster]);
    }

    fn chain_of_cluster_only() -> Vec<Mode> {
        chain(
            &Mode::Group(GroupName::parse("West").unwrap()),
            None,
            FeatureId::Users,
        )
    }
}
