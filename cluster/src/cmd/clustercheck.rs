//! `clustercheck` (rules §3.6, §14.1.3): compare every reachable member's copy of each item, and resolve
//! each inconsistency by forcing one member's copy or ignoring it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Ctx, Family, Help};
use crate::event::{EventKind, Write};
use crate::features::{FeatureId, CATALOGUE};
use crate::fleet::Fleet;
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::names::Hostname;
use crate::roles::Permission;
use crate::store::{Change, Setting};
use crate::verdict::{gui_place, Asker, Choice, Numbered, Plan, Stop};

/// `clustercheck` (cluster mode only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterCheckCmd {}

impl Family for ClusterCheckCmd {
    fn owns(word: &str) -> bool {
        word == "clustercheck"
    }

    fn words() -> Vec<&'static str> {
        vec!["clustercheck"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        w.done()?;
        Ok(ClusterCheckCmd {})
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("clustercheck")
    }

    fn word(&self) -> &'static str {
        "clustercheck"
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Immediate
    }

    fn permission(&self) -> Permission {
        Permission::Commit
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        check(ctx, asker)
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Compare every member's copy of the configuration and resolve inconsistencies.",
            "clustercheck   (cluster mode)",
        ))
    }
}

/// One item whose copies differ between members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency {
    pub feature: FeatureId,
    pub mode: Mode,
    pub copies: Vec<(Hostname, Option<Setting>)>,
}

/// Items whose copies differ among the members `host` can reach (itself included).
pub fn inconsistencies(fleet: &Fleet, host: &Hostname) -> Vec<Inconsistency> {
    let members: Vec<Hostname> = crate::apply::targets(fleet, host).into_iter().collect();
    if members.len() < 2 {
        return Vec::new();
    }
    let mut keys: Vec<(FeatureId, Mode)> = Vec::new();
    for h in &members {
        if let Some(m) = fleet.machine(h) {
            for (mode, f) in m.config.keys() {
                if !keys.contains(&(f, mode.clone())) {
                    keys.push((f, mode.clone()));
                }
            }
        }
    }
    keys.sort();
    let mut out = Vec::new();
    for (feature, mode) in keys {
        let copies: Vec<(Hostname, Option<Setting>)> = members
            .iter()
            .map(|h| {
                (
                    h.clone(),
                    fleet
                        .machine(h)
                        .and_then(|m| m.config.get(&mode, feature).cloned()),
                )
            })
            .collect();
        if copies.iter().any(|(_, c)| c != &copies[0].1) {
            out.push(Inconsistency {
                feature,
                mode,
                copies,
            });
        }
    }
    out
}

fn check(ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster("clustercheck")?;
    let found = inconsistencies(ctx.fleet, ctx.host());
    // Lines since the last question: a question shows what led to it; the final output continues from
    // the last answer, as a terminal would.
    let mut since_question: Vec<String> = Vec::new();
    let mut events = Vec::new();
    for schema in CATALOGUE {
        since_question.push(format!("Checking {}...", schema.check_label));
        for item in found.iter().filter(|i| i.feature == schema.id) {
            let mut lines = vec![
                "Inconsistency found!".to_string(),
                format!(
                    "{} at {}:",
                    schema.check_label,
                    item.mode.prompt_label(&cluster.name)
                ),
            ];
            let place = gui_place(&item.mode);
            let mut body = vec![format!(
                "The machines hold different {} at {place}:",
                schema.title
            )];
            for (h, copy) in &item.copies {
                lines.push(match copy {
                    Some(s) => format!(
                        "{h} was updated {} by '{}' on {}",
                        s.rev.at, s.rev.user, s.rev.origin
                    ),
                    None => format!("{h} has no settings for it"),
                });
                body.push(match copy {
                    Some(s) => format!(
                        "{h}: changed by {} on {} at {}",
                        s.rev.user, s.rev.origin, s.rev.at
                    ),
                    None => format!("{h}: no settings (using one removes the definition everywhere)"),
                });
            }
            since_question.extend(lines);
            let n = item.copies.len();
            let mut question = since_question.join("\n");
            question.push_str("\nHow do you want to resolve this inconsistency?\n");
            let mut options = Vec::with_capacity(n + 1);
            for (i, (h, _)) in item.copies.iter().enumerate() {
                question.push_str(&format!("{}. Use the settings of {h} on every machine\n", i + 1));
                options.push(Choice::destroys(format!(
                    "Use the settings of {h} on every machine"
                )));
            }
            question.push_str(&format!("{}. Ignore\n[{}]>", n + 1, n + 1));
            options.push(Choice::acts("Leave it as it is"));
            body.push("Using one machine's settings overwrites the others' at once (no commit).".into());
            since_question.clear();
            let choice = asker.choose(Numbered {
                question,
                default: n + 1,
                title: format!("{} differ at {place}", schema.title),
                body,
                options,
            })?;
            if choice <= n {
                let (source, copy) = &item.copies[choice - 1];
                since_question.push(format!(
                    "Forced {} at {} to the settings of {source}.",
                    item.feature, item.mode
                ));
                events.push(match copy {
                    Some(setting) => ctx.event(EventKind::Forced {
                        host: ctx.host().clone(),
                        mode: item.mode.clone(),
                        feature: item.feature,
                        setting: setting.clone(),
                    }),
                    None => ctx.event(EventKind::Committed {
                        host: ctx.host().clone(),
                        user: ctx.user().clone(),
                        writes: vec![Write {
                            mode: item.mode.clone(),
                            feature: item.feature,
                            change: Change::Remove,
                        }],
                        structure: Vec::new(),
                        comment: Some("clustercheck".into()),
                    }),
                });
            } else {
                since_question.push("Ignored.".to_string());
            }
        }
    }
    if found.is_empty() {
        since_question.push("No inconsistencies found.".to_string());
    }
    Ok(Plan {
        events,
        output: since_question,
        ..Plan::default()
    })
}
