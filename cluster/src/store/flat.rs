//! Inheritance resolved for many machines × many features at once (docs/rules.md §2.4, §5.1; issue
//! 16, P4): the same rule as [`super::resolve`] — a machine's own definition, else its group's, else the
//! cluster's, ancestors only at levels the feature allows ([`Ancestors`]) — over flat, index-keyed
//! arrays instead of nested maps keyed by names.
//!
//! Features, groups and machines are dense indices (`0..n`); a definition is a caller's `u32` handle
//! (an index into its own arena of values). Each group's *base row* — what a machine of that group
//! inherits for every feature — is worked out once when the table is built, so resolving a machine is
//! one pass over its row: its own handle where it defines the feature, else the base row's. The table
//! can be built for any catalogue size; [`FlatTable::from_store`] builds one for the real catalogue
//! from a [`ConfigStore`], and the tests hold it to [`super::resolve`].

use super::{Ancestors, ConfigStore, Definitions};
use crate::features::{FeatureId, FeatureValue, Levels};
use crate::mode::Mode;
use crate::names::{GroupName, Hostname};

/// No definition (the handle space is `0..NONE`).
const NONE: u32 = u32::MAX;
/// A resolved entry packs its source in the top two bits and the handle in the rest.
const HANDLE_BITS: u32 = 30;
const HANDLE_MASK: u32 = (1 << HANDLE_BITS) - 1;

/// The level a resolved value comes from; `Default` when no mode of the chain defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    Cluster,
    Group,
    Machine,
}

/// One resolved (machine, feature): where the value comes from and the definition's handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry(u32);

impl Entry {
    /// The built-in default (no definition); also what a row buffer starts as.
    pub const DEFAULT: Entry = Entry(0);

    fn new(source: Source, handle: u32) -> Entry {
        let tag = match source {
            Source::Default => return Entry::DEFAULT,
            Source::Cluster => 1,
            Source::Group => 2,
            Source::Machine => 3,
        };
        Entry(tag << HANDLE_BITS | handle)
    }

    pub fn source(self) -> Source {
        match self.0 >> HANDLE_BITS {
            0 => Source::Default,
            1 => Source::Cluster,
            2 => Source::Group,
            _ => Source::Machine,
        }
    }

    /// The definition's handle; `None` for the built-in default.
    pub fn handle(self) -> Option<u32> {
        (self.source() != Source::Default).then_some(self.0 & HANDLE_MASK)
    }
}

/// Why a table cannot be built or changed, naming the index that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlatError {
    #[error("machine {machine} names group {group}, but the table has {groups} groups")]
    NoSuchGroup {
        machine: usize,
        group: u32,
        groups: usize,
    },
    #[error("{what} {index} is out of range (the table has {len})")]
    OutOfRange {
        what: &'static str,
        index: usize,
        len: usize,
    },
    #[error("a row of {len} entries was given for a table of {features} features")]
    RowLength { len: usize, features: usize },
    #[error("a table of {features} features × {rows} rows is too large")]
    TooLarge { features: usize, rows: usize },
    #[error("handle {0} is too large (at most {HANDLE_MASK})")]
    Handle(u32),
}

/// Definitions of a catalogue of `levels.len()` features at the cluster, `groups` groups and
/// `machine_groups.len()` machines, with every machine's inherited row precomputed.
#[derive(Debug, Clone)]
pub struct FlatTable {
    levels: Vec<Levels>,
    cluster: Vec<u32>,
    /// `group × features + feature`.
    groups: Vec<u32>,
    /// `machine × features + feature`.
    machines: Vec<u32>,
    /// Each machine's group index, or `NONE` for a machine in no group.
    machine_group: Vec<u32>,
    group_count: usize,
    /// What a machine inherits, per group (`groups + 1` rows; the last is a machine in no group).
    base: Vec<Entry>,
}

