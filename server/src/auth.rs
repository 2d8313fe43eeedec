//! Authentication: argon2id password hashes, session tokens, login throttling. The `cluster` crate
//! stores whatever credential it is given; the server only ever gives it argon2id hashes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use cluster::login::PasswordCheck;
use cluster::wire::{try_event_secrets, try_fleet_secrets, try_pending_secrets};
use cluster::{Event, Fleet};

use crate::passwords::{Memory, Passwords};

/// Hashes a password with argon2id and a random salt, on the password pool (blocks the calling thread:
/// never call it from an async task).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    Passwords::global()
        .run(move |m| m.hash(&password))
        .ok_or_else(|| anyhow::anyhow!("the password workers are gone"))?
}

/// Checks a password against a stored argon2 hash on the password pool; anything else never matches.
pub fn verify_password(stored: &str, given: &str) -> bool {
    let (stored, given) = (stored.to_string(), given.to_string());
    Passwords::global()
        .run(move |m| m.verify(&stored, &given))
        .unwrap_or(false)
}

/// A real argon2id hash of a random password: verifying against it costs what a real check costs, so
/// unknown users cannot be told from wrong passwords by timing. Made with the worker's own memory (a
/// worker must never wait for the pool it belongs to).
fn dummy_hash(memory: &mut Memory) -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let plain = new_token().unwrap_or_else(|_| "clusterdeck-dummy".into());
        memory.hash(&plain).unwrap_or_default()
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

/// The domain's password comparison, with argon2id on a password worker's memory: an unknown user costs
/// a real verification too.
pub struct Argon2Check<'a>(RefCell<&'a mut Memory>);

impl<'a> Argon2Check<'a> {
    pub fn new(memory: &'a mut Memory) -> Self {
        Argon2Check(RefCell::new(memory))
    }
}

impl PasswordCheck for Argon2Check<'_> {
    fn matches(&self, stored: Option<&str>, given: &str) -> bool {
        let mut memory = self.0.borrow_mut();
        match stored {
            Some(hash) => memory.verify(hash, given),
            None => {
                let dummy = dummy_hash(&mut memory);
                let _ = memory.verify(dummy, given);
                false
            }
        }
    }
}

/// Token buckets by key, bounded in number: a failure takes a token; a bucket refills one token per
/// `per_token` up to `capacity`. Attempts being verified count against the tokens too, so parallel
/// attempts cannot overtake the count. A full bucket with nothing in flight carries no information and
/// is forgotten; past `max_keys` the fullest go first.
struct Buckets {
    capacity: f64,
    per_token: Duration,
    max_keys: usize,
    map: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    in_flight: u32,
}

/// Why an attempt must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Too many failures: this many seconds until the next attempt.
    Failures(u64),
    /// Too many attempts being checked at once: retry in a second.
    InFlight,
}

