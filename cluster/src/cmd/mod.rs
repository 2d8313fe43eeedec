//! Commands: one family per file, and each file owns everything about its family — the typed command,
//! its parsing from CLI words, its one-line rendering, its permission and mode rule, its help text, its
//! completion and its check. This module holds only what the families share: the [`Family`] trait, the
//! [`Command`] that dispatches to them, the context a check reads ([`Ctx`]), and [`check`], which fixes
//! the order of checks (rules §14.1, §14.7.1):
//!
//! 1. the session, its user and role, and whether the login host is upgrading;
//! 2. the mode rule (rules §4): which mode the command needs, and whether a switch must be offered;
//! 3. the role, then every refusal of the command itself — all before any question;
//! 4. the questions: the mode switch first (the [`Asker`] asks it just before the command's own first
//!    question, or once the command has its plan), then the command's own.
//!
//! Adding a command to a family touches that family's file only; adding a family adds a file and one
//! line to [`families!`].

mod clustercheck;
mod clusterconfig;
mod clustermode;
mod clusterset;
mod clustershow;
mod commit;
mod feature;
mod files;
mod help;
mod passwd;
mod power;
mod runtime;
mod status;
mod upgrade;
mod workqueue;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use clustercheck::{inconsistencies, ClusterCheckCmd, Inconsistency};
pub use clusterconfig::{
    connstatus_lines, list_lines, reconnect_overwrites, reconnect_preview_lines, ClusterConfigCmd,
    SOFT_MEMBER_LIMIT,
};
pub use clustermode::ClusterModeCmd;
pub use clusterset::{ClusterSetCmd, FeatureSel};
pub use clustershow::ClusterShowCmd;
pub use commit::CommitCmd;
pub use feature::{FeatureAction, FeatureCmd};
pub use files::FilesCmd;
pub use help::HelpCmd;
pub use passwd::PasswdCmd;
pub use power::PowerCmd;
pub use runtime::RuntimeCmd;
pub use status::StatusCmd;
pub use upgrade::{
    due_events, install_disconnects, offered_versions, upgrade_progress, UpgradeCmd, UpgradePhase,
    UpgradeProgress, INSTALL_SECS, REBOOT_SECS,
};
pub use workqueue::WorkQueueCmd;

use crate::event::{Event, EventKind};
use crate::features::FeatureId;
use crate::fleet::{Cluster, Connection, Fleet, Machine};
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::names::{GroupName, Hostname, Timestamp, UserName};
use crate::roles::{ModeRule, Permission, Role};
use crate::session::{Pending, Session, SessionChange};
use crate::store::{effective, Definitions, Overlay};
use crate::structure::StructureOp;
use crate::verdict::{
    gui_commit_hint, gui_count, gui_place, yes_no_prompt, Asker, Choice, Plan, Rejection, Stop, Verdict,
    YesNo,
};

/// Whether a command reads, stages (never stale, rules §14.3.1) or acts at once (stale → 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    Read,
    Stage,
    Immediate,
}

/// A command's help: a one-line synopsis and the usage lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub synopsis: &'static str,
    pub usage: Vec<String>,
}

impl Help {
    fn new(synopsis: &'static str, usage: &str) -> Help {
        Help {
            synopsis,
            usage: usage.lines().map(|l| l.trim_start().to_string()).collect(),
        }
    }
}

/// What completion offers for the words after a command word: the fleet as the login host sees it.
pub struct Completion<'a> {
    pub fleet: &'a Fleet,
    pub login_host: &'a Hostname,
}