impl FlatTable {
    /// An empty table: nothing defined anywhere. `machine_groups[m]` is machine `m`'s group index, or
    /// `None` for a machine in no group.
    pub fn new(
        levels: Vec<Levels>,
        groups: usize,
        machine_groups: &[Option<u32>],
    ) -> Result<Self, FlatError> {
        let machine_group = machine_groups
            .iter()
            .enumerate()
            .map(|(machine, g)| match *g {
                Some(group) if group as usize >= groups => Err(FlatError::NoSuchGroup {
                    machine,
                    group,
                    groups,
                }),
                Some(group) => Ok(group),
                None => Ok(NONE),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n = levels.len();
        let size = |rows: usize| {
            rows.checked_mul(n)
                .filter(|s| *s <= u32::MAX as usize)
                .ok_or(FlatError::TooLarge { features: n, rows })
        };
        let mut table = FlatTable {
            cluster: vec![NONE; n],
            groups: vec![NONE; size(groups)?],
            machines: vec![NONE; size(machine_groups.len())?],
            machine_group,
            group_count: groups,
            base: vec![Entry::DEFAULT; size(groups.saturating_add(1))?],
            levels,
        };
        table.rebase();
        Ok(table)
    }

    pub fn features(&self) -> usize {
        self.levels.len()
    }

    pub fn machine_count(&self) -> usize {
        self.machine_group.len()
    }

    fn group_count(&self) -> usize {
        self.group_count
    }

    fn check(what: &'static str, index: usize, len: usize) -> Result<(), FlatError> {
        if index < len {
            Ok(())
        } else {
            Err(FlatError::OutOfRange { what, index, len })
        }
    }

    fn handle(handle: u32) -> Result<u32, FlatError> {
        if handle <= HANDLE_MASK {
            Ok(handle)
        } else {
            Err(FlatError::Handle(handle))
        }
    }

    /// Defines `feature` at the cluster level.
    pub fn define_cluster(&mut self, feature: usize, handle: u32) -> Result<(), FlatError> {
        Self::check("feature", feature, self.features())?;
        self.cluster[feature] = Self::handle(handle)?;
        self.rebase_feature(feature);
        Ok(())
    }

    /// Defines `feature` at group `group`.
    pub fn define_group(&mut self, group: usize, feature: usize, handle: u32) -> Result<(), FlatError> {
        Self::check("group", group, self.group_count())?;
        Self::check("feature", feature, self.features())?;
        let at = group * self.features() + feature;
        self.groups[at] = Self::handle(handle)?;
        self.rebase_feature(feature);
        Ok(())
    }

    /// Defines `feature` at machine `machine`'s own level.
    pub fn define_machine(&mut self, machine: usize, feature: usize, handle: u32) -> Result<(), FlatError> {
        Self::check("machine", machine, self.machine_count())?;
        Self::check("feature", feature, self.features())?;
        let at = machine * self.features() + feature;
        self.machines[at] = Self::handle(handle)?;
        Ok(())
    }

    fn rebase(&mut self) {
        for f in 0..self.features() {
            self.rebase_feature(f);
        }
    }

    /// Recomputes what every group (and a machine in no group) inherits for `feature`.
    fn rebase_feature(&mut self, feature: usize) {
        let n = self.features();
        let levels = self.levels[feature];
        let cluster = self.cluster[feature];
        let from_cluster = |reads: Ancestors| match cluster {
            NONE => Entry::DEFAULT,
            h if reads.cluster => Entry::new(Source::Cluster, h),
            _ => Entry::DEFAULT,
        };
        let in_group = Ancestors::of(levels, true, false);
        for g in 0..self.group_count() {
            let own = self.groups[g * n + feature];
            self.base[g * n + feature] = if in_group.group && own != NONE {
                Entry::new(Source::Group, own)
            } else {
                from_cluster(in_group)
            };
        }
        let alone = self.group_count();
        self.base[alone * n + feature] = from_cluster(Ancestors::of(levels, false, false));
    }

    fn base_row(&self, machine: usize) -> &[Entry] {
        let n = self.features();
        let g = match self.machine_group[machine] {
            NONE => self.group_count(),
            g => g as usize,
        };
        &self.base[g * n..(g + 1) * n]
    }

    /// Machine `machine`'s resolved row, one entry per feature, written into `out` (whose length must
    /// be the number of features).
    pub fn resolve_machine(&self, machine: usize, out: &mut [Entry]) -> Result<(), FlatError> {
        Self::check("machine", machine, self.machine_count())?;
        let n = self.features();
        if out.len() != n {
            return Err(FlatError::RowLength {
                len: out.len(),
                features: n,
            });
        }
        let own = &self.machines[machine * n..(machine + 1) * n];
        for ((slot, &h), &base) in out.iter_mut().zip(own).zip(self.base_row(machine)) {
            *slot = if h == NONE {
                base
            } else {
                Entry::new(Source::Machine, h)
            };
        }
        Ok(())
    }

    /// Every machine's resolved row, `machine × features + feature`, written into `out` (cleared first;
    /// its allocation is kept between calls).
    pub fn resolve_all(&self, out: &mut Vec<Entry>) {
        let n = self.features();
        out.clear();
        out.resize(self.machines.len(), Entry::DEFAULT);
        for (m, row) in out
            .chunks_exact_mut(n.max(1))
            .enumerate()
            .take(self.machine_count())
        {
            // In range by construction: `out` has one row per machine, of `n` entries.
            let _ = self.resolve_machine(m, row);
        }
    }

    /// One (machine, feature).
    pub fn resolve_one(&self, machine: usize, feature: usize) -> Result<Entry, FlatError> {
        Self::check("machine", machine, self.machine_count())?;
        Self::check("feature", feature, self.features())?;
        let h = self.machines[machine * self.features() + feature];
        Ok(if h == NONE {
            self.base_row(machine)[feature]
        } else {
            Entry::new(Source::Machine, h)
        })
    }
}

/// A [`FlatTable`] of the real catalogue built from a store, with the values its handles name.
pub struct StoreTable<'a> {
    pub table: FlatTable,
    pub values: Vec<&'a FeatureValue>,
    pub groups: Vec<GroupName>,
}

impl<'a> StoreTable<'a> {
    /// The table for `members` (each machine with its group, if any) over `defs`' definitions at the
    /// cluster, at each members' group and at each member.
    pub fn build(store: &'a ConfigStore, members: &[(Hostname, Option<GroupName>)]) -> Self {
        let mut groups: Vec<GroupName> = members.iter().filter_map(|(_, g)| g.clone()).collect();
        groups.sort();
        groups.dedup();
        let machine_groups: Vec<Option<u32>> = members
            .iter()
            .map(|(_, g)| {
                g.as_ref()
                    .and_then(|g| groups.binary_search(g).ok())
                    .map(|i| i as u32)
            })
            .collect();
        let levels = FeatureId::ALL.iter().map(|f| f.schema().levels).collect();
        let mut table = match FlatTable::new(levels, groups.len(), &machine_groups) {
            Ok(t) => t,
            // Every group index came from `groups` itself.
            Err(e) => unreachable!("{e}"),
        };
        let mut values = Vec::new();
        let mut define = |mode: &Mode, put: &mut dyn FnMut(usize, u32) -> Result<(), FlatError>| {
            for (i, f) in FeatureId::ALL.into_iter().enumerate() {
                if let Some(v) = store.defined(mode, f) {
                    if put(i, values.len() as u32).is_ok() {
                        values.push(v);
                    }
                }
            }
        };
        define(&Mode::Cluster, &mut |f, h| table.define_cluster(f, h));
        for (g, name) in groups.iter().enumerate() {
            define(&Mode::Group(name.clone()), &mut |f, h| {
                table.define_group(g, f, h)
            });
        }
        for (m, (host, _)) in members.iter().enumerate() {
            define(&Mode::Machine(host.clone()), &mut |f, h| {
                table.define_machine(m, f, h)
            });
        }
        StoreTable {
            table,
            values,
            groups,
        }
    }

