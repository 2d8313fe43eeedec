//! `check`: decides what a command does, in the browser and on the server alike. One file per command
//! family; this module holds the context every check reads and the order of checks (DOMAIN 14.1):
//!
//! 1. the session, its user and role, and whether the login host is upgrading;
//! 2. the mode rule (DOMAIN 4): which mode the command needs and whether a switch must be offered;
//! 3. the role (DOMAIN 14.4), then every rejection of the command itself, *before any question*;
//! 4. the questions, in order: the mode switch first, then the command's own.

mod clustercheck;
mod clusterconfig;
mod clusterset;
mod commit;
mod feature;
mod files;
mod reads;
mod runtime;
mod upgrade;

pub use clustercheck::{inconsistencies, Inconsistency};
pub use feature::render as render_row;
pub use runtime::{listener_states, traffic, Listener, ListenerState, Traffic};
pub use upgrade::{due_events, upgrade_progress, UpgradePhase, UpgradeProgress, INSTALL_SECS, REBOOT_SECS};

use crate::command::Command;
use crate::event::{Event, EventKind};
use crate::features::FeatureId;
use crate::model::{Cluster, ConfigStore, Connection, Fleet, Machine, Mode, SessionId};
use crate::names::{Hostname, Timestamp, UserName};
use crate::roles::{ModeRule, Role};
use crate::session::{session_view, Session};
use crate::verdict::{Asker, Plan, Rejection, Stop, Verdict};

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
    pub view: std::borrow::Cow<'a, ConfigStore>,
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
    pub fn require_cluster(&self, command: &Command) -> Result<&'a Cluster, Rejection> {
        self.cluster().ok_or_else(|| Rejection::NotInCluster {
            host: self.session.host.clone(),
            command: command.word().to_string(),
        })
    }

    /// The mode edits act on: the session's mode, or the standalone machine's own mode.
    pub fn edit_mode(&self) -> Mode {
        self.mode.clone().unwrap_or_else(|| self.login.own_mode())
    }

    /// The machine a machine-level read or runtime command reports: the machine of the mode, else the
    /// login host.
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

    /// One `Staged` event per item, for this session.
    pub fn stage(&self, items: Vec<crate::session::Pending>) -> Vec<Event> {
        items
            .into_iter()
            .map(|item| {
                self.event(EventKind::Staged {
                    session: self.session.id,
                    item,
                })
            })
            .collect()
    }

    pub fn user(&self) -> &UserName {
        &self.session.user
    }

    /// The label of a mode in prompts (`Cluster Americas`) or `<host>` for a standalone machine.
    pub fn mode_label(&self, mode: &Mode) -> String {
        match self.cluster() {
            Some(c) => mode.prompt_label(&c.name),
            None => "standalone".to_string(),
        }
    }
}

/// The command prompt of a session: `(Cluster Americas)>`, `(Group West)>`, `(Machine sf.example.com)>`,
/// or `<host>>` on a standalone machine (DOMAIN 14.1.6).
pub fn prompt_of(fleet: &Fleet, session: &Session) -> String {
    match (&session.mode, fleet.cluster_of(&session.host)) {
        (Some(mode), Some(c)) => format!("({})>", mode.prompt_label(&c.name)),
        _ => format!("{}>", session.host),
    }
}

/// The role of `user` in the user database `host` uses (its cluster's, or its own when standalone).
pub fn user_role(fleet: &Fleet, host: &Hostname, user: &UserName) -> Option<Role> {
    let machine = fleet.machine(host)?;
    let mode = if machine.membership.is_some() {
        Mode::Cluster
    } else {
        machine.own_mode()
    };
    let users = machine.config.get(&mode, FeatureId::Users)?;
    let row = users.value.rows.iter().find(|r| r.key() == user.as_str())?;
    Role::from_word(row.cell(1))
}

/// The stored password of `user` on `host` (as the caller stored it: plain in scripts, a hash on the server).
pub fn stored_password<'f>(fleet: &'f Fleet, host: &Hostname, user: &UserName) -> Option<&'f str> {
    let machine = fleet.machine(host)?;
    let mode = if machine.membership.is_some() {
        Mode::Cluster
    } else {
        machine.own_mode()
    };
    let users = machine.config.get(&mode, FeatureId::Users)?;
    users
        .value
        .rows
        .iter()
        .find(|r| r.key() == user.as_str())
        .map(|r| r.cell(2))
}

