//! `clustershow <feature>`: where a feature is defined, and each machine's effective source (rules §3.5,
//! §10.1).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::features::FeatureId;
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::roles::{ModeRule, Permission, Role};
use crate::store::{resolve, Definitions};
use crate::verdict::{Asker, Plan, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterShowCmd {
    pub feature: FeatureId,
}

impl Family for ClusterShowCmd {
    fn owns(word: &str) -> bool {
        word == "clustershow"
    }

    fn words() -> Vec<&'static str> {
        vec!["clustershow"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let feature = super::clusterset::feature_id(w)?;
        w.done()?;
        Ok(ClusterShowCmd { feature })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "clustershow {}", self.feature)
    }

    fn word(&self) -> &'static str {
        "clustershow"
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Read
    }

    fn permission(&self) -> Permission {
        Permission::ReadConfig
    }

    fn mode_rule(&self, _role: Role) -> ModeRule {
        ModeRule::Any
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        let feature = self.feature;
        if ctx.cluster().is_none() {
            return Ok(Plan::output(vec![
                "defined at standalone".into(),
                format!("{} uses standalone", ctx.host()),
            ]));
        }
        let mut out = Vec::new();
        let modes: Vec<Mode> = ctx.fleet.modes_of(ctx.host());
        for mode in &modes {
            if ctx.view.defined(mode, feature).is_some() {
                out.push(format!("defined at {mode}"));
            }
        }
        for m in ctx.members() {
            let group = m.membership.as_ref().map(|ms| &ms.group);
            let source = resolve(&ctx.view, &m.own_mode(), group, feature);
            out.push(format!("{} uses {}", m.hostname, source.source));
        }
        Ok(Plan::output(out))
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Show where a feature is defined and where each machine's value comes from.",
            "clustershow <feature>",
        ))
    }

    fn complete(_word: &str, done: &[&str], c: &Completion) -> Vec<String> {
        if done.is_empty() {
            c.features()
        } else {
            Vec::new()
        }
    }
}
