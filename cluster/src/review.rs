//! Review before commit (rules §15.32): a session's staged items turned into what the Pending changes
//! page shows — per feature and mode, the rows added, changed (old → new, per column) and removed, or the
//! definition created or deleted; the machines the change reaches now, those it reaches only when they
//! reconnect, and those an override at a more specific mode shields (named with that mode); and the
//! sentences the page's two-step Commit and Clear confirm with. Everything is read through the one
//! resolution ([`crate::store::resolve`]) over the login host's replica with the session's edits laid
//! over it ([`Session::view`]); nothing here changes anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::features::{ColumnKind, FeatureId, FeatureValue, Row, Shape, MASK};
use crate::fleet::Fleet;
use crate::mode::Mode;
use crate::names::{GroupName, Hostname};
use crate::session::{Pending, Session, StagedEdit};
use crate::store::{chain, resolve, ConfigStore, Definitions};

/// The most rows of each kind (added, changed, removed) one item's diff lists; the rest are counted.
pub const SHOWN_ROWS: usize = 50;

/// The review of a session's staged items, in the order they were staged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Review {
    pub items: Vec<ItemReview>,
    pub structure: Vec<StructureReview>,
    /// Every machine some item reaches now (hostname order).
    pub reaches: Vec<Hostname>,
    /// Every machine some item reaches only when it reconnects, and no item reaches now.
    pub later: Vec<Hostname>,
}

/// What happens to the definition of a feature at a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionChange {
    /// The mode defined the feature and still does; its rows change.
    Edited,
    /// The mode starts defining the feature: it used to inherit from `inherited_from` (`None`: the
    /// built-in defaults).
    Created { inherited_from: Option<Mode> },
    /// The definition is deleted: the mode inherits from `inherits_from` instead (`None`: the
    /// built-in defaults).
    Deleted { inherits_from: Option<Mode> },
}

/// One staged edit of a feature at a mode, reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReview {
    pub mode: Mode,
    /// How the console names the mode, e.g. `Group: West`.
    pub mode_label: String,
    pub feature: FeatureId,
    /// The feature's page in that mode, e.g. `/group/West/settings/smtproutes`.
    pub href: String,
    /// One line naming the item and what happens to its definition, e.g. `smtproutes at
    /// group:West: definition deleted; it inherits from Cluster: Americas again`.
    pub headline: String,
    pub definition: DefinitionChange,
    /// The value in effect at the mode before → after (rows keyed by their first column).
    pub rows: RowDiff,
    /// Machines whose effective value changes, reachable from the login host now.
    pub reaches: Vec<Hostname>,
    /// Machines whose effective value changes, not reachable now: they get it when they reconnect.
    pub later: Vec<Hostname>,
    /// Machines that read this mode but keep their value, because a more specific mode defines the
    /// feature.
    pub shielded: Vec<Shielded>,
}

/// A machine an override shields from a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shielded {
    pub host: Hostname,
    /// The more specific mode whose definition the machine reads instead.
    pub by: Mode,
    pub by_label: String,
    /// The feature's page at that mode.
    pub href: String,
}

/// The rows of a value before and after (secrets never shown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowDiff {
    /// Added rows, as `print` shows them (at most [`SHOWN_ROWS`]).
    pub added: Vec<String>,
    pub changed: Vec<RowChange>,
    /// Removed rows, as `print` shows them.
    pub removed: Vec<String>,
    /// How many rows of each kind there are in all: (added, changed, removed).
    pub totals: (usize, usize, usize),
    /// The rows are withheld from this replica's role (rules §14.7.2): no diff can be shown.
    pub withheld: bool,
}

impl RowDiff {
    /// How many rows the lists leave out.
    pub fn omitted(&self) -> usize {
        let (a, c, r) = self.totals;
        a + c + r - self.added.len() - self.changed.len() - self.removed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.totals == (0, 0, 0)
    }
}

/// One row present before and after, with what changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    pub key: String,
    pub cells: Vec<CellChange>,
}