/// Why a login was refused. Deliberately does not say whether the user or the password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("Unknown login host {host}.")]
    UnknownHost { host: String },
    #[error("Login failed: wrong user name or password.")]
    BadCredentials,
}

/// Checks a login against the login host's user database; `verify(stored, given)` compares passwords
/// (plain equality in scripts, argon2 on the server). Returns the event that opens the session.
pub fn login(
    fleet: &Fleet,
    user: &str,
    password: &str,
    host: &str,
    now: Timestamp,
    verify: impl Fn(&str, &str) -> bool,
) -> Result<Event, LoginError> {
    let host_name = Hostname::parse(host)
        .ok()
        .filter(|h| fleet.machines.contains_key(h))
        .ok_or_else(|| LoginError::UnknownHost {
            host: host.chars().take(80).collect(),
        })?;
    let user = UserName::parse(user).map_err(|_| LoginError::BadCredentials)?;
    let stored = stored_password(fleet, &host_name, &user).ok_or(LoginError::BadCredentials)?;
    if !verify(stored, password) {
        return Err(LoginError::BadCredentials);
    }
    Ok(open_session(fleet, user, host_name, now))
}

/// The event that opens a session without a password check (scripts' `@as` without a password).
pub fn open_session(fleet: &Fleet, user: UserName, host: Hostname, now: Timestamp) -> Event {
    Event::new(
        now,
        EventKind::SessionOpened {
            session: fleet.next_session,
            user,
            host,
        },
    )
}

/// The mode switch a command needs, with its question (DOMAIN 14.1.3).
fn mode_switch(
    ctx_mode: &Option<Mode>,
    login: &Hostname,
    role: Role,
    command: &Command,
) -> Option<(Mode, String)> {
    let mode = ctx_mode.as_ref()?; // standalone: mode tables do not apply
    if matches!(command, Command::Passwd { .. }) && role == Role::Guest {
        return None; // guests change their password from any mode, without a question (DOMAIN 3.8)
    }
    let machine_q =
        |prefix: &str| format!("{prefix}  Would you like to switch to \"machine:{login}\" mode? [Y]>");
    match command.mode_rule() {
        ModeRule::Any => None,
        ModeRule::ClusterOnly if *mode != Mode::Cluster => Some((
            Mode::Cluster,
            "This command is restricted to \"cluster\" mode.  Would you like to switch to \"cluster\" mode? [Y]>".into(),
        )),
        ModeRule::MachineOnly if !matches!(mode, Mode::Machine(_)) => Some((
            Mode::Machine(login.clone()),
            machine_q("This command is restricted to \"machine\" mode."),
        )),
        ModeRule::LoginHostOnly if matches!(mode, Mode::Machine(h) if h != login) => Some((
            Mode::Machine(login.clone()),
            machine_q("This command runs on the login host only."),
        )),
        _ => None,
    }
}

/// Decides what `command` does for `session` at `now`, given the answers to its questions so far.
pub fn check(
    fleet: &Fleet,
    session: SessionId,
    command: &Command,
    answers: &[String],
    now: Timestamp,
) -> Verdict {
    match check_inner(fleet, session, command, answers, now) {
        Ok(plan) => Verdict::Plan { plan },
        Err(Stop::Rejected(r)) => Verdict::rejected(r),
        Err(Stop::Ask(prompt)) => Verdict::Prompt { prompt },
        // Only a probe stops this way, and check never hands a probe out.
        Err(Stop::Probed) => Verdict::rejected(Rejection::Other("internal: a probe escaped".into())),
    }
}