impl Buckets {
    fn new(capacity: u32, per_token: Duration, max_keys: usize) -> Buckets {
        Buckets {
            capacity: f64::from(capacity),
            per_token,
            max_keys,
            map: HashMap::new(),
        }
    }

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(b.at).as_secs_f64() / self.per_token.as_secs_f64();
        (b.tokens + refill).min(self.capacity)
    }

    fn wait(&self, key: &str, now: Instant) -> Option<(Duration, Wait)> {
        let b = self.map.get(key)?;
        let tokens = self.level(b, now);
        if tokens - f64::from(b.in_flight) >= 1.0 {
            None
        } else if tokens >= 1.0 {
            Some((Duration::from_secs(1), Wait::InFlight))
        } else {
            let d = self.per_token.mul_f64(1.0 - tokens);
            Some((d, Wait::Failures(d.as_secs().max(1))))
        }
    }

    /// How long until `key`'s bucket is full with nothing in flight (`None`: it is).
    fn until_full(&self, key: &str, now: Instant) -> Option<Duration> {
        let b = self.map.get(key)?;
        let missing = self.capacity + f64::from(b.in_flight) - self.level(b, now);
        (missing > 0.0).then(|| self.per_token.mul_f64(missing.max(1.0 / 64.0)))
    }

    /// Whether `key` has used its allowance (failures and attempts in flight).
    fn exhausted(&self, key: &str, now: Instant) -> bool {
        self.map
            .get(key)
            .is_some_and(|b| self.level(b, now) - f64::from(b.in_flight) < 1.0)
    }

    fn start(&mut self, key: &str, now: Instant) {
        if !self.map.contains_key(key) && self.map.len() >= self.max_keys {
            self.make_room(now);
        }
        let capacity = self.capacity;
        let b = self.map.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
            in_flight: 0,
        });
        b.in_flight += 1;
    }

    fn finish(&mut self, key: &str, failed: bool, now: Instant) {
        let Some(mut b) = self.map.get(key).copied() else {
            return;
        };
        b.in_flight = b.in_flight.saturating_sub(1);
        if failed {
            b.tokens = self.level(&b, now) - 1.0;
            b.at = now;
        }
        if b.in_flight == 0 && self.level(&b, now) >= self.capacity {
            self.map.remove(key);
        } else {
            self.map.insert(key.to_string(), b);
        }
    }

    /// Drops every idle full bucket; if that frees nothing, the fullest tenth of the idle ones.
    fn make_room(&mut self, now: Instant) {
        let idle_full = |this: &Buckets, b: &Bucket| b.in_flight == 0 && this.level(b, now) >= this.capacity;
        let keep: Vec<String> = self
            .map
            .iter()
            .filter(|(_, b)| !idle_full(self, b))
            .map(|(k, _)| k.clone())
            .collect();
        self.map.retain(|k, _| keep.contains(k));
        if self.map.len() >= self.max_keys {
            let mut levels: Vec<f64> = self
                .map
                .values()
                .filter(|b| b.in_flight == 0)
                .map(|b| self.level(b, now))
                .collect();
            if levels.is_empty() {
                return;
            }
            levels.sort_by(|a, b| b.total_cmp(a));
            let cut = levels[(self.max_keys / 10).min(levels.len() - 1)];
            let drop: Vec<String> = self
                .map
                .iter()
                .filter(|(_, b)| b.in_flight == 0 && self.level(b, now) >= cut)
                .map(|(k, _)| k.clone())
                .collect();
            for k in drop {
                self.map.remove(&k);
            }
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// Login throttling, charged before the password is verified (an attempt being verified counts as a
/// failure until it is known not to be), so parallel guesses cannot overtake it:
/// - per account and address: 5 failures, then one a minute;
/// - per address, whatever the account: 50, then one every 6 s — against spraying many accounts;
/// - per account, from everywhere: after 20 failures (refilling one per 10 s) the account is under attack,
///   and then every address that has failed for it recently gets one attempt a minute. An address with no
///   recent failure for the account is never made to wait: a stranger cannot lock the owner out, only
///   slow down their own guessing.
///
/// An account is a user of a user database (rules §2.7): the three login hosts of one cluster share one.
/// Each map holds at most [`MAX_THROTTLE_KEYS`] keys; a bucket that has refilled is forgotten.
pub struct Throttle {
    pair: Buckets,
    account: Buckets,
    address: Buckets,
}

/// The address a client is counted by: an IPv4 address, or the /64 network of an IPv6 one (a host is
/// given a whole /64, so counting single IPv6 addresses would count nothing).
pub fn client_network(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Keys each throttle map holds at most.
pub const MAX_THROTTLE_KEYS: usize = 10_000;

impl Default for Throttle {
    fn default() -> Self {
        Self {
            pair: Buckets::new(5, Duration::from_secs(60), MAX_THROTTLE_KEYS),
            account: Buckets::new(20, Duration::from_secs(10), MAX_THROTTLE_KEYS),
            address: Buckets::new(50, Duration::from_secs(6), MAX_THROTTLE_KEYS),
        }
    }
}

/// An attempt that passed the throttle; end it with [`Throttle::settle`].
#[derive(Debug)]
pub struct Attempt {
    pair: String,
    account: String,
    address: String,
}

impl Throttle {
    /// Admits an attempt (counting it in flight) or says why it must wait.
    pub fn begin(&mut self, account: &str, addr: IpAddr, now: Instant) -> Result<Attempt, Wait> {
        let addr = client_network(addr);
        let attempt = Attempt {
            pair: format!("{account} from {addr}"),
            account: account.to_string(),
            address: addr.to_string(),
        };
        let under_attack = self.account.exhausted(&attempt.account, now);
        let backoff = under_attack
            .then(|| self.pair.until_full(&attempt.pair, now))
            .flatten()
            .map(|d| (d, Wait::Failures(d.as_secs().max(1))));
        let wait = [
            self.pair.wait(&attempt.pair, now),
            self.address.wait(&attempt.address, now),
            backoff,
        ]
        .into_iter()
        .flatten()
        .max_by_key(|(d, _)| *d);
        if let Some((_, why)) = wait {
            return Err(why);
        }
        self.pair.start(&attempt.pair, now);
        self.account.start(&attempt.account, now);
        self.address.start(&attempt.address, now);
        Ok(attempt)
    }

    /// Ends an attempt: a failure takes its tokens; anything else leaves them.
    pub fn settle(&mut self, attempt: Attempt, failed: bool, now: Instant) {
        self.pair.finish(&attempt.pair, failed, now);
        self.account.finish(&attempt.account, failed, now);
        self.address.finish(&attempt.address, failed, now);
    }

    /// Keys held, across the maps.
    pub fn keys(&self) -> usize {
        self.pair.len() + self.account.len() + self.address.len()
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
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn attempts_are_charged_before_they_are_verified() {
        let mut t = Throttle::default();
        let now = Instant::now();
        // Fifty at once, none settled yet: five get through.
        let admitted = (0..50)
            .filter_map(|_| t.begin("admin@ny", ip("127.0.0.1"), now).ok())
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn a_stranger_cannot_lock_an_account_out_from_other_addresses() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            let a = t.begin("admin@ny", ip("10.0.0.9"), now).unwrap();
            t.settle(a, true, now);
        }
        assert!(
            t.begin("admin@ny", ip("10.0.0.9"), now).is_err(),
            "the guesser waits"
        );
        let mine = t
            .begin("admin@ny", ip("10.0.0.1"), now)
            .expect("the owner elsewhere gets in");
        t.settle(mine, false, now);
        // A success gives its tokens back: logging in often never throttles.
        for _ in 0..100 {
            let a = t.begin("ops@ny", ip("10.0.0.1"), now).unwrap();
            t.settle(a, false, now);
        }
        // The guesser gets one more a minute later.
        assert!(t
            .begin("admin@ny", ip("10.0.0.9"), now + Duration::from_secs(61))
            .is_ok());
    }

    #[test]
    fn guesses_from_many_addresses_back_off_the_guessers_never_the_owner() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..20 {
            let a = t.begin("admin@ny", ip(&format!("10.1.0.{i}")), now).unwrap();
            t.settle(a, true, now);
        }
        // Under attack: an address that guessed waits a minute before its next try...
        let wait = t
            .begin("admin@ny", ip("10.1.0.3"), now + Duration::from_secs(1))
            .unwrap_err();
        assert!(
            matches!(wait, Wait::Failures(s) if (50..=60).contains(&s)),
            "{wait:?}"
        );
        assert!(t
            .begin("admin@ny", ip("10.1.0.3"), now + Duration::from_secs(61))
            .is_ok());
        // ...while an address with no failure for the account gets in at once, however often strangers
        // guess meanwhile.
        for round in 0..30u64 {
            let at = now + Duration::from_secs(2 * round);
            for i in 0..50 {
                if let Ok(a) = t.begin("admin@ny", ip(&format!("10.3.0.{i}")), at) {
                    t.settle(a, true, at);
                }
            }
            let owner = t
                .begin("admin@ny", ip("10.9.9.9"), at)
                .expect("the owner is never locked out");
            t.settle(owner, false, at);
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            client_network(ip("2001:db8:1:2:aaaa::1")),
            client_network(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            client_network(ip("2001:db8:1:2::1")),
            client_network(ip("2001:db8:1:3::1"))
        );
        assert_eq!(client_network(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn the_throttle_is_bounded_and_forgets() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..30_000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i / 5));
            if let Ok(a) = t.begin(&format!("user{i}@ny"), addr, now) {
                t.settle(a, true, now);
            }
        }
        assert!(t.keys() <= 3 * MAX_THROTTLE_KEYS, "{} keys", t.keys());
        // An hour later, a new failure finds every old bucket refilled: they are dropped to make room.
        let later = now + Duration::from_secs(3600);
        for i in 0..MAX_THROTTLE_KEYS as u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            if let Ok(a) = t.begin(&format!("late{i}@ny"), addr, later) {
                t.settle(a, true, later);
            }
        }
        assert!(t.keys() <= 3 * MAX_THROTTLE_KEYS);
        assert!(
            t.pair.map.keys().all(|k| k.starts_with("late")),
            "expired entries are gone"
        );
    }
}