impl Completion<'_> {
    /// Whether the login host is a member of a cluster (a standalone machine has no modes).
    pub fn is_member(&self) -> bool {
        self.fleet.cluster_of(self.login_host).is_some()
    }

    /// The machines a standalone login host may join through: members of some cluster (joining through
    /// a standalone machine is refused, rules §15.34).
    pub fn join_targets(&self) -> Vec<String> {
        self.fleet
            .machines
            .keys()
            .filter(|h| *h != self.login_host && self.fleet.cluster_of(h).is_some())
            .map(|h| h.to_string())
            .collect()
    }

    /// The members of the login host's cluster.
    pub fn members(&self) -> Vec<String> {
        self.fleet
            .modes_of(self.login_host)
            .into_iter()
            .filter_map(|m| match m {
                Mode::Machine(h) => Some(h.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The groups of the login host's cluster.
    pub fn groups(&self) -> Vec<String> {
        self.fleet
            .cluster_of(self.login_host)
            .map(|c| c.groups.iter().map(|g| g.to_string()).collect())
            .unwrap_or_default()
    }

    /// The groups of the cluster `host` (as typed) belongs to, for `join ... group <g>`.
    pub fn groups_of_cluster_of(&self, host: &str) -> Vec<String> {
        Hostname::parse(host)
            .ok()
            .and_then(|h| self.fleet.cluster_of(&h))
            .map(|c| c.groups.iter().map(|g| g.to_string()).collect())
            .unwrap_or_default()
    }

    /// The modes of the login host's cluster, in CLI notation.
    pub fn modes(&self) -> Vec<String> {
        self.fleet
            .modes_of(self.login_host)
            .iter()
            .map(|m| m.to_string())
            .collect()
    }

    pub fn features(&self) -> Vec<String> {
        crate::features::CATALOGUE
            .iter()
            .map(|s| s.command.to_string())
            .collect()
    }
}

/// What every command family provides; [`Command`] dispatches each call to the family's file.
pub trait Family: Sized + Clone {
    /// Whether a line whose first word is `word` (lower case) belongs to this family.
    fn owns(word: &str) -> bool;
    /// The command words the family owns, for `help` and completion.
    fn words() -> Vec<&'static str>;
    /// Parses the words after `word`.
    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError>;
    /// The one-line form the parser reads back (`parse(render(c)) == c`).
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// The command word (`clusterconfig`, `smtproutes`, ...).
    fn word(&self) -> &'static str;
    fn kind(&self) -> CommandKind;
    /// The permission family (rules §14.4).
    fn permission(&self) -> Permission;
    /// Where the command may run for `role` (rules §4.1 tables, §14.1.1 exceptions).
    fn mode_rule(&self, _role: Role) -> ModeRule {
        crate::roles::mode_rule(self.word())
    }
    /// Whether the command may run on a login host that is installing an upgrade or rebooting.
    fn allowed_while_upgrading(&self) -> bool {
        false
    }
    /// The same command with every password masked, for audit logs.
    fn redacted(&self) -> Self {
        self.clone()
    }
    /// The command's refusals, questions and plan.
    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop>;
    /// Help for one of the family's words.
    fn help(word: &str) -> Option<Help>;
    /// Completion candidates for the next word, given the words typed after the command word.
    fn complete(_word: &str, _done: &[&str], _c: &Completion) -> Vec<String> {
        Vec::new()
    }
}

/// Declares the command families: the [`Command`] enum and its dispatch.
macro_rules! families {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// A typed command: one variant per family; everything about a command lives in its family's
        /// file under `cmd/`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(tag = "command", rename_all = "snake_case")]
        pub enum Command {
            $($variant($ty)),*
        }

        impl Command {
            /// The CLI command word (`clusterconfig`, `smtproutes`, ...).
            pub fn word(&self) -> &'static str {
                match self { $(Command::$variant(c) => c.word()),* }
            }

            /// Read, staged or immediate (rules §14.3.1). `commit` counts as immediate.
            pub fn kind(&self) -> CommandKind {
                match self { $(Command::$variant(c) => c.kind()),* }
            }

            /// The permission family (rules §14.4).
            pub fn permission(&self) -> Permission {
                match self { $(Command::$variant(c) => c.permission()),* }
            }

            /// Where the command may run for `role`.
            pub fn mode_rule(&self, role: Role) -> ModeRule {
                match self { $(Command::$variant(c) => c.mode_rule(role)),* }
            }

            /// Whether the command may run on a login host that is upgrading (`version`, `status`).
            pub fn allowed_while_upgrading(&self) -> bool {
                match self { $(Command::$variant(c) => c.allowed_while_upgrading()),* }
            }

            /// The same command with every password replaced by `********`, for audit logs.
            pub fn redacted(&self) -> Command {
                match self { $(Command::$variant(c) => Command::$variant(c.redacted())),* }
            }

            fn run(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
                match self { $(Command::$variant(c) => c.check(ctx, asker)),* }
            }
        }

        impl fmt::Display for Command {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $(Command::$variant(c) => c.render(f)),* }
            }
        }

        $(impl From<$ty> for Command {
            fn from(c: $ty) -> Command {
                Command::$variant(c)
            }
        })*

        /// Parses the words after the command word `word`; `None` when no family owns it.
        pub(crate) fn parse_words(word: &str, w: &mut Words) -> Option<Result<Command, ParseError>> {
            $(if <$ty as Family>::owns(word) {
                return Some(<$ty as Family>::parse(word, w).map(Command::$variant));
            })*
            None
        }

        /// Every command word, sorted.
        pub fn command_words() -> Vec<&'static str> {
            let mut words = Vec::new();
            $(words.extend(<$ty as Family>::words());)*
            words.sort_unstable();
            words
        }

        /// The help of a command word.
        pub fn help_of(word: &str) -> Option<Help> {
            let word = word.to_ascii_lowercase();
            $(if <$ty as Family>::owns(&word) {
                return <$ty as Family>::help(&word);
            })*
            None
        }

        /// Completion candidates for the word after `done` (which starts with the command word).
        pub(crate) fn complete_words(done: &[&str], c: &Completion) -> Vec<String> {
            let Some(first) = done.first() else { return command_words().into_iter().map(String::from).collect() };
            let word = first.to_ascii_lowercase();
            $(if <$ty as Family>::owns(&word) {
                return <$ty as Family>::complete(&word, &done[1..], c);
            })*
            Vec::new()
        }
    };
}

