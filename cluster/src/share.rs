//! A fleet's history as JSON Lines (rules §18.5): the export `clusterdeck fleet export` writes, a share
//! link serves and its replay reads. One reader for all of them: the server imports and forks with it,
//! the browser replays with it, so both agree on what a log says at every revision.
//!
//! ```text
//! {"clusterdeck_export":1,"revision":42}      the header: the revision the log ends at
//! {"seed":{...}}                               the fleet the log starts from
//! {"revision":2,"event":{...}}                 every event after the seed, in order, no gaps
//! ```

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::fleet::Fleet;

/// The format this crate writes and reads.
pub const EXPORT_FORMAT: u32 = 1;

/// A share's log is refused above this size (rules §18.5): a replay loads all of it into the browser.
pub const MAX_SHARE_BYTES: usize = 8 * 1024 * 1024;

/// An event with the revision it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub revision: u64,
    pub event: Event,
}

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    pub clusterdeck_export: u32,
    pub revision: u64,
}

/// The second line: the fleet the log starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSeed {
    pub seed: Fleet,
}

/// An export read back: the seed, every event after it, and the fleet they lead to.
#[derive(Debug, Clone)]
pub struct Export {
    pub seed: Fleet,
    pub events: Vec<Stored>,
    /// The fleet at the end of the log.
    pub last: Fleet,
}

/// Writes an export's lines to `out`: the header, the seed, then `events`.
pub fn write_lines(
    out: &mut String,
    seed: &Fleet,
    events: &[Stored],
    revision: u64,
) -> Result<(), serde_json::Error> {
    let header = ExportHeader {
        clusterdeck_export: EXPORT_FORMAT,
        revision,
    };
    out.push_str(&serde_json::to_string(&header)?);
    out.push('\n');
    out.push_str(&serde_json::to_string(&ExportSeed { seed: seed.clone() })?);
    out.push('\n');
    for e in events {
        out.push_str(&serde_json::to_string(e)?);
        out.push('\n');
    }
    Ok(())
}

/// Reads an export: the header's format, a seed, events whose revisions follow each other without a gap
/// from the seed's, and a replay that ends at the revision the header names. Errors name the line.
pub fn read_export(text: &str) -> Result<Export, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("the file is empty")?;
    let header: ExportHeader =
        serde_json::from_str(first).map_err(|_| "line 1 is not a Clusterdeck export header".to_string())?;
    if header.clusterdeck_export != EXPORT_FORMAT {
        return Err(format!(
            "export format {} is not supported (this version reads format {EXPORT_FORMAT})",
            header.clusterdeck_export
        ));
    }
    let (_, second) = lines.next().ok_or("the file has no seed line")?;
    let ExportSeed { seed } = serde_json::from_str(second)
        .map_err(|e| format!("line 2 is not the fleet the log starts from: {e}"))?;
    let mut last = seed.clone();
    let mut events = Vec::new();
    for (i, line) in lines {
        let s: Stored =
            serde_json::from_str(line).map_err(|e| format!("line {} is not an event: {e}", i + 1))?;
        if s.revision != last.revision + 1 {
            return Err(format!(
                "line {}: revision {} follows {}: the log has a gap",
                i + 1,
                s.revision,
                last.revision
            ));
        }
        crate::apply(&mut last, &s.event);
        events.push(s);
    }
    if last.revision != header.revision {
        return Err(format!(
            "the log ends at revision {} but the header says {}",
            last.revision, header.revision
        ));
    }
    Ok(Export { seed, events, last })
}

impl Export {
    /// The first revision of the log (the seed's) and the last.
    pub fn revisions(&self) -> (u64, u64) {
        (self.seed.revision, self.last.revision)
    }

    /// The fleet at `revision` (clamped to the log): the seed with every event up to it applied.
    pub fn at(&self, revision: u64) -> Fleet {
        if revision >= self.last.revision {
            return self.last.clone();
        }
        let mut fleet = self.seed.clone();
        for s in self.events.iter().take_while(|s| s.revision <= revision) {
            crate::apply(&mut fleet, &s.event);
        }
        fleet
    }
}

