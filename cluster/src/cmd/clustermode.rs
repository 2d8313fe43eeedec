//! `clustermode`: show or change the mode the session configures (rules §3.3, §14.1.6).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::roles::{ModeRule, Permission, Role};
use crate::session::SessionChange;
use crate::verdict::{Asker, Plan, Rejection, Stop};

/// `clustermode [cluster | group <g> | machine <host>]`; with no argument it prints the mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterModeCmd {
    pub mode: Option<Mode>,
}

impl Family for ClusterModeCmd {
    fn owns(word: &str) -> bool {
        word == "clustermode"
    }

    fn words() -> Vec<&'static str> {
        vec!["clustermode"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let mode = match w.keyword(&["cluster", "group", "machine"]).as_deref() {
            None if w.is_empty() => None,
            // Also accept the mode notation `group:<g>` / `machine:<host>`.
            None => Some(w.mode()?),
            Some("cluster") => Some(Mode::Cluster),
            Some("group") => Some(Mode::Group(w.group()?)),
            _ => Some(Mode::Machine(w.host()?)),
        };
        w.done()?;
        Ok(ClusterModeCmd { mode })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mode {
            None => f.write_str("clustermode"),
            Some(Mode::Cluster) => f.write_str("clustermode cluster"),
            Some(Mode::Group(g)) => write!(f, "clustermode group {g}"),
            Some(Mode::Machine(h)) => write!(f, "clustermode machine {h}"),
        }
    }

    fn word(&self) -> &'static str {
        "clustermode"
    }

    /// Changing the session's own mode never conflicts with anyone.
    fn kind(&self) -> CommandKind {
        CommandKind::Stage
    }

    fn permission(&self) -> Permission {
        Permission::Read
    }

    fn mode_rule(&self, _role: Role) -> ModeRule {
        ModeRule::Any
    }

    fn allowed_while_upgrading(&self) -> bool {
        false
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        ctx.require_cluster("clustermode")?;
        let Some(mode) = &self.mode else {
            let current = ctx.mode.clone().unwrap_or(Mode::Cluster);
            return Ok(Plan::output(vec![format!("Mode: {current}")]));
        };
        ctx.validate_mode("clustermode", mode)?;
        if let Mode::Machine(h) = mode {
            if h != ctx.host() && !ctx.is_connected() {
                return Err(Rejection::DetachedHost {
                    host: ctx.host().clone(),
                    command: "clustermode".into(),
                }
                .into());
            }
        }
        Ok(Plan {
            session: vec![SessionChange::Mode {
                mode: Some(mode.clone()),
            }],
            output: vec![format!("Mode: {mode}")],
            ..Plan::default()
        })
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Show or change the mode the session configures.",
            "clustermode cluster | group <g> | machine <host>\nclustermode            prints the current mode",
        ))
    }

    /// Only modes of the login host's cluster; a standalone machine has none (rules §15.34).
    fn complete(_word: &str, done: &[&str], c: &Completion) -> Vec<String> {
        match done {
            _ if !c.is_member() => Vec::new(),
            [] => vec!["cluster".into(), "group".into(), "machine".into()],
            [kind] if kind.eq_ignore_ascii_case("group") => c.groups(),
            [kind] if kind.eq_ignore_ascii_case("machine") => c.members(),
            _ => Vec::new(),
        }
    }
}