families! {
    ClusterConfig(ClusterConfigCmd),
    ClusterMode(ClusterModeCmd),
    ClusterShow(ClusterShowCmd),
    ClusterSet(ClusterSetCmd),
    ClusterCheck(ClusterCheckCmd),
    Commit(CommitCmd),
    Feature(FeatureCmd),
    Passwd(PasswdCmd),
    Runtime(RuntimeCmd),
    WorkQueue(WorkQueueCmd),
    Power(PowerCmd),
    Status(StatusCmd),
    Upgrade(UpgradeCmd),
    Files(FilesCmd),
    Help(HelpCmd),
}

/// Everything a check reads.
pub struct Ctx<'a> {
    pub fleet: &'a Fleet,
    pub session: &'a Session,
    pub login: &'a Machine,
    pub role: Role,
    /// The mode the command runs in (after an accepted switch); `None` on a standalone machine.
    pub mode: Option<Mode>,
    pub now: Timestamp,
    /// The login host's replica with the session's staged edits on top.
    pub view: Overlay<'a>,
}

impl<'a> Ctx<'a> {
    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(self.now, kind)
    }

    pub fn host(&self) -> &'a Hostname {
        &self.session.host
    }

    pub fn cluster(&self) -> Option<&'a Cluster> {
        self.fleet.cluster_of(&self.session.host)
    }

    /// The cluster, or a refusal naming the command for a standalone login host.
    pub fn require_cluster(&self, word: &str) -> Result<&'a Cluster, Rejection> {
        self.cluster().ok_or_else(|| Rejection::NotInCluster {
            host: self.session.host.clone(),
            command: word.to_string(),
        })
    }

    /// The mode edits act on: the session's mode, or the standalone machine's own mode.
    pub fn edit_mode(&self) -> Mode {
        self.mode.clone().unwrap_or_else(|| self.login.own_mode())
    }

    /// The machine a machine-level read or runtime command reports: the machine of the mode, else the
    /// login host (rules §14.1.1).
    pub fn machine_of_mode(&self) -> &Hostname {
        match &self.mode {
            Some(Mode::Machine(h)) => h,
            _ => &self.session.host,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.fleet.connection(&self.session.host).is_connected()
    }

    pub fn connection(&self, host: &Hostname) -> Connection {
        self.fleet.connection(host)
    }

    /// Whether the login host can reach `host` now (itself always).
    pub fn reaches(&self, host: &Hostname) -> bool {
        host == &self.session.host || self.fleet.reachable_from(&self.session.host).contains(host)
    }

    /// Members of the login host's cluster, in hostname order.
    pub fn members(&self) -> Vec<&'a Machine> {
        match self.login.cluster() {
            Some(c) => self.fleet.members(c).collect(),
            None => Vec::new(),
        }
    }

    /// The session's standing for writing `mode` (rules §7, §14.7.8): a login host that is not
    /// connected configures, among machine modes, only its own. Checked when an item is staged and again,
    /// for every staged item, at commit.
    pub fn may_configure(&self, mode: &Mode, command: &str) -> Result<(), Rejection> {
        match mode {
            Mode::Machine(h) if self.cluster().is_some() && h != self.host() && !self.is_connected() => {
                Err(Rejection::DetachedHost {
                    host: self.host().clone(),
                    command: command.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The session changes that stage `items`.
    pub fn stage(&self, items: Vec<Pending>) -> Vec<SessionChange> {
        items
            .into_iter()
            .map(|item| SessionChange::Stage { item })
            .collect()
    }

    /// A plan that stages one structural change.
    pub fn stage_structure(&self, op: StructureOp, warnings: Vec<String>) -> Plan {
        let what = op.describe();
        let gui = vec![format!(
            "Staged: {what} ({}). {}",
            self.gui_where(&Mode::Cluster),
            gui_commit_hint(1)
        )];
        Plan {
            session: self.stage(vec![Pending::Structure(op)]),
            output: vec![format!("Staged: {what}. Run commit to apply it.")],
            warnings,
            gui,
            ..Plan::default()
        }
    }

    /// How the console names `mode` where a change is staged (rules §15.31): `Group: West`, as the
    /// mode bar and the Pending changes page name it, or the machine itself when it is standalone.
    pub fn gui_where(&self, mode: &Mode) -> String {
        match self.cluster() {
            Some(c) => mode.gui_label(&c.name),
            None => self.host().to_string(),
        }
    }

    /// A staged item in the console's words (rules §15.31): `SMTP Routes at Group: West: 1 added`,
    /// `... defined with 3 entries`; the CLI's is [`Pending::describe`].
    pub fn gui_describe(&self, item: &Pending) -> String {
        use crate::session::StagedEdit;
        match item {
            Pending::Edit {
                mode, feature, edit, ..
            } => {
                let what = match edit {
                    StagedEdit::Rows { rows } => {
                        let (added, changed, deleted) =
                            rows.iter()
                                .fold((0, 0, 0), |(a, c, d), t| match (&t.before, &t.after) {
                                    (None, Some(_)) => (a + 1, c, d),
                                    (Some(_), Some(_)) => (a, c + 1, d),
                                    _ => (a, c, d + 1),
                                });
                        let parts: Vec<String> =
                            [(added, "added"), (changed, "changed"), (deleted, "deleted")]
                                .into_iter()
                                .filter(|(n, _)| *n > 0)
                                .map(|(n, w)| format!("{} {w}", gui_count(n, "entry", "entries")))
                                .collect();
                        if parts.is_empty() {
                            "no change".to_string()
                        } else {
                            parts.join(", ")
                        }
                    }
                    StagedEdit::Define { value } => {
                        format!("defined with {}", gui_count(value.rows.len(), "entry", "entries"))
                    }
                    StagedEdit::Remove => "definition deleted (it inherits again)".to_string(),
                };
                format!("{} at {}: {what}", feature.title(), self.gui_where(mode))
            }
            Pending::Structure(op) => format!("{} ({})", op.describe(), self.gui_where(&Mode::Cluster)),
        }
    }

    /// The revision the session's editing of an item starts from (rules §14.2.3).
    pub fn base_for(&self, mode: &Mode, feature: FeatureId) -> Option<crate::store::Rev> {
        self.session.base_for(&self.login.config, mode, feature)
    }

    /// The groups as the session's staged structural changes leave them.
    pub fn staged_groups(&self, cluster: &Cluster) -> Vec<GroupName> {
        self.session.staged_groups(&cluster.groups)
    }

    pub fn user(&self) -> &UserName {
        &self.session.user
    }

    /// The label of a mode in prompts (`Cluster Americas`), or `standalone`.
    pub fn mode_label(&self, mode: &Mode) -> String {
        match self.cluster() {
            Some(c) => mode.prompt_label(&c.name),
            None => "standalone".to_string(),
        }
    }

    /// A refusal unless `mode` names the cluster, one of its groups or one of its members.
    pub fn validate_mode(&self, word: &str, mode: &Mode) -> Result<(), Rejection> {
        let cluster = self.require_cluster(word)?;
        match mode {
            Mode::Cluster => Ok(()),
            Mode::Group(g) if cluster.groups.contains(g) => Ok(()),
            Mode::Group(g) => Err(Rejection::UnknownGroup {
                group: g.clone(),
                cluster: cluster.name.clone(),
            }),
            Mode::Machine(h) => match self.fleet.machine(h) {
                None => Err(Rejection::UnknownMachine { host: h.clone() }),
                Some(m) if m.cluster() != Some(&cluster.name) => Err(Rejection::NotAMember {
                    host: h.clone(),
                    cluster: cluster.name.clone(),
                }),
                Some(_) => Ok(()),
            },
        }
    }
}

/// The command prompt of a session: `(Cluster Americas)>`, `(Group West)>`, `(Machine sf.example.com)>`,
/// or `<host>>` on a standalone machine (rules §14.1.6).
pub fn prompt_of(fleet: &Fleet, session: &Session) -> String {
    match (&session.mode, fleet.cluster_of(&session.host)) {
        (Some(mode), Some(c)) => format!("({})>", mode.prompt_label(&c.name)),
        _ => format!("{}>", session.host),
    }
}

/// The mode switch a command needs, with its question (rules §14.1.3).
/// The mode-switch question (rules §14.1.3) in both renderings, when `rule` does not suit the mode: the
/// mode it switches to and the question. From a page (`from_page`), Y runs the command there without
/// switching the session (rules §15.26), and the console's button says so (rules §15.31).
fn mode_switch(
    ctx_mode: &Option<Mode>,
    login: &Hostname,
    rule: ModeRule,
    word: &str,
    from_page: bool,
) -> Option<(Mode, YesNo)> {
    let mode = ctx_mode.as_ref()?; // standalone: mode tables do not apply
    let what = if from_page { "This action" } else { word };
    let machine_q =
        |prefix: &str| format!("{prefix}  Would you like to switch to \"machine:{login}\" mode? [Y]>");
    let (to, question, why) = match rule {
        ModeRule::Any => return None,
        ModeRule::ClusterOnly if *mode != Mode::Cluster => (
            Mode::Cluster,
            "This command is restricted to \"cluster\" mode.  Would you like to switch to \"cluster\" mode? [Y]>".to_string(),
            format!("{what} works on the whole cluster only, and this is {}.", gui_place(mode)),
        ),
        ModeRule::MachineOnly if !matches!(mode, Mode::Machine(_)) => (
            Mode::Machine(login.clone()),
            machine_q("This command is restricted to \"machine\" mode."),
            format!(
                "{what} works on one machine only, and this is {}; it would run on {login}, the machine you are logged in to.",
                gui_place(mode)
            ),
        ),
        ModeRule::LoginHostOnly if matches!(mode, Mode::Machine(h) if h != login) => (
            Mode::Machine(login.clone()),
            machine_q("This command runs on the login host only."),
            format!(
                "{what} runs only on {login}, the machine you are logged in to, and this is {}.",
                gui_place(mode)
            ),
        ),
        _ => return None,
    };
    let place = gui_place(&to);
    let (title, yes, no, stays) = if from_page {
        (
            format!("Run this on {place}?"),
            format!("Run it on {place}"),
            "Don't run it".to_string(),
            "The page stays where it is.",
        )
    } else {
        (
            format!("Switch to {place}?"),
            format!("Switch to {place} and run {word}"),
            format!("Don't run {word}"),
            "The terminal stays in the new mode afterwards.",
        )
    };
    let gui = YesNo {
        question,
        default_yes: true,
        title,
        body: vec![why, stays.to_string()],
        yes: Choice::acts(yes),
        no: Choice::changes_nothing(no),
    };
    Some((to, gui))
}

/// Decides what `command` does for `session` at `now`, given the answers to its questions so far.
///
/// `at` is the mode the command runs in when a page sends it — the mode the page's URL names (rules
/// §14.7.3); `None` runs it in the session's own (terminal) mode. The restricted-command rules apply to
/// either alike; an accepted mode-switch question changes the session's mode only when the mode was the
/// session's.
pub fn check(
    fleet: &Fleet,
    session: &Session,
    command: &Command,
    at: Option<&Mode>,
    answers: &[String],
    now: Timestamp,
) -> Verdict {
    match check_inner(fleet, session, command, at, answers, now) {
        Ok(plan) => Verdict::Plan { plan },
        Err(Stop::Rejected(r)) => Verdict::rejected(r),
        Err(Stop::Ask(prompt)) => Verdict::Prompt { prompt: *prompt },
        Err(Stop::Declined) => Verdict::Plan {
            plan: Plan::declined(),
        },
    }
}

/// The mode a command runs in before any switch: the page's, checked against the login host's cluster,
/// or the session's.
fn base_mode(fleet: &Fleet, session: &Session, at: Option<&Mode>) -> Result<Option<Mode>, Rejection> {
    let Some(mode) = at else {
        return Ok(session.mode.clone());
    };
    let Some(cluster) = fleet.cluster_of(&session.host) else {
        // A standalone machine has no modes; a page of its own machine names no other.
        return match mode {
            Mode::Machine(h) if h == &session.host => Ok(None),
            _ => Err(Rejection::NotInCluster {
                host: session.host.clone(),
                command: mode.to_string(),
            }),
        };
    };
    match mode {
        Mode::Cluster => {}
        Mode::Group(g) if cluster.groups.contains(g) => {}
        Mode::Group(g) => {
            return Err(Rejection::UnknownGroup {
                group: g.clone(),
                cluster: cluster.name.clone(),
            })
        }
        Mode::Machine(h) => match fleet.machine(h) {
            None => return Err(Rejection::UnknownMachine { host: h.clone() }),
            Some(m) if m.cluster() != Some(&cluster.name) => {
                return Err(Rejection::NotAMember {
                    host: h.clone(),
                    cluster: cluster.name.clone(),
                })
            }
            Some(_) => {}
        },
    }
    Ok(Some(mode.clone()))
}

fn check_inner(
    fleet: &Fleet,
    session: &Session,
    command: &Command,
    at: Option<&Mode>,
    answers: &[String],
    now: Timestamp,
) -> Result<Plan, Stop> {
    let login = fleet.machine(&session.host).ok_or(Rejection::UnknownMachine {
        host: session.host.clone(),
    })?;
    let gone = || Rejection::UserGone {
        user: session.user.clone(),
        host: session.host.clone(),
    };
    let role = match fleet.role_of(&session.host, &session.user) {
        Some(role) => role,
        // This replica does not hold the user database (rules §14.7.2): the role the server gave.
        None if fleet.effective(&session.host, FeatureId::Users).hidden => session.role.ok_or_else(gone)?,
        None => return Err(gone().into()),
    };
    if login.is_off() {
        return Err(Rejection::HostDown {
            host: login.hostname.clone(),
            state: "powered off",
        }
        .into());
    }
    if login.is_down() && !command.allowed_while_upgrading() {
        let state = upgrade_progress(login, now)
            .map(|p| p.phase.word().to_string())
            .unwrap_or_else(|| "rebooting".into());
        return Err(Rejection::HostUpgrading {
            host: login.hostname.clone(),
            state,
        }
        .into());
    }
    let from_page = at.is_some();
    let base = base_mode(fleet, session, at)?;
    let switch = mode_switch(
        &base,
        &session.host,
        command.mode_rule(role),
        command.word(),
        from_page,
    );
    let mode = match &switch {
        Some((m, _)) => Some(m.clone()),
        None => base,
    };
    let permission = command.permission();
    if !role.may(permission) {
        return Err(Rejection::NotPermitted {
            user: session.user.clone(),
            role,
            command: command.word().to_string(),
            why: format!("it is for {}", permission.who()),
        }
        .into());
    }
    let ctx = Ctx {
        fleet,
        session,
        login,
        role,
        mode,
        now,
        view: session.view(&login.config),
    };
    let mut asker = match &switch {
        Some((_, question)) => Asker::gated(answers, yes_no_prompt(question.clone())),
        None => Asker::new(answers),
    };
    let mut plan = command.run(&ctx, &mut asker)?;
    if asker.pass_gate()? && !from_page {
        if let Some((mode, _)) = switch {
            plan.session.insert(0, SessionChange::Mode { mode: Some(mode) });
        }
    }
    Ok(plan)
}

/// Members whose effective value of any of `features` differs between two views (what an edit reaches).
pub fn reach<B: Definitions, A: Definitions>(
    ctx: &Ctx,
    before: &B,
    after: &A,
    features: &[FeatureId],
) -> Vec<Hostname> {
    let hosts: Vec<(Hostname, Option<GroupName>)> = if ctx.login.membership.is_some() {
        ctx.members()
            .iter()
            .map(|m| {
                (
                    m.hostname.clone(),
                    m.membership.as_ref().map(|ms| ms.group.clone()),
                )
            })
            .collect()
    } else {
        vec![(ctx.login.hostname.clone(), None)]
    };
    hosts
        .into_iter()
        .filter(|(h, g)| {
            features
                .iter()
                .any(|f| effective(before, h, g.as_ref(), *f) != effective(after, h, g.as_ref(), *f))
        })
        .map(|(h, _)| h)
        .collect()
}
