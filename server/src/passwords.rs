//! Every argon2 run of the process happens here: a fixed pool of worker threads, one per core (at most
//! [`MAX_WORKERS`]), each owning one preallocated argon2 memory block that it reuses for every hash and
//! verification. So the memory argon2 costs is `workers × 19 MiB` whatever the load, nothing is left for
//! the allocator to hold afterwards, and a flood of logins cannot start more runs than there are cores.
//!
//! Login verifications wait in a bounded queue ([`LOGIN_QUEUE`]): when it is full, [`Passwords::verify`]
//! answers [`Busy`] at once (the API's 503) rather than queueing without end. Hashes a commit needs (a
//! new user's password) go ahead of queued logins and are never refused.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Worker threads at most, whatever the core count.
pub const MAX_WORKERS: usize = 4;
/// Login verifications that may wait for a worker; more are refused at once.
pub const LOGIN_QUEUE: usize = 16;
/// The largest argon2 memory cost (KiB) a stored hash may ask for: the crate's default, which is what this
/// server writes. A stored hash asking for more (say, an imported fleet) never verifies.
const MAX_M_COST: u32 = Params::DEFAULT_M_COST;
/// The most argon2 passes a stored hash may ask for (the default is 2).
const MAX_T_COST: u32 = 8;
/// The most lanes a stored hash may ask for (the default is 1).
const MAX_P_COST: u32 = 4;

/// The login queue is full: answer "busy, try again" at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Default)]
struct Queues {
    /// Hashes commits wait for: served first, never refused.
    urgent: VecDeque<Job>,
    logins: VecDeque<Job>,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    login_queue: usize,
}

/// The pool. One per process: [`Passwords::global`].
pub struct Passwords {
    shared: Arc<Shared>,
    workers: usize,
}

impl Passwords {
    /// The process's pool, started on first use.
    pub fn global() -> &'static Passwords {
        static POOL: OnceLock<Passwords> = OnceLock::new();
        POOL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Passwords::start(cores.clamp(1, MAX_WORKERS), LOGIN_QUEUE)
        })
    }

    fn start(workers: usize, login_queue: usize) -> Passwords {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            login_queue,
        });
        for i in 0..workers {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&shared));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password worker");
            }
        }
        Passwords { shared, workers }
    }

    /// How many argon2 runs may happen at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    fn push(&self, job: Job, login: bool) -> Result<(), Busy> {
        let mut q = self.shared.queues.lock().unwrap_or_else(|p| p.into_inner());
        if login {
            if q.logins.len() >= self.shared.login_queue {
                return Err(Busy);
            }
            q.logins.push_back(job);
        } else {
            q.urgent.push_back(job);
        }
        drop(q);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Runs `f` with a worker's argon2 memory for a login, or [`Busy`] at once when too many wait.
    pub async fn login<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> R + Send + 'static,
    ) -> Result<R, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.push(
            Box::new(move |m| {
                let _ = tx.send(f(m));
            }),
            true,
        )?;
        rx.await.map_err(|_| Busy)
    }

    /// Runs `f` with a worker's argon2 memory, ahead of queued logins, blocking the calling thread (an
    /// engine thread or the command line; never an async task).
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce(&mut Memory) -> R + Send + 'static) -> Option<R> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.push(
            Box::new(move |m| {
                let _ = tx.send(f(m));
            }),
            false,
        )
        .ok()?;
        rx.recv().ok()
    }
}

fn work(shared: &Shared) {
    let mut memory = Memory::new();
    loop {
        let job = {
            let mut q = shared.queues.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(job) = q.urgent.pop_front().or_else(|| q.logins.pop_front()) {
                    break job;
                }
                q = shared.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        // A job that panics must not take the worker (and its memory) with it.
        let run = std::panic::AssertUnwindSafe(|| job(&mut memory));
        if std::panic::catch_unwind(run).is_err() {
            tracing::error!("a password job panicked");
        }
    }
}

/// One worker's argon2 memory.
pub struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    fn new() -> Memory {
        Memory {
            blocks: vec![Block::default(); MAX_M_COST as usize],
        }
    }

    /// Whether `password` matches the PHC string `stored`. Malformed hashes, and hashes asking for more
    /// memory, passes or lanes than this server allows, never match.
    pub fn verify(&mut self, stored: &str, password: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return false;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return false;
        };
        if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST {
            tracing::warn!(
                m = params.m_cost(),
                t = params.t_cost(),
                p = params.p_cost(),
                "a stored password hash asks for more than this server allows; it never matches"
            );
            return false;
        }
        let (Ok(algorithm), Ok(version)) = (
            Algorithm::try_from(hash.algorithm),
            Version::try_from(hash.version.unwrap_or(0x13)),
        ) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let blocks = params.block_count();
        let argon = Argon2::new(algorithm, version, params);
        let computed = Output::init_with(expected.len(), |out| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut self.blocks[..blocks])
                .map_err(|_| argon2::password_hash::Error::Crypto)
        });
        computed.is_ok_and(|c| c == expected)
    }

    /// An argon2id PHC string for `password` with a fresh random salt and the default parameters.
    pub fn hash(&mut self, password: &str) -> anyhow::Result<String> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
        let params = Params::default();
        let blocks = params.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut self.blocks[..blocks])
            .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let output = Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params)
                .try_into()
                .map_err(|e| anyhow::anyhow!("hash parameters: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    #[test]
    fn pooled_hashes_verify_as_argon2_hashes_do_and_the_reverse() {
        let mut m = Memory::new();
        let ours = m.hash("ironport").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(m.verify(&ours, "ironport"));
        assert!(!m.verify(&ours, "ironport2"));
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"ops-pass", &salt)
            .unwrap()
            .to_string();
        assert!(m.verify(&theirs, "ops-pass"));
        assert!(
            !m.verify("ironport", "ironport"),
            "a plain stored value never matches"
        );
        assert!(!m.verify("$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "x"));
    }

    #[test]
    fn a_full_login_queue_is_refused_at_once() {
        // One worker held busy; the queue of two fills; the next is refused without waiting.
        let pool = Passwords::start(1, 2);
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        pool.push(
            Box::new(move |_| {
                let _ = started_tx.send(());
                let _ = hold_rx.recv();
            }),
            true,
        )
        .unwrap();
        started_rx.recv().unwrap();
        assert!(pool.push(Box::new(|_| {}), true).is_ok());
        assert!(pool.push(Box::new(|_| {}), true).is_ok());
        assert_eq!(pool.push(Box::new(|_| {}), true), Err(Busy));
        // Hashes a commit needs are never refused.
        assert!(pool.push(Box::new(|_| {}), false).is_ok());
        drop(hold_tx);
    }
}