/// One column of a changed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellChange {
    /// The column's label, e.g. `Destination hosts`.
    pub column: &'static str,
    pub old: String,
    pub new: String,
    /// A secret column: neither value is shown, and whether it changed may not be knowable here.
    pub secret: bool,
}

impl CellChange {
    /// `Destination hosts: a → b`; a secret reads `Password: ******** → (a new value, not shown)`.
    pub fn describe(&self) -> String {
        format!("{}: {} → {}", self.column, self.old, self.new)
    }
}

/// A staged structural change, reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureReview {
    pub text: String,
    /// The page it is managed on (cluster operations).
    pub href: &'static str,
    /// Machines whose group changes, reachable now.
    pub reaches: Vec<Hostname>,
    /// Machines whose group changes, not reachable now.
    pub later: Vec<Hostname>,
}

/// The review of `session`'s staged items against `fleet` (rules §15.32).
pub fn review(fleet: &Fleet, session: &Session) -> Review {
    let empty = ConfigStore::default();
    let login = &session.host;
    let committed = fleet.machine(login).map(|m| &m.config).unwrap_or(&empty);
    let view = session.view(committed);
    let cluster = fleet.cluster_of(login).map(|c| c.name.clone());
    let label = |m: &Mode| match (&cluster, m) {
        (Some(c), _) => m.gui_label(c),
        (None, Mode::Machine(h)) => format!("Machine: {h}"),
        (None, other) => other.to_string(),
    };
    let machines: Vec<(Hostname, Option<GroupName>)> = match &cluster {
        Some(c) => fleet
            .members(c)
            .map(|m| (m.hostname.clone(), fleet.group_of(&m.hostname).cloned()))
            .collect(),
        None => vec![(login.clone(), None)],
    };
    let targets = crate::apply::targets(fleet, login);
    let split = |hosts: Vec<Hostname>| -> (Vec<Hostname>, Vec<Hostname>) {
        hosts.into_iter().partition(|h| targets.contains(h))
    };

    let mut out = Review::default();
    for item in &session.pending {
        match item {
            Pending::Edit {
                mode, feature, edit, ..
            } => {
                let f = *feature;
                let group = match mode {
                    Mode::Machine(h) => fleet.group_of(h),
                    _ => None,
                };
                let before = resolve(committed, mode, group, f);
                let after = resolve(&view, mode, group, f);
                let origin =
                    |source: &Mode, value: Option<&FeatureValue>| value.is_some().then(|| source.clone());
                let definition = match (
                    committed.defined(mode, f).is_some(),
                    view.defined(mode, f).is_some(),
                ) {
                    (false, true) => DefinitionChange::Created {
                        inherited_from: origin(&before.source, before.value),
                    },
                    (true, false) => DefinitionChange::Deleted {
                        inherits_from: origin(&after.source, after.value),
                    },
                    _ => DefinitionChange::Edited,
                };
                let touched: Vec<&str> = match edit {
                    StagedEdit::Rows { rows } => rows
                        .iter()
                        .filter(|t| t.before.is_some() && t.after.is_some())
                        .map(|t| t.key.as_str())
                        .collect(),
                    _ => Vec::new(),
                };
                let rows = diff_rows(
                    f,
                    &before.value_or_default(f),
                    &after.value_or_default(f),
                    &touched,
                );
                let mut changed = Vec::new();
                let mut shielded = Vec::new();
                for (host, g) in &machines {
                    let chain = chain(&Mode::Machine(host.clone()), g.as_ref(), f);
                    let Some(at) = chain.iter().position(|m| m == mode) else {
                        continue; // the machine does not read this mode
                    };
                    if let Some(by) = chain[..at].iter().find(|m| view.defined(m, f).is_some()) {
                        shielded.push(Shielded {
                            host: host.clone(),
                            by: by.clone(),
                            by_label: label(by),
                            href: page(by, f),
                        });
                    } else if !same_effective(committed, &view, host, g.as_ref(), f) {
                        changed.push(host.clone());
                    }
                }
                let (reaches, later) = split(changed);
                out.items.push(ItemReview {
                    mode: mode.clone(),
                    mode_label: label(mode),
                    feature: f,
                    href: page(mode, f),
                    headline: headline(mode, f, &definition, &rows, &label),
                    definition,
                    rows,
                    reaches,
                    later,
                    shielded,
                });
            }
            Pending::Structure(op) => {
                use crate::structure::StructureOp;
                let moved: Vec<Hostname> = match (op, &cluster) {
                    (StructureOp::SetGroup { host, .. }, _) => vec![host.clone()],
                    (StructureOp::DeleteGroup { group, .. }, Some(c)) => fleet
                        .group_members(c, group)
                        .map(|m| m.hostname.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                let (reaches, later) = split(moved);
                out.structure.push(StructureReview {
                    text: op.describe(),
                    href: "/cluster-ops",
                    reaches,
                    later,
                });
            }
        }
    }
    let now: BTreeSet<&Hostname> = out
        .items
        .iter()
        .flat_map(|i| &i.reaches)
        .chain(out.structure.iter().flat_map(|s| &s.reaches))
        .collect();
    let later: BTreeSet<&Hostname> = out
        .items
        .iter()
        .flat_map(|i| &i.later)
        .chain(out.structure.iter().flat_map(|s| &s.later))
        .filter(|h| !now.contains(h))
        .collect();
    out.reaches = now.into_iter().cloned().collect();
    out.later = later.into_iter().cloned().collect();
    out
}

impl Review {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.structure.is_empty()
    }

    /// How many staged changes there are (one per feature and mode, one per structural change).
    pub fn changes(&self) -> usize {
        self.items.len() + self.structure.len()
    }

    /// What Commit affects, asked before anything is sent, e.g. `Commit 3 changes to 2 features,
    /// reaching 3 machines.`
    pub fn commit_summary(&self) -> String {
        let features: BTreeSet<FeatureId> = self.items.iter().map(|i| i.feature).collect();
        let n = self.changes();
        let mut to = Vec::new();
        if !features.is_empty() {
            to.push(plural(features.len(), "feature", "features"));
        }
        if !self.structure.is_empty() {
            to.push("the cluster's structure".to_string());
        }
        let reaching = match self.reaches.len() {
            0 => "reaching no machine now".to_string(),
            m => format!("reaching {}", plural(m, "machine", "machines")),
        };
        let later = match self.later.len() {
            0 => String::new(),
            m => format!(
                "; {m} more when {} ({})",
                if m == 1 { "it reconnects" } else { "they reconnect" },
                join(&self.later)
            ),
        };
        format!(
            "Commit {} to {}, {reaching}{later}.",
            plural(n, "change", "changes"),
            to.join(" and ")
        )
    }

    /// What Clear affects, asked before anything is sent, e.g. `Discard 3 staged changes.`
    pub fn clear_summary(&self) -> String {
        format!(
            "Discard {}. Nothing is sent to any machine.",
            plural(self.changes(), "staged change", "staged changes")
        )
    }
}

/// Whether `host` runs with the same value of `feature` in `before` and `after` — the effective value
/// (`crate::store::effective`), compared without copying it: a pending page reviews every member.
fn same_effective<B: Definitions, A: Definitions>(
    before: &B,
    after: &A,
    host: &Hostname,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> bool {
    let mode = Mode::Machine(host.clone());
    match (
        resolve(before, &mode, group, feature).value,
        resolve(after, &mode, group, feature).value,
    ) {
        (Some(b), Some(a)) => a == b,
        (None, None) => true,
        (Some(v), None) | (None, Some(v)) => *v == feature.schema().default_value(),
    }
}

/// A feature's settings page at a mode (rules §9: the URL carries the mode).
fn page(mode: &Mode, feature: FeatureId) -> String {
    format!("{}/settings/{}", mode.path(), feature.command())
}

fn headline(
    mode: &Mode,
    feature: FeatureId,
    definition: &DefinitionChange,
    rows: &RowDiff,
    label: &dyn Fn(&Mode) -> String,
) -> String {
    let source = |m: &Option<Mode>| match m {
        Some(m) => label(m),
        None => "the built-in defaults".to_string(),
    };
    let (a, c, r) = rows.totals;
    let mut counts: Vec<String> = [(a, "added"), (c, "changed"), (r, "removed")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", plural(n, "entry", "entries")))
        .collect();
    if rows.withheld {
        counts = vec!["entries withheld from your role".to_string()];
    } else if counts.is_empty() {
        counts.push("no entry changes".to_string());
    }
    let counts = counts.join(", ");
    // The console's words: the feature's title and the mode as the pages name it (rules §15.31).
    let (title, at) = (feature.title(), label(mode));
    match definition {
        DefinitionChange::Edited => format!("{title} at {at}: {counts}"),
        DefinitionChange::Created { inherited_from } => format!(
            "{title} at {at}: new definition, replacing what it inherited from {} ({counts})",
            source(inherited_from)
        ),
        DefinitionChange::Deleted { inherits_from } => format!(
            "{title} at {at}: definition deleted; it inherits from {} again ({counts})",
            source(inherits_from)
        ),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Host names joined by commas (for sentences).
pub fn join(hosts: &[Hostname]) -> String {
    hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", ")
}

/// The rows of `before` and `after` compared by key (a single-value feature's one row is compared with
/// the other's, whatever its key). `touched`: keys a row edit changed in place; such a row whose shown
/// cells are all equal differs only in a secret, which is listed as such.
fn diff_rows(feature: FeatureId, before: &FeatureValue, after: &FeatureValue, touched: &[&str]) -> RowDiff {
    if before.hidden || after.hidden {
        return RowDiff {
            withheld: true,
            ..RowDiff::default()
        };
    }
    let schema = feature.schema();
    let single = schema.shape == Shape::Single;
    let key = |r: &Row| -> String {
        if single {
            String::new()
        } else {
            r.key().to_string()
        }
    };
    let old: BTreeMap<String, &Row> = before.rows.iter().map(|r| (key(r), r)).collect();
    let new: BTreeMap<String, &Row> = after.rows.iter().map(|r| (key(r), r)).collect();
    let mut diff = RowDiff::default();
    for r in &before.rows {
        if !new.contains_key(&key(r)) {
            diff.totals.2 += 1;
            if diff.removed.len() < SHOWN_ROWS {
                diff.removed.push(schema.render_row(r));
            }
        }
    }
    for r in &after.rows {
        let Some(was) = old.get(&key(r)) else {
            diff.totals.0 += 1;
            if diff.added.len() < SHOWN_ROWS {
                diff.added.push(schema.render_row(r));
            }
            continue;
        };
        let secret_touched = touched.contains(&r.key());
        let mut cells = Vec::new();
        for (i, column) in schema.columns.iter().enumerate() {
            let (o, n) = (was.cells().get(i), r.cells().get(i));
            if column.kind == ColumnKind::Secret {
                // Secrets are masked or hashed on the way here: a difference is shown, never the value.
                if o != n || (secret_touched && was.cells() == r.cells()) {
                    cells.push(CellChange {
                        column: column.label,
                        old: MASK.to_string(),
                        new: "(a new value, not shown)".to_string(),
                        secret: true,
                    });
                }
            } else if o != n {
                let text = |c: Option<&String>| c.cloned().unwrap_or_default();
                cells.push(CellChange {
                    column: column.label,
                    old: text(o),
                    new: text(n),
                    secret: false,
                });
            }
        }
        if !cells.is_empty() {
            diff.totals.1 += 1;
            if diff.changed.len() < SHOWN_ROWS {
                diff.changed.push(RowChange {
                    key: r.key().to_string(),
                    cells,
                });
            }
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::americas;
    use crate::names::UserName;
    use crate::session::Touched;
    use crate::structure::StructureOp;

    fn h(name: &str) -> Hostname {
        Hostname::parse(name).unwrap()
    }

    fn west() -> Mode {
        Mode::Group(GroupName::parse("West").unwrap())
    }

    fn session(pending: Vec<Pending>) -> Session {
        let mut s = Session::open(
            1,
            UserName::parse("admin").unwrap(),
            h("newyork.example.com"),
            true,
        );
        for p in pending {
            s.stage(p);
        }
        s
    }

    fn row(feature: FeatureId, cells: &[&str]) -> Row {
        let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        feature.schema().parse_row(&cells).unwrap()
    }

    fn edit(mode: Mode, feature: FeatureId, edit: StagedEdit) -> Pending {
        Pending::Edit {
            mode,
            feature,
            edit,
            base: None,
        }
    }

    /// The cluster's route for example.com pointed elsewhere (West defines its own routes).
    fn cluster_route_edit() -> Pending {
        let f = FeatureId::SmtpRoutes;
        edit(
            Mode::Cluster,
            f,
            StagedEdit::Rows {
                rows: vec![Touched {
                    key: "example.com".into(),
                    before: Some(row(f, &["example.com", "mail.example.com"])),
                    after: Some(row(f, &["example.com", "mx2.example.com"])),
                }],
            },
        )
    }

    #[test]
    fn a_cluster_edit_reaches_the_main_group_and_west_shields_sf() {
        let fleet = americas();
        let r = review(&fleet, &session(vec![cluster_route_edit()]));
        assert_eq!(r.items.len(), 1);
        let item = &r.items[0];
        assert_eq!(item.definition, DefinitionChange::Edited);
        assert_eq!(item.href, "/cluster/settings/smtproutes");
        assert_eq!(item.mode_label, "Cluster: Americas");
        assert_eq!(item.rows.totals, (0, 1, 0));
        assert_eq!(
            item.rows.changed[0].cells[0].describe(),
            "Destination hosts: mail.example.com → mx2.example.com"
        );
        assert_eq!(item.rows.changed[0].key, "example.com");
        assert_eq!(
            item.reaches,
            vec![h("losangeles.example.com"), h("newyork.example.com")]
        );
        assert!(item.later.is_empty());
        assert_eq!(item.shielded.len(), 1);
        assert_eq!(item.shielded[0].host, h("sf.example.com"));
        assert_eq!(item.shielded[0].by, west());
        assert_eq!(item.shielded[0].by_label, "Group: West");
        assert_eq!(item.shielded[0].href, "/group/West/settings/smtproutes");
        assert_eq!(item.headline, "SMTP Routes at Cluster: Americas: 1 entry changed");
        assert_eq!(
            r.commit_summary(),
            "Commit 1 change to 1 feature, reaching 2 machines."
        );
    }

    #[test]
    fn deleting_wests_override_falls_back_to_the_cluster_and_reaches_sf_only() {
        let fleet = americas();
        let r = review(
            &fleet,
            &session(vec![edit(west(), FeatureId::SmtpRoutes, StagedEdit::Remove)]),
        );
        let item = &r.items[0];
        assert_eq!(
            item.definition,
            DefinitionChange::Deleted {
                inherits_from: Some(Mode::Cluster)
            }
        );
        // West's one route becomes the cluster's two: one changed, one added.
        assert_eq!(item.rows.totals, (1, 1, 0));
        assert_eq!(
            item.rows.added,
            vec!["partner.example.org -> relay.partner.example.org:25"]
        );
        assert_eq!(item.reaches, vec![h("sf.example.com")]);
        assert!(item.shielded.is_empty());
        assert_eq!(item.href, "/group/West/settings/smtproutes");
        assert_eq!(
            item.headline,
            "SMTP Routes at Group: West: definition deleted; it inherits from Cluster: Americas again (1 entry added, 1 entry changed)"
        );
    }

    #[test]
    fn a_new_definition_names_what_it_replaces_and_the_summaries_count_everything() {
        let fleet = americas();
        let main = Mode::Group(GroupName::parse("Main_Group").unwrap());
        let dns = FeatureId::Dns;
        let r = review(
            &fleet,
            &session(vec![
                cluster_route_edit(),
                edit(
                    main.clone(),
                    FeatureId::SmtpRoutes,
                    StagedEdit::Define {
                        value: FeatureValue::of(vec![row(
                            FeatureId::SmtpRoutes,
                            &["example.com", "main-mx.example.com"],
                        )]),
                    },
                ),
                edit(
                    Mode::Cluster,
                    dns,
                    StagedEdit::Rows {
                        rows: vec![Touched {
                            key: "10.9.0.53".into(),
                            before: None,
                            after: Some(row(dns, &["10.9.0.53", "5"])),
                        }],
                    },
                ),
            ]),
        );
        assert_eq!(r.items.len(), 3);
        // Main_Group's new definition shields its machines from the cluster's edit: it reaches nobody.
        assert!(r.items[0].reaches.is_empty());
        assert_eq!(r.items[0].shielded.len(), 3);
        assert_eq!(r.items[0].shielded[0].by, main);
        assert_eq!(
            r.items[1].definition,
            DefinitionChange::Created {
                inherited_from: Some(Mode::Cluster)
            }
        );
        // Compared with what Main_Group inherited: one route changed, one removed.
        assert_eq!(r.items[1].rows.totals, (0, 1, 1));
        assert_eq!(r.items[1].reaches.len(), 2);
        assert_eq!(r.items[2].rows.added, vec!["10.9.0.53 5"]);
        assert_eq!(r.items[2].reaches.len(), 3);
        assert_eq!(r.reaches.len(), 3);
        assert_eq!(
            r.commit_summary(),
            "Commit 3 changes to 2 features, reaching 3 machines."
        );
        assert_eq!(
            r.clear_summary(),
            "Discard 3 staged changes. Nothing is sent to any machine."
        );
    }

    #[test]
    fn a_detached_member_gets_the_change_when_it_reconnects() {
        let mut fleet = americas();
        fleet.machine_mut(&h("sf.example.com")).unwrap().detached = true;
        let dns = FeatureId::Dns;
        let r = review(
            &fleet,
            &session(vec![edit(
                Mode::Cluster,
                dns,
                StagedEdit::Define {
                    value: FeatureValue::of(vec![row(dns, &["10.9.0.53"])]),
                },
            )]),
        );
        assert_eq!(r.items[0].later, vec![h("sf.example.com")]);
        assert_eq!(r.reaches.len(), 2);
        assert_eq!(
            r.commit_summary(),
            "Commit 1 change to 1 feature, reaching 2 machines; 1 more when it reconnects (sf.example.com)."
        );
    }

    #[test]
    fn a_secret_is_reported_changed_but_never_shown() {
        let fleet = americas();
        let users = FeatureId::Users;
        let committed = fleet
            .machine(&h("newyork.example.com"))
            .unwrap()
            .config
            .defined(&Mode::Cluster, users)
            .unwrap()
            .row("ops")
            .unwrap()
            .clone();
        // The browser's copies are masked alike: the touched row differs only in its secret.
        let r = review(
            &fleet,
            &session(vec![edit(
                Mode::Cluster,
                users,
                StagedEdit::Rows {
                    rows: vec![Touched {
                        key: "ops".into(),
                        before: Some(committed.clone()),
                        after: Some(committed),
                    }],
                },
            )]),
        );
        let change = &r.items[0].rows.changed[0];
        assert_eq!(change.key, "ops");
        assert_eq!(change.cells.len(), 1);
        assert!(change.cells[0].secret);
        assert_eq!(
            change.cells[0].describe(),
            "Password: ******** → (a new value, not shown)"
        );
        assert!(!change.cells[0].describe().contains("ops-pass"));
    }

    #[test]
    fn a_single_value_is_changed_not_replaced() {
        let fleet = americas();
        let gw = FeatureId::DefaultGateway;
        let ny = Mode::Machine(h("newyork.example.com"));
        let r = review(
            &fleet,
            &session(vec![edit(
                ny,
                gw,
                StagedEdit::Define {
                    value: FeatureValue::of(vec![row(gw, &["10.1.0.254"])]),
                },
            )]),
        );
        let item = &r.items[0];
        assert_eq!(item.rows.totals, (0, 1, 0));
        assert_eq!(
            item.rows.changed[0].cells[0].describe(),
            "Default gateway: 10.1.0.1 → 10.1.0.254"
        );
        assert_eq!(item.reaches, vec![h("newyork.example.com")]);
        assert_eq!(item.mode_label, "Machine: newyork.example.com");
    }

    #[test]
    fn a_large_diff_lists_a_bounded_number_of_rows_and_counts_the_rest() {
        let fleet = americas();
        let f = FeatureId::SmtpRoutes;
        let rows: Vec<Row> = (0..SHOWN_ROWS + 10)
            .map(|i| row(f, &[&format!("d{i}.example.com"), "mx.example.com"]))
            .collect();
        let r = review(
            &fleet,
            &session(vec![edit(
                Mode::Cluster,
                f,
                StagedEdit::Define {
                    value: FeatureValue::of(rows),
                },
            )]),
        );
        let d = &r.items[0].rows;
        assert_eq!(d.totals, (SHOWN_ROWS + 10, 0, 2));
        assert_eq!(d.added.len(), SHOWN_ROWS);
        assert_eq!(d.omitted(), 10);
    }

    #[test]
    fn a_group_move_reaches_the_machine_and_links_to_cluster_operations() {
        let fleet = americas();
        let r = review(
            &fleet,
            &session(vec![Pending::Structure(StructureOp::SetGroup {
                host: h("sf.example.com"),
                group: GroupName::parse("Main_Group").unwrap(),
            })]),
        );
        assert_eq!(r.structure[0].text, "move sf.example.com to group Main_Group");
        assert_eq!(r.structure[0].href, "/cluster-ops");
        assert_eq!(r.reaches, vec![h("sf.example.com")]);
        assert_eq!(
            r.commit_summary(),
            "Commit 1 change to the cluster's structure, reaching 1 machine."
        );
    }

    /// What the review says a commit reaches is what the commit itself then reports reaching.
    #[test]
    fn the_review_agrees_with_the_commits_own_reach() {
        let fleet = americas();
        let ny = h("newyork.example.com");
        let base = |mode: &Mode, f| fleet.machine(&ny).unwrap().config.current_rev(mode, f);
        let with_base = |p: Pending| match p {
            Pending::Edit {
                mode, feature, edit, ..
            } => Pending::Edit {
                base: base(&mode, feature),
                mode,
                feature,
                edit,
            },
            other => other,
        };
        let cases: Vec<Vec<Pending>> = vec![
            vec![cluster_route_edit()],
            vec![edit(west(), FeatureId::SmtpRoutes, StagedEdit::Remove)],
            vec![
                cluster_route_edit(),
                edit(west(), FeatureId::SmtpRoutes, StagedEdit::Remove),
            ],
        ];
        for pending in cases {
            let s = session(pending.into_iter().map(with_base).collect());
            let command: crate::Command = crate::cmd::CommitCmd::Commit { comment: None }.into();
            let plan = match crate::check(&fleet, &s, &command, None, &[], fleet.now) {
                crate::Verdict::Plan { plan } => plan,
                other => panic!("commit not planned: {other:?}"),
            };
            assert_eq!(review(&fleet, &s).reaches, plan.reach, "{:?}", s.pending);
        }
    }

    #[test]
    fn nothing_staged_is_an_empty_review() {
        let r = review(&americas(), &session(Vec::new()));
        assert!(r.is_empty());
        assert_eq!(r.changes(), 0);
    }
}