/// What an event did, in the console's words, for a replay's timeline (rules §18.6).
pub fn headline(event: &Event) -> String {
    let list = |hosts: &[crate::names::Hostname]| {
        hosts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &event.kind {
        EventKind::Committed {
            host,
            user,
            writes,
            structure,
            comment,
        } => {
            let mut what = match (writes.len(), structure.len()) {
                (0, 0) => "nothing".to_string(),
                (w, 0) => format!("{w} setting change{}", if w == 1 { "" } else { "s" }),
                (0, s) => format!("{s} structural change{}", if s == 1 { "" } else { "s" }),
                (w, s) => format!(
                    "{w} setting and {s} structural change{}",
                    if w + s == 1 { "" } else { "s" }
                ),
            };
            if let Some(c) = comment.as_deref().filter(|c| !c.is_empty()) {
                what.push_str(&format!(" — “{c}”"));
            }
            format!("{user} committed {what} on {host}")
        }
        EventKind::Forced { host, feature, .. } => {
            format!(
                "{host}'s {} was copied to every reachable member",
                feature.title()
            )
        }
        EventKind::ClusterCreated { host, name, .. } => format!("Cluster {name} created on {host}"),
        EventKind::Joined { host, via, group, .. } => {
            format!("{host} joined the cluster through {via}, in group {group}")
        }
        EventKind::MachineRemoved { host } => format!("{host} removed from its cluster"),
        EventKind::Detached { hosts } => format!("{} disconnected", list(hosts)),
        EventKind::Reconnected { hosts } => format!("{} reconnected", list(hosts)),
        EventKind::UpgradeDownloaded { host, version } => {
            format!("{host} downloaded AsyncOS {version}")
        }
        EventKind::UpgradeStarted { host, version, .. } => {
            format!("{host} started upgrading to AsyncOS {version}")
        }
        EventKind::UpgradeFinished { host } => format!("{host} finished its upgrade and rebooted"),
        EventKind::ListenersSuspended { host, listeners } => {
            format!("{host}: listeners {} suspended", listeners.join(", "))
        }
        EventKind::ListenersResumed { host, listeners } => {
            format!("{host}: listeners {} resumed", listeners.join(", "))
        }
        EventKind::MachineSuspended { host } => format!("{host} suspended"),
        EventKind::MachineResumed { host } => format!("{host} resumed"),
        EventKind::ConfigSaved { host, name, .. } => format!("{host} saved its configuration as {name}"),
        EventKind::LinkChanged { a, b, up } => format!(
            "Simulator: the link between {a} and {b} {}",
            if *up { "came back" } else { "went down" }
        ),
        EventKind::DnsChanged { host, resolves } => format!(
            "Simulator: {host}'s name {}",
            if *resolves {
                "resolves again"
            } else {
                "stopped resolving"
            }
        ),
        EventKind::MachineAdded { machine } => format!("Simulator: machine {} added", machine.hostname),
        EventKind::ClockAdvanced => "Time passed".to_string(),
        EventKind::Fault { fault } => format!("Simulator: {}", fault.directive()),
        EventKind::DeliveryChanged { host, suspended } => format!(
            "{host}: delivery {}",
            if *suspended { "suspended" } else { "resumed" }
        ),
        EventKind::WorkQueueChanged { host, paused } => format!(
            "{host}: work queue {}",
            if *paused { "paused" } else { "resumed" }
        ),
        EventKind::RebootStarted { host } => format!("{host} is rebooting"),
        EventKind::RebootFinished { host } => format!("{host} is back from its reboot"),
        EventKind::ShutDown { host } => format!("{host} shut down"),
        EventKind::UpgradeFailed { host } => format!("{host}'s upgrade failed: it keeps its version"),
        EventKind::MailSettled => "An hour of mail flow recorded".to_string(),
    }
}
