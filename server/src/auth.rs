//! Authentication: argon2id password hashes, session tokens, login throttling. The `cluster` crate
//! stores whatever credential it is given; the server only ever gives it argon2id hashes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cluster::login::PasswordCheck;
use cluster::wire::{try_event_secrets, try_fleet_secrets, try_pending_secrets};
use cluster::{Event, Fleet};

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?
        .to_string())
}

/// Checks a password against a stored argon2 hash; anything else never matches.
pub fn verify_password(stored: &str, given: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default().verify_password(given.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A real argon2id hash of a random password: verifying against it costs what a real check costs, so
/// unknown users cannot be told from wrong passwords by timing.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let plain = new_token().unwrap_or_else(|_| "clusterdeck-dummy".into());
        hash_password(&plain).unwrap_or_default()
    })
}

/// A random session token (256 bits, hex).
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The hash a session token is stored under (BLAKE2b-256, hex): the store never holds a working token.
pub fn token_hash(token: &str) -> String {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    Blake2b::<U32>::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_hash(cell: &str) -> bool {
    cell.starts_with("$argon2")
}

/// Hashes a plain password cell in place (memoised per plain text, so a record replicated to many stores
/// keeps one hash); a hash is left as it is.
fn hash_cell(cell: &mut String, memo: &mut HashMap<String, String>) -> anyhow::Result<()> {
    if is_hash(cell) {
        return Ok(());
    }
    let hashed = match memo.get(cell.as_str()) {
        Some(h) => h.clone(),
        None => {
            let h = hash_password(cell)?;
            memo.insert(cell.clone(), h.clone());
            h
        }
    };
    *cell = hashed;
    Ok(())
}

/// Hashes every plain password in the fleet (a fresh salt for each distinct password).
pub fn hash_fleet(fleet: &mut Fleet) -> anyhow::Result<()> {
    let mut memo = HashMap::new();
    try_fleet_secrets(fleet, &mut |cell| hash_cell(cell, &mut memo))
}

/// Distinct demo passwords whose hashes are kept for the process.
const DEMO_HASHES: usize = 64;

/// Hashes the fixture's demo passwords (published in the README) once per process and reuses the hashes
/// for every fleet made from a fixture: creating a fleet then costs no argon2 run. Only for the demo
/// credentials — a deployment's own admin password always gets its own salt ([`hash_fleet`]).
pub fn hash_demo_fleet(fleet: &mut Fleet) -> anyhow::Result<()> {
    static MEMO: std::sync::OnceLock<std::sync::Mutex<HashMap<String, String>>> = std::sync::OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let mut memo = memo
        .lock()
        .map_err(|_| anyhow::anyhow!("the demo password cache is poisoned"))?;
    if memo.len() > DEMO_HASHES {
        memo.clear();
    }
    try_fleet_secrets(fleet, &mut |cell| hash_cell(cell, &mut memo))
}

/// Hashes plain passwords in events before they are stored: no plain password is ever persisted.
pub fn hash_events(events: &mut [Event]) -> anyhow::Result<()> {
    let mut memo = HashMap::new();
    for e in events.iter_mut() {
        try_event_secrets(e, &mut |cell| hash_cell(cell, &mut memo))?;
    }
    Ok(())
}

/// Hashes plain passwords of a staged item before the session keeps it.
pub fn hash_pending(item: &mut cluster::session::Pending) -> anyhow::Result<()> {
    let mut memo = HashMap::new();
    try_pending_secrets(item, &mut |cell| hash_cell(cell, &mut memo))
}

/// The domain's password comparison, with argon2id: an unknown user costs a real verification too.
pub struct Argon2Check;

impl PasswordCheck for Argon2Check {
    fn matches(&self, stored: Option<&str>, given: &str) -> bool {
        match stored {
            Some(hash) => verify_password(hash, given),
            None => {
                let _ = verify_password(dummy_hash(), given);
                false
            }
        }
    }
}

/// Login throttling per account and per address: after `limit` failures within `window`, further
/// attempts are refused until `lockout` has passed since the last failure.
pub struct Throttle {
    failures: HashMap<String, Vec<Instant>>,
    limit: usize,
    window: Duration,
    lockout: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            failures: HashMap::new(),
            limit: 5,
            window: Duration::from_secs(300),
            lockout: Duration::from_secs(60),
        }
    }
}

impl Throttle {
    fn keys(account: &str, addr: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("account:{account}")];
        if let Some(a) = addr {
            keys.push(format!("addr:{a}"));
        }
        keys
    }

    /// Seconds to wait before another attempt is allowed, if throttled.
    pub fn blocked(&mut self, account: &str, addr: Option<IpAddr>, now: Instant) -> Option<u64> {
        let mut wait = None;
        for key in Self::keys(account, addr) {
            if let Some(list) = self.failures.get_mut(&key) {
                list.retain(|t| now.duration_since(*t) < self.window);
                if list.len() >= self.limit {
                    if let Some(last) = list.last() {
                        let since = now.duration_since(*last);
                        if since < self.lockout {
                            let w = (self.lockout - since).as_secs().max(1);
                            wait = Some(wait.map_or(w, |x: u64| x.max(w)));
                        }
                    }
                }
            }
        }
        wait
    }

    pub fn failed(&mut self, account: &str, addr: Option<IpAddr>, now: Instant) {
        for key in Self::keys(account, addr) {
            self.failures.entry(key).or_default().push(now);
        }
    }

    pub fn succeeded(&mut self, account: &str) {
        self.failures.remove(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash_password("ironport").unwrap();
        let b = hash_password("ironport").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password(&a, "ironport"));
        assert!(!verify_password(&a, "ironport2"));
        assert!(
            !verify_password("ironport", "ironport"),
            "a plain stored value never matches"
        );
    }

    #[test]
    fn throttle_blocks_after_five_failures_per_account_and_per_address() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(t.blocked("admin@ny", Some(addr), now).is_none());
            t.failed("admin@ny", Some(addr), now);
        }
        assert!(t.blocked("admin@ny", None, now).is_some(), "per account");
        assert!(t.blocked("ops@ny", Some(addr), now).is_some(), "per address");
        assert!(t
            .blocked("ops@ny", Some("127.0.0.2".parse().unwrap()), now)
            .is_none());
        assert!(
            t.blocked("admin@ny", Some(addr), now + Duration::from_secs(61))
                .is_none(),
            "lockout ends"
        );
    }
}