    /// The value an entry names (`None`: the built-in default).
    pub fn value(&self, entry: Entry) -> Option<&'a FeatureValue> {
        entry.handle().and_then(|h| self.values.get(h as usize).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Timestamp, UserName};
    use crate::store::{resolve, Rev, Setting};
    use proptest::prelude::*;

    fn setting(tag: usize) -> Setting {
        Setting {
            value: FeatureId::SmtpRoutes
                .schema()
                .parse_row(&[format!("d{tag}.example.com"), "mx.example.com".into()])
                .map(|r| FeatureValue::of(vec![r]))
                .unwrap(),
            rev: Rev {
                at: Timestamp(0),
                user: UserName::parse("admin").unwrap(),
                origin: Hostname::parse("a.example.com").unwrap(),
                seq: tag as u64,
            },
        }
    }

    fn expected_source(mode: &Mode) -> Source {
        match mode {
            Mode::Cluster => Source::Cluster,
            Mode::Group(_) => Source::Group,
            Mode::Machine(_) => Source::Machine,
        }
    }

    proptest! {
        /// For any store and any grouping, every (machine, feature) of the flat table names the same
        /// value and the same level as `resolve`.
        #[test]
        fn agrees_with_resolve(
            machines in prop::collection::vec(prop::option::of(0usize..3), 1..6),
            defs in prop::collection::vec((0usize..9, 0usize..19), 0..40),
        ) {
            let hosts: Vec<Hostname> = (0..machines.len())
                .map(|m| Hostname::parse(&format!("m{m}.example.com")).unwrap())
                .collect();
            let group = |g: usize| GroupName::parse(&format!("G{g}")).unwrap();
            let members: Vec<(Hostname, Option<GroupName>)> = hosts
                .iter()
                .cloned()
                .zip(machines.iter().map(|g| g.map(group)))
                .collect();
            // Where 0 is the cluster, 1..=3 a group and 4.. a machine.
            let mut store = ConfigStore::default();
            for (i, (at, f)) in defs.iter().enumerate() {
                let mode = match at {
                    0 => Mode::Cluster,
                    1..=3 => Mode::Group(group(at - 1)),
                    m => Mode::Machine(hosts[(m - 4) % hosts.len()].clone()),
                };
                store.set(mode, FeatureId::ALL[*f], setting(i));
            }
            let flat = StoreTable::build(&store, &members);
            let mut all = Vec::new();
            flat.table.resolve_all(&mut all);
            for (m, (host, g)) in members.iter().enumerate() {
                for (i, f) in FeatureId::ALL.into_iter().enumerate() {
                    let want = resolve(&store, &Mode::Machine(host.clone()), g.as_ref(), f);
                    let got = all[m * FeatureId::ALL.len() + i];
                    prop_assert_eq!(got, flat.table.resolve_one(m, i).unwrap());
                    prop_assert_eq!(flat.value(got), want.value, "{} {:?}", host, f);
                    let source = if want.value.is_some() { expected_source(&want.source) } else { Source::Default };
                    prop_assert_eq!(got.source(), source, "{} {:?}", host, f);
                }
            }
        }
    }

