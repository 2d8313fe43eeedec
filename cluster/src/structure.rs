//! Cluster structure as data: how members address each other, pending CCS join entries, and the
//! structural changes `clusterconfig` stages until `commit` (rules §3.2, §14.3.1). One type,
//! [`StructureOp`], serves the command that stages a change and the staged item itself.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::{ClusterName, GroupName, Hostname, Serial, UserKey};

/// How cluster members address each other; the same for every member (I4, rules §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Addressing {
    Hostname,
    Ip,
}

impl fmt::Display for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Addressing::Hostname => "hostname",
            Addressing::Ip => "ip",
        })
    }
}

/// A committed `clusterconfig prepjoin new` entry (rules §3.1, join over CCS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrepJoin {
    pub host: Hostname,
    pub serial: Serial,
    pub user_key: UserKey,
}

/// A structural change of the cluster, staged until `commit` (rules §3.2's commit policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum StructureOp {
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
    /// Removes the entry whose serial number or hostname is `entry`.
    PrepJoinDelete {
        entry: String,
    },
}

impl StructureOp {
    /// A one-line description for `commit` previews and the pending-changes panel.
    pub fn describe(&self) -> String {
        match self {
            StructureOp::AddGroup { group } => format!("add group {group}"),
            StructureOp::RenameGroup { old, new } => format!("rename group {old} to {new}"),
            StructureOp::DeleteGroup { group, dest: Some(d) } => {
                format!("delete group {group}, moving its machines to {d}")
            }
            StructureOp::DeleteGroup { group, dest: None } => format!("delete group {group}"),
            StructureOp::SetGroup { host, group } => format!("move {host} to group {group}"),
            StructureOp::SetName { name } => format!("rename the cluster to {name}"),
            StructureOp::PrepJoinNew { entry } => {
                format!("prepjoin entry for {} (serial {})", entry.host, entry.serial)
            }
            StructureOp::PrepJoinDelete { entry } => format!("delete prepjoin entry {entry}"),
        }
    }

    /// The groups after this change, given the groups before it.
    pub fn groups_after(&self, groups: &mut Vec<GroupName>) {
        match self {
            StructureOp::AddGroup { group } => groups.push(group.clone()),
            StructureOp::RenameGroup { old, new } => {
                for g in groups.iter_mut() {
                    if g == old {
                        *g = new.clone();
                    }
                }
            }
            StructureOp::DeleteGroup { group, .. } => groups.retain(|g| g != group),
            _ => {}
        }
    }

    /// Whether this prepjoin entry key (`serial` or hostname) names `entry`.
    pub fn prepjoin_matches(entry: &PrepJoin, key: &str) -> bool {
        entry.serial.as_str() == key || entry.host.as_str() == key
    }
}
