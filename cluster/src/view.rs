//! What a configuration page shows for a feature at a mode (DOMAIN 9, 5.4): defined here, inherited from
//! its real source, or configured at another level — and where each machine's value comes from. The
//! console renders these; the CLI's `print` and `clustershow` read the same functions.

use serde::{Deserialize, Serialize};

use crate::features::FeatureId;
use crate::model::{resolve, ConfigStore, FeatureValue, Fleet, Level, Mode};
use crate::names::Hostname;

/// The state of a feature's page at a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PageState {
    /// A standalone machine: its own settings, no modes.
    Standalone { value: FeatureValue },
    /// The mode defines the feature.
    Defined { value: FeatureValue },
    /// The mode inherits the value from `from` (the real source, not always the cluster).
    Inherited { from: Mode, value: FeatureValue },
    /// The feature cannot be set at this level; `at` is where it can.
    WrongLevel { at: Level },
}

/// Where a mode inherits `feature` from, and the value (machine → group → cluster → default).
pub fn inherited(
    fleet: &Fleet,
    store: &ConfigStore,
    mode: &Mode,
    feature: FeatureId,
) -> (Mode, FeatureValue) {
    let cluster_value = || {
        store
            .get(&Mode::Cluster, feature)
            .map(|s| s.value.clone())
            .unwrap_or_else(|| feature.schema().default_value())
    };
    if let Mode::Machine(h) = mode {
        if let Some(g) = fleet.group_of(h) {
            let gm = Mode::Group(g.clone());
            if let Some(s) = store.get(&gm, feature) {
                return (gm, s.value.clone());
            }
        }
    }
    (Mode::Cluster, cluster_value())
}

/// The value in effect at a mode: its own definition, else what it inherits.
pub fn value_at(fleet: &Fleet, store: &ConfigStore, mode: &Mode, feature: FeatureId) -> FeatureValue {
    match store.get(mode, feature) {
        Some(s) => s.value.clone(),
        None => inherited(fleet, store, mode, feature).1,
    }
}

/// The page state of `feature` at `mode` for a login host, reading `store` (the session's view).
pub fn page_state(
    fleet: &Fleet,
    login_host: &Hostname,
    store: &ConfigStore,
    mode: &Mode,
    feature: FeatureId,
) -> PageState {
    let schema = feature.schema();
    if fleet.cluster_of(login_host).is_none() {
        let own = Mode::Machine(login_host.clone());
        let value = store
            .get(&own, feature)
            .map(|s| s.value.clone())
            .unwrap_or_else(|| schema.default_value());
        return PageState::Standalone { value };
    }
    if !schema.levels.allows(mode.level()) {
        let at = if schema.levels.machine {
            Level::Machine
        } else {
            Level::Cluster
        };
        return PageState::WrongLevel { at };
    }
    match store.get(mode, feature) {
        Some(s) => PageState::Defined {
            value: s.value.clone(),
        },
        None => {
            let (from, value) = inherited(fleet, store, mode, feature);
            PageState::Inherited { from, value }
        }
    }
}

/// Each member of `host`'s cluster, the mode its effective value of `feature` comes from, and the value.
pub fn sources(
    fleet: &Fleet,
    host: &Hostname,
    store: &ConfigStore,
    feature: FeatureId,
) -> Vec<(Hostname, Mode, FeatureValue)> {
    let Some(cluster) = fleet.cluster_of(host) else {
        return Vec::new();
    };
    fleet
        .members(&cluster.name)
        .map(|m| {
            let r = resolve(store, &m.hostname, fleet.group_of(&m.hostname), feature);
            let value = r
                .setting
                .map(|s| s.value.clone())
                .unwrap_or_else(|| feature.schema().default_value());
            (m.hostname.clone(), r.mode, value)
        })
        .collect()
}
