//! Levels and modes (rules §1, §2.4): the tier a setting is stored at, and a named member of a tier.
//! Vocabulary: depends only on [`crate::names`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{ClusterName, GroupName, Hostname, NameError};

/// The tier a setting is stored at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Cluster,
    Group,
    Machine,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Cluster => "cluster",
            Level::Group => "group",
            Level::Machine => "machine",
        })
    }
}

/// A named member of a level: the cluster, one group, or one machine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Cluster,
    Group(GroupName),
    Machine(Hostname),
}

impl Mode {
    pub fn level(&self) -> Level {
        match self {
            Mode::Cluster => Level::Cluster,
            Mode::Group(_) => Level::Group,
            Mode::Machine(_) => Level::Machine,
        }
    }

    /// `cluster`, `group:<g>`, `machine:<host>` (rules §10).
    pub fn parse(input: &str) -> Result<Mode, NameError> {
        if input.eq_ignore_ascii_case("cluster") {
            return Ok(Mode::Cluster);
        }
        match input.split_once(':') {
            Some((kind, name)) if kind.eq_ignore_ascii_case("group") => {
                Ok(Mode::Group(GroupName::parse(name)?))
            }
            Some((kind, name)) if kind.eq_ignore_ascii_case("machine") => {
                Ok(Mode::Machine(Hostname::parse(name)?))
            }
            _ => Err(NameError {
                kind: "mode",
                input: input.chars().take(80).collect(),
                reason: "expected cluster, group:<name> or machine:<host>",
            }),
        }
    }

    /// How prompts name the mode: `Cluster Americas`, `Group West`, `Machine sf.example.com`.
    pub fn prompt_label(&self, cluster: &ClusterName) -> String {
        match self {
            Mode::Cluster => format!("Cluster {cluster}"),
            Mode::Group(g) => format!("Group {g}"),
            Mode::Machine(h) => format!("Machine {h}"),
        }
    }

    /// How the GUI names the mode: `Cluster: Americas`, `Group: West`, `Machine: sf.example.com`.
    pub fn gui_label(&self, cluster: &ClusterName) -> String {
        match self {
            Mode::Cluster => format!("Cluster: {cluster}"),
            Mode::Group(g) => format!("Group: {g}"),
            Mode::Machine(h) => format!("Machine: {h}"),
        }
    }

    /// The mode a console URL names, and the rest of the path after it: `/cluster/...`, `/group/<g>/...`,
    /// `/machine/<host>/...` (rules §9, §14.6). `None` when the path names no mode.
    pub fn parse_path(path: &str) -> Option<(Mode, Vec<&str>)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["cluster", rest @ ..] => Some((Mode::Cluster, rest.to_vec())),
            ["group", g, rest @ ..] => Some((Mode::Group(GroupName::parse(g).ok()?), rest.to_vec())),
            ["machine", h, rest @ ..] => Some((Mode::Machine(Hostname::parse(h).ok()?), rest.to_vec())),
            _ => None,
        }
    }

    /// The URL prefix of the mode's pages: `/cluster`, `/group/<g>`, `/machine/<host>` (rules §9).
    pub fn path(&self) -> String {
        match self {
            Mode::Cluster => "/cluster".into(),
            Mode::Group(g) => format!("/group/{g}"),
            Mode::Machine(h) => format!("/machine/{h}"),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Cluster => f.write_str("cluster"),
            Mode::Group(g) => write!(f, "group:{g}"),
            Mode::Machine(h) => write!(f, "machine:{h}"),
        }
    }
}

impl FromStr for Mode {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::parse(s)
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Mode::parse(&raw).map_err(serde::de::Error::custom)
    }
}