fn check_inner(
    fleet: &Fleet,
    session_id: SessionId,
    command: &Command,
    answers: &[String],
    now: Timestamp,
) -> Result<Plan, Stop> {
    let session = fleet
        .sessions
        .get(&session_id)
        .ok_or(Rejection::UnknownSession { session: session_id })?;
    let login = fleet.machine(&session.host).ok_or(Rejection::UnknownMachine {
        host: session.host.clone(),
    })?;
    let role = user_role(fleet, &session.host, &session.user).ok_or_else(|| Rejection::UserGone {
        user: session.user.clone(),
        host: session.host.clone(),
    })?;
    if login.is_upgrading() && !command.allowed_while_upgrading() {
        let state = upgrade_progress(login, now)
            .map(|p| p.phase.word().to_string())
            .unwrap_or_else(|| "upgrading".into());
        return Err(Rejection::HostUpgrading {
            host: login.hostname.clone(),
            state,
        }
        .into());
    }
    let switch = mode_switch(&session.mode, &session.host, role, command);
    let mode = match &switch {
        Some((m, _)) => Some(m.clone()),
        None => session.mode.clone(),
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
        view: session_view(fleet, session),
    };
    // Every rejection runs before any question: probe the body first.
    match run(&ctx, command, &mut Asker::probe()) {
        Err(Stop::Rejected(r)) => return Err(Stop::Rejected(r)),
        Err(Stop::Ask(p)) => return Err(Stop::Ask(p)),
        Ok(_) | Err(Stop::Probed) => {}
    }
    let mut asker = Asker::new(answers);
    let mut events = Vec::new();
    if let Some((mode, question)) = switch {
        if !asker.yes_no(question, true)? {
            return Ok(Plan::default());
        }
        events.push(ctx.event(EventKind::ModeChanged {
            session: session_id,
            mode: Some(mode),
        }));
    }
    let mut plan = run(&ctx, command, &mut asker)?;
    events.append(&mut plan.events);
    plan.events = events;
    Ok(plan)
}

fn run(ctx: &Ctx, command: &Command, asker: &mut Asker) -> Result<Plan, Stop> {
    use Command as C;
    match command {
        C::ClusterConfig
        | C::Create { .. }
        | C::Join { .. }
        | C::PrepJoinPrint
        | C::PrepJoinNew { .. }
        | C::PrepJoinDelete { .. }
        | C::List
        | C::ConnStatus
        | C::AddGroup { .. }
        | C::RenameGroup { .. }
        | C::DeleteGroup { .. }
        | C::SetGroup { .. }
        | C::SetName { .. }
        | C::RemoveMachine { .. }
        | C::Disconnect { .. }
        | C::Reconnect { .. } => clusterconfig::check(ctx, command, asker),
        C::ClusterMode { mode } => reads::clustermode(ctx, command, mode.as_ref()),
        C::ClusterShow { feature } => reads::clustershow(ctx, command, *feature),
        C::ClusterSet(op) => clusterset::check(ctx, command, op, asker),
        C::ClusterCheck => clustercheck::check(ctx, command, asker),
        C::Commit { comment } => commit::commit(ctx, comment.as_deref(), asker),
        C::Clear => commit::clear(ctx),
        C::Feature { feature, action } => feature::check(ctx, *feature, action, asker),
        C::Passwd { password } => feature::passwd(ctx, password),
        C::SuspendListener { listener } => runtime::suspend_listener(ctx, listener.as_deref()),
        C::ResumeListener { listener } => runtime::resume_listener(ctx, listener.as_deref()),
        C::Suspend => runtime::suspend(ctx),
        C::Resume => runtime::resume(ctx),
        C::Status => runtime::status(ctx),
        C::Version => runtime::version(ctx),
        C::ShowQueue => runtime::showqueue(ctx),
        C::ShowQuarantine => runtime::showquarantine(ctx),
        C::ShowLog => runtime::showlog(ctx),
        C::Upgrade(op) => upgrade::check(ctx, op, asker),
        C::SaveConfig { name, masked } => files::saveconfig(ctx, name.as_deref(), *masked),
        C::ShowConfig => files::showconfig(ctx),
        C::LoadConfig { name } => files::loadconfig(ctx, name),
        C::Help { topic } => reads::help(topic.as_deref()),
    }
}

/// Members whose effective value of any of `features` differs between two stores (what an edit reaches).
pub fn reach(ctx: &Ctx, before: &ConfigStore, after: &ConfigStore, features: &[FeatureId]) -> Vec<Hostname> {
    let hosts: Vec<(Hostname, Option<crate::names::GroupName>)> = if ctx.login.membership.is_some() {
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
            features.iter().any(|f| {
                crate::model::effective_in(before, h, g.as_ref(), *f)
                    != crate::model::effective_in(after, h, g.as_ref(), *f)
            })
        })
        .map(|(h, _)| h)
        .collect()
}
