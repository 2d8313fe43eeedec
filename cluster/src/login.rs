//! Logging in (rules §2.7, §12.9): a user logs into a login host with that host's user database — its
//! cluster's for a member, its own for a standalone machine. How a stored credential is compared is the
//! caller's ([`PasswordCheck`]: plain text in scripts, argon2id on the server); everything else is here.

use crate::fleet::Fleet;
use crate::names::{Hostname, UserName};
use crate::roles::Role;
use crate::session::{Session, SessionId};

/// Compares a given password with a stored credential. `stored` is `None` for an unknown user: an
/// implementation should then spend what a real comparison costs, so timing does not tell the two apart.
pub trait PasswordCheck {
    fn matches(&self, stored: Option<&str>, given: &str) -> bool;
}

/// Stored credentials in plain text (scripts and tests).
pub struct PlainPasswords;

impl PasswordCheck for PlainPasswords {
    fn matches(&self, stored: Option<&str>, given: &str) -> bool {
        stored == Some(given)
    }
}

/// Why a login was refused. Deliberately does not say whether the user or the password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("Unknown login host \"{host}\".")]
    UnknownHost { host: String },
    #[error("Login failed: wrong user name or password.")]
    BadCredentials,
    #[error("{host} is powered off.")]
    PoweredOff { host: Hostname },
}

/// An accepted login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: UserName,
    pub host: Hostname,
    pub role: Role,
}

/// The login host a login names, if it is a machine of the fleet.
pub fn login_host(fleet: &Fleet, host: &str) -> Result<Hostname, LoginError> {
    Hostname::parse(host)
        .ok()
        .filter(|h| fleet.machines.contains_key(h))
        .ok_or_else(|| LoginError::UnknownHost {
            host: host.chars().take(80).collect(),
        })
}

/// The user database a login on `host` checks (rules §2.7, §14.2.5): its cluster's for a member — shared
/// by every member — or the machine's own. Names what failed logins count against.
pub fn user_database(fleet: &Fleet, host: &str) -> String {
    match login_host(fleet, host).ok().and_then(|h| fleet.machine(&h)) {
        Some(m) => match m.cluster() {
            Some(c) => format!("cluster {c}"),
            None => format!("machine {}", m.hostname),
        },
        None => format!(
            "unknown host {}",
            host.chars().take(80).collect::<String>().to_lowercase()
        ),
    }
}

/// Checks a login against the login host's user database.
pub fn login(
    fleet: &Fleet,
    user: &str,
    password: &str,
    host: &str,
    check: &impl PasswordCheck,
) -> Result<Login, LoginError> {
    let host = login_host(fleet, host)?;
    let machine = fleet.machine(&host).ok_or(LoginError::BadCredentials)?;
    if !session_survives(fleet, &host) {
        return Err(LoginError::PoweredOff { host });
    }
    let account = UserName::parse(user).ok().and_then(|u| machine.user(&u));
    let ok = check.matches(account.as_ref().map(|a| a.password.as_str()), password);
    match account {
        Some(a) if ok => Ok(Login {
            user: a.name,
            host,
            role: a.role,
        }),
        _ => Err(LoginError::BadCredentials),
    }
}

/// The stored credential of `user` as a login on `host` would check it (`None`: no such user there). A
/// session whose credential changes — a new password, the user deleted, the login host's user database
/// replaced by joining — ends, unless it made the change itself (rules §15.29).
pub fn credential(fleet: &Fleet, host: &Hostname, user: &UserName) -> Option<String> {
    fleet.machine(host)?.user(user).map(|a| a.password)
}

/// Whether `kind` can end sessions: change a credential (rules §15.29) or a login host's power
/// (§16.3). An event that changes only one machine's runtime state (§16.4.8) does neither.
pub fn may_end_sessions(kind: &crate::event::EventKind) -> bool {
    kind.machine_local().is_none()
}

/// Whether sessions logged in to `host` go on (rules §16.3): a machine powered off ends them; a reboot,
/// an upgrade's included, keeps them (rules §14.3.3).
pub fn session_survives(fleet: &Fleet, host: &Hostname) -> bool {
    fleet.machine(host).is_some_and(|m| !m.is_off())
}

/// The session an accepted login opens (or, in scripts, `@as` without a password), with the id the
/// caller gives it.
pub fn open_session(fleet: &Fleet, id: SessionId, user: UserName, host: Hostname) -> Session {
    let member = fleet.cluster_of(&host).is_some();
    Session::open(id, user, host, member)
}
