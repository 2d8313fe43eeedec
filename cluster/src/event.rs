//! Events: the only way state changes, on the server and in the browser alike. `apply` is deterministic.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue};
use crate::fleet::Machine;
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname, Timestamp, UserName, Version};

use crate::store::{Change, Setting};
use crate::structure::{Addressing, StructureOp};

/// An event with the simulated time it happened at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
}

/// A write of one item into replicas: the change each applies to its copy (rules §14.7.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredWrite")]
pub struct Write {
    pub mode: Mode,
    pub feature: FeatureId,
    pub change: Change,
}

/// A write as logs hold it: logs written before events carried changes hold the whole new value
/// (`null`: the definition removed) instead.
#[derive(Deserialize)]
struct StoredWrite {
    mode: Mode,
    feature: FeatureId,
    #[serde(default)]
    change: Option<Change>,
    #[serde(default)]
    value: Option<FeatureValue>,
}

impl From<StoredWrite> for Write {
    fn from(w: StoredWrite) -> Write {
        let change = w.change.unwrap_or(match w.value {
            Some(value) => Change::Define { value },
            None => Change::Remove,
        });
        Write {
            mode: w.mode,
            feature: w.feature,
            change,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A commit from `host` by `user`: the writes go to every replica reachable from `host` (only its own
    /// when it is disconnected); structural items change the fleet. Also used for `passwd` and a
    /// `clustercheck` force.
    Committed {
        host: Hostname,
        user: UserName,
        writes: Vec<Write>,
        structure: Vec<StructureOp>,
        comment: Option<String>,
    },
    /// `clustercheck` forced one member's copy onto every reachable member, revision included.
    Forced {
        host: Hostname,
        mode: Mode,
        feature: FeatureId,
        setting: Setting,
    },
    ClusterCreated {
        host: Hostname,
        name: ClusterName,
        addressing: Addressing,
    },
    Joined {
        host: Hostname,
        via: Hostname,
        group: GroupName,
        ccs: bool,
    },
    MachineRemoved {
        host: Hostname,
    },
    Detached {
        hosts: Vec<Hostname>,
    },
    Reconnected {
        hosts: Vec<Hostname>,
    },
    UpgradeDownloaded {
        host: Hostname,
        version: Version,
    },
    UpgradeStarted {
        host: Hostname,
        version: Version,
        detach: Vec<Hostname>,
    },
    UpgradeFinished {
        host: Hostname,
    },
    ListenersSuspended {
        host: Hostname,
        listeners: Vec<String>,
    },
    ListenersResumed {
        host: Hostname,
        listeners: Vec<String>,
    },
    MachineSuspended {
        host: Hostname,
    },
    MachineResumed {
        host: Hostname,
    },
    ConfigSaved {
        host: Hostname,
        name: String,
        text: String,
    },
    /// Simulation: a link between two members goes down or comes back.
    LinkChanged {
        a: Hostname,
        b: Hostname,
        up: bool,
    },
    /// Simulation: a host's name stops or starts resolving.
    DnsChanged {
        host: Hostname,
        resolves: bool,
    },
    /// Simulation: a new standalone machine.
    MachineAdded {
        machine: Box<Machine>,
    },
    /// Time passes (settles nothing by itself; time-driven changes are explicit events).
    ClockAdvanced,
}

impl Event {
    pub fn new(at: Timestamp, kind: EventKind) -> Self {
        Self { at, kind }
    }
}
