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
    /// A fault raised or repaired through the simulator's controls (rules §16.2).
    Fault {
        fault: Fault,
    },
    /// `suspenddel` / `resumedel` (rules §16.5).
    DeliveryChanged {
        host: Hostname,
        suspended: bool,
    },
    /// `workqueue pause` / `workqueue resume`.
    WorkQueueChanged {
        host: Hostname,
        paused: bool,
    },
    /// `reboot`: the machine goes down and comes back (rules §16.3).
    RebootStarted {
        host: Hostname,
    },
    /// Time-driven: a reboot is over.
    RebootFinished {
        host: Hostname,
    },
    /// `shutdown`: the machine stays off until the simulator powers it on.
    ShutDown {
        host: Hostname,
    },
    /// Time-driven: an install armed to fail has failed; the machine keeps its version (rules §16.2).
    UpgradeFailed {
        host: Hostname,
    },
    /// Time-driven, once a simulated hour: every machine's mail flow is recorded (rules §16.4).
    MailSettled,
}

/// `up`/`down`, `on`/`off`: the states a simulator control sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    Up,
    Down,
    On,
    Off,
}

/// What the next install of a machine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstallFault {
    /// It fails: the machine stays on its version, with an alert.
    Fail,
    /// It succeeds (repairs an armed failure).
    Succeed,
}

/// One simulator control (rules §16.2): the one JSON shape of `POST /api/v1/simulator`, of the script
/// directives and of the event that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Cut (`down`) or restore (`up`) the link between two machines.
    Link {
        #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 2))]
        between: [Hostname; 2],
        state: Switch,
    },
    /// Make a machine's hostname unresolvable (`off`) or resolvable again (`on`).
    Dns { host: Hostname, state: Switch },
    /// Power a machine off or on.
    Power { host: Hostname, state: Switch },
    /// The next install of the machine fails (`fail`) or not (`succeed`).
    Install { host: Hostname, state: InstallFault },
    /// The machine's next reboot takes this many seconds longer (0: the usual time).
    Reboot {
        host: Hostname,
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86_400))]
        extra_seconds: u32,
    },
    /// The machine delivers at this percentage of its normal rate (100: normal, 0: stalled).
    Delivery {
        host: Hostname,
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
        rate_percent: u8,
    },
}

impl Fault {
    /// The machines the control names.
    pub fn hosts(&self) -> Vec<&Hostname> {
        match self {
            Fault::Link { between, .. } => between.iter().collect(),
            Fault::Dns { host, .. }
            | Fault::Power { host, .. }
            | Fault::Install { host, .. }
            | Fault::Reboot { host, .. }
            | Fault::Delivery { host, .. } => vec![host],
        }
    }

    /// The control as a line of the audit log and of a script (`@link a b down`, ...).
    pub fn directive(&self) -> String {
        let w = |s: &Switch| match s {
            Switch::Up => "up",
            Switch::Down => "down",
            Switch::On => "on",
            Switch::Off => "off",
        };
        match self {
            Fault::Link {
                between: [a, b],
                state,
            } => format!("@link {a} {b} {}", w(state)),
            Fault::Dns { host, state } => format!("@dns {host} {}", w(state)),
            Fault::Power { host, state } => format!("@power {host} {}", w(state)),
            Fault::Install {
                host,
                state: InstallFault::Fail,
            } => format!("@fail install {host}"),
            Fault::Install {
                host,
                state: InstallFault::Succeed,
            } => format!("@fail install {host} off"),
            Fault::Reboot { host, extra_seconds } => format!("@slow reboot {host} {extra_seconds}"),
            Fault::Delivery { host, rate_percent } => format!("@slow delivery {host} {rate_percent}"),
        }
    }
}

impl Event {
    pub fn new(at: Timestamp, kind: EventKind) -> Self {
        Self { at, kind }
    }
}

impl EventKind {
    /// The one machine whose own runtime state alone this event changes (rules §16.4.8): suspending or
    /// resuming it, its listeners, its delivery or its work queue, a downloaded upgrade, a saved
    /// configuration. Such an event changes no configuration, no power, no link and no membership, so
    /// it changes no other machine's mail flow and no session's credentials or login host.
    pub fn machine_local(&self) -> Option<&Hostname> {
        use EventKind as K;
        match self {
            K::MachineSuspended { host }
            | K::MachineResumed { host }
            | K::ListenersSuspended { host, .. }
            | K::ListenersResumed { host, .. }
            | K::DeliveryChanged { host, .. }
            | K::WorkQueueChanged { host, .. }
            | K::UpgradeDownloaded { host, .. }
            | K::ConfigSaved { host, .. } => Some(host),
            _ => None,
        }
    }
}