    #[test]
    fn bad_indices_are_named() {
        let err = FlatTable::new(vec![Levels::ANY], 1, &[Some(2)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "machine 0 names group 2, but the table has 1 groups"
        );
        let mut t = FlatTable::new(vec![Levels::ANY], 1, &[None]).unwrap();
        assert_eq!(
            t.define_machine(1, 0, 0).unwrap_err().to_string(),
            "machine 1 is out of range (the table has 1)"
        );
        assert_eq!(
            t.define_group(0, 3, 0).unwrap_err().to_string(),
            "feature 3 is out of range (the table has 1)"
        );
        assert!(matches!(t.define_cluster(0, u32::MAX), Err(FlatError::Handle(_))));
        assert!(t.resolve_machine(0, &mut [Entry::DEFAULT; 2]).is_err());
        // No features, or too many rows: errors, not panics.
        let mut empty = FlatTable::new(Vec::new(), 2, &[Some(1), None]).unwrap();
        assert_eq!(empty.resolve_machine(1, &mut []), Ok(()));
        assert!(empty.define_group(1, 0, 0).is_err());
        let mut all = Vec::new();
        empty.resolve_all(&mut all);
        assert!(all.is_empty());
        assert!(matches!(
            FlatTable::new(vec![Levels::ANY; 1 << 16], 1 << 17, &[]),
            Err(FlatError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_group_level_definition_is_not_read_for_a_feature_without_group_level() {
        let mut t = FlatTable::new(vec![Levels::CLUSTER_ONLY, Levels::ANY], 1, &[Some(0), None]).unwrap();
        t.define_group(0, 0, 7).unwrap();
        t.define_group(0, 1, 8).unwrap();
        t.define_cluster(0, 1).unwrap();
        assert_eq!(t.resolve_one(0, 0).unwrap(), Entry::new(Source::Cluster, 1));
        assert_eq!(t.resolve_one(0, 1).unwrap(), Entry::new(Source::Group, 8));
        assert_eq!(t.resolve_one(1, 1).unwrap(), Entry::DEFAULT);
        t.define_machine(1, 1, 9).unwrap();
        assert_eq!(t.resolve_one(1, 1).unwrap().handle(), Some(9));
    }
}
