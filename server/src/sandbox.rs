//! Sandbox mode (`clusterdeck serve --sandbox`, rules §18): every visitor gets a fleet of their own,
//! made from a scenario script, discarded after an idle time; shares freeze a sandbox into a link that
//! replays it and forks into a new sandbox.
//!
//! A sandbox is an ordinary fleet of the registry whose name is `sb-` and 128 random bits; what makes it
//! a sandbox is its record here (scenario, creation, last use), kept in `<data>/sandboxes/<fleet>.json`
//! so that sandboxes survive a restart until their time is up. Shares are files under `<data>/shares/`:
//! `<code>.jsonl` (the log, secrets masked) and `<code>.json` (its [`ShareInfo`]).

// These helpers answer with the handlers' own error, which the handlers return as it is.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use cluster::names::{Hostname, UserName};
use cluster::wire::{SandboxInfo, ScenarioInfo, SessionInfo, ShareInfo};
use serde::{Deserialize, Serialize};

use crate::api::AppError;
use crate::engine::{EngineError, Request as EngineRequest};
use crate::registry::{self, FleetId, Registry};

/// Options of sandbox mode.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// A sandbox unused this long is discarded.
    pub ttl: Duration,
    /// Live sandboxes at most; past it the one idle longest goes first.
    pub max: usize,
    /// Creations (and forks) per client address per minute.
    pub rate_per_minute: u32,
    /// Shares kept at most; past it the oldest goes.
    pub max_shares: usize,
}

/// A sandbox idle for less than this is in use: the cap never evicts it (rules §18.3).
pub const IN_USE: Duration = Duration::from_secs(60);

/// Discarded sandboxes remembered, so that their visitors are told why their session is gone.
const GONE_REMEMBERED: usize = 1000;

/// A last use is written to disk when it is this much newer than the written one (and at shutdown).
const PERSIST_EVERY_MS: i64 = 30_000;

/// Client addresses the creation limiter tracks at most; past it, recovered ones are forgotten.
const MAX_RATE_KEYS: usize = 10_000;

/// Audit entries a share carries at most (the newest).
const SHARE_COMMANDS: usize = 1000;

/// A scenario, checked and ready: the fleet a new sandbox starts from (passwords hashed).
pub struct Scenario {
    pub info: ScenarioInfo,
    pub login_user: UserName,
    pub login_host: Hostname,
    seed: cluster::Fleet,
}

/// Reads and runs every scenario of `dir` (sorted by id). A scenario that does not run, or a directory
/// without any, stops the server with the file and the reason.
pub fn load_scenarios(dir: &Path) -> anyhow::Result<Vec<Scenario>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("--sandbox-scenarios: cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "script"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("--sandbox-scenarios: {} holds no *.script file", dir.display());
    }
    let mut out = Vec::new();
    for path in files {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if !cluster::script::is_scenario_id(&id) {
            anyhow::bail!(
                "{}: a scenario's file name is its id: 1 to {} lower-case letters, digits and '-' (docs/scenarios.md)",
                path.display(),
                cluster::script::SCENARIO_ID_MAX
            );
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let scenario = cluster::script::scenario(&text)
            .map_err(|e| anyhow::anyhow!("scenario {}: {e}", path.display()))?;
        let seed = crate::serve::credentials(scenario.fleet, true)?;
        out.push(Scenario {
            info: ScenarioInfo {
                id,
                title: scenario.header.title,
                description: scenario.header.description,
            },
            login_user: scenario.header.login_user,
            login_host: scenario.header.login_host,
            seed,
        });
    }
    Ok(out)
}

/// A sandbox's record, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    scenario: String,
    created_ms: i64,
    last_used_ms: i64,
    /// The hash of the visitor's key (the sandbox cookie's token, rules §18.1).
    #[serde(default)]
    key_hash: String,
    /// Shares made of this sandbox.
    #[serde(default)]
    shares: u32,
}

struct Live {
    record: Record,
    /// The last use written to disk.
    saved_ms: i64,
    /// The record changed otherwise (a share counted) since it was written.
    dirty: bool,
}

/// A sandbox just made (created, reset or forked): what the visitor is told, the session cookie's value,
/// the sandbox cookie's value (the visitor's key) and the session.
pub struct Made {
    pub info: SandboxInfo,
    pub session_cookie: String,
    pub key_cookie: String,
    pub session: SessionInfo,
}

/// Shares one sandbox may make (each a frozen copy of its log).
pub const SHARES_PER_SANDBOX: u32 = 20;

type Limiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// The sandboxes of a server in sandbox mode.
pub struct Sandboxes {
    opts: SandboxOptions,
    scenarios: Vec<Scenario>,
    data_dir: PathBuf,
    live: Mutex<HashMap<FleetId, Live>>,
    /// Places taken by creations under way (counted against the cap with the live sandboxes, so that
    /// creations at once cannot overshoot it).
    reserved: std::sync::atomic::AtomicUsize,
    /// Recently discarded sandboxes and why (bounded).
    gone: Mutex<VecDeque<(FleetId, &'static str)>>,
    limiter: Limiter,
    /// Serialises the shares directory's cap (listing and removing).
    shares: tokio::sync::Mutex<()>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn utc(ms: i64) -> String {
    cluster::Timestamp::from_secs(ms.div_euclid(1000)).to_string()
}

/// A random lower-case hex string of `bytes` random bytes.
fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| {
        tracing::error!(error = %e, "no randomness for a sandbox");
        AppError::from(EngineError::Busy)
    })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a fleet name is a sandbox's (`sb-` and 32 hex digits).
pub fn is_sandbox_name(id: &FleetId) -> bool {
    id.as_str()
        .strip_prefix("sb-")
        .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A share's code: 32 hex digits (128 bits).
fn share_code_ok(code: &str) -> bool {
    code.len() == 32
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn not_found_share(code: &str) -> AppError {
    AppError::new(
        404,
        "unknown_share",
        format!(
            "No share has the code \"{}\": check the link (it may have been replaced by newer shares).",
            code.chars().take(40).collect::<String>()
        ),
    )
}

impl Sandboxes {
    /// The sandboxes of `data_dir`: records whose time is up are discarded with their fleets now.
    pub fn open(
        data_dir: &Path,
        opts: SandboxOptions,
        scenarios: Vec<Scenario>,
    ) -> anyhow::Result<Sandboxes> {
        let rate = NonZeroU32::new(opts.rate_per_minute).context("--sandbox-rate must be at least 1")?;
        // Sandbox names are their visitors' secrets: the directories that list them are the server's.
        for dir in [
            sandboxes_dir(data_dir),
            shares_dir(data_dir),
            registry::fleets_dir(data_dir),
        ] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private", dir.display()))?;
        }
        let mut live = HashMap::new();
        let now = now_ms();
        let ttl_ms = opts.ttl.as_millis() as i64;
        for entry in std::fs::read_dir(sandboxes_dir(data_dir))? {
            let path = entry?.path();
            let Some(id) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|_| path.extension().is_some_and(|x| x == "json"))
                .and_then(|s| FleetId::parse(s).ok())
                .filter(is_sandbox_name)
            else {
                continue;
            };
            let record: Option<Record> = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let fleet_exists = registry::fleet_path(data_dir, &id).exists();
            match record {
                Some(r) if fleet_exists && now - r.last_used_ms < ttl_ms => {
                    let saved_ms = r.last_used_ms;
                    live.insert(
                        id,
                        Live {
                            record: r,
                            saved_ms,
                            dirty: false,
                        },
                    );
                }
                _ => {
                    let _ = std::fs::remove_file(&path);
                    if fleet_exists {
                        registry::remove_files(data_dir, &id)?;
                    }
                    tracing::info!(fleet = %id, "sandbox discarded at start: its time was up");
                }
            }
        }
        if live.len() > opts.max {
            tracing::warn!(
                live = live.len(),
                max = opts.max,
                "more sandboxes than --sandbox-max: the idlest go as new ones come"
            );
        }
        Ok(Sandboxes {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(rate)),
            opts,
            scenarios,
            data_dir: data_dir.to_path_buf(),
            live: Mutex::new(live),
            reserved: std::sync::atomic::AtomicUsize::new(0),
            gone: Mutex::new(VecDeque::new()),
            shares: tokio::sync::Mutex::new(()),
        })
    }

    pub fn scenarios(&self) -> Vec<ScenarioInfo> {
        self.scenarios.iter().map(|s| s.info.clone()).collect()
    }

    fn scenario(&self, id: &str) -> Result<&Scenario, AppError> {
        self.scenarios.iter().find(|s| s.info.id == id).ok_or_else(|| {
            AppError::new(
                404,
                "unknown_scenario",
                format!(
                    "No scenario \"{}\": choose one of {}.",
                    id.chars().take(64).collect::<String>(),
                    self.scenarios
                        .iter()
                        .map(|s| s.info.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FleetId, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live sandboxes now.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Whether `id` is a live sandbox.
    pub fn is_live(&self, id: &FleetId) -> bool {
        self.lock().contains_key(id)
    }

    /// Why the sandbox `id` is gone, if it was discarded recently.
    pub fn gone_reason(&self, id: &FleetId) -> Option<&'static str> {
        self.gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(g, _)| g == id)
            .map(|(_, why)| *why)
    }

    /// Records a use of the sandbox `id` (any request of one of its sessions): its time starts again.
    pub fn touch(&self, id: &FleetId) {
        if let Some(l) = self.lock().get_mut(id) {
            l.record.last_used_ms = now_ms();
        }
    }

    /// The sandbox `id` as its visitor sees it.
    pub fn info(&self, id: &FleetId) -> Option<SandboxInfo> {
        let live = self.lock();
        let l = live.get(id)?;
        Some(self.info_of(id, &l.record))
    }

    fn info_of(&self, id: &FleetId, r: &Record) -> SandboxInfo {
        let ttl_ms = self.opts.ttl.as_millis() as i64;
        let expires = r.last_used_ms + ttl_ms;
        SandboxInfo {
            fleet: id.to_string(),
            scenario: r.scenario.clone(),
            title: self
                .scenarios
                .iter()
                .find(|s| s.info.id == r.scenario)
                .map_or_else(|| r.scenario.clone(), |s| s.info.title.clone()),
            expires_at: utc(expires),
            seconds_left: ((expires - now_ms()).max(0) / 1000) as u64,
            ttl_seconds: self.opts.ttl.as_secs(),
        }
    }

    /// Counts a creation against the client's allowance.
    fn charge(&self, client: IpAddr) -> Result<(), AppError> {
        let client = crate::auth::client_network(client);
        if self.limiter.len() >= MAX_RATE_KEYS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            use governor::clock::Clock;
            let wait = not_until
                .wait_time_from(governor::clock::DefaultClock::default().now())
                .as_secs()
                .max(1);
            AppError::new(
                429,
                "sandbox_rate",
                format!(
                    "This address has started {} sandboxes in the last minute, the most it may: try again in {wait} s.",
                    self.opts.rate_per_minute
                ),
            )
            .retry_after(wait)
        })
    }

    /// Makes room for one more sandbox and reserves it (the caller releases it with [`Self::release`]):
    /// past the cap, the sandbox idle longest (and idle for at least [`IN_USE`]) is discarded; when every
    /// one is in use, the demo is full.
    async fn make_room(&self, registry: &Registry) -> Result<(), AppError> {
        use std::sync::atomic::Ordering;
        let candidates: Vec<FleetId> = {
            let live = self.lock();
            if live.len() + self.reserved.load(Ordering::SeqCst) < self.opts.max {
                self.reserved.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            let now = now_ms();
            let mut idle: Vec<(i64, FleetId)> = live
                .iter()
                .filter(|(_, l)| now - l.record.last_used_ms >= IN_USE.as_millis() as i64)
                .map(|(id, l)| (l.record.last_used_ms, id.clone()))
                .collect();
            idle.sort();
            idle.into_iter().take(32).map(|(_, id)| id).collect()
        };
        for id in candidates {
            // A page open on it (its event stream) is someone watching: not evicted.
            if registry.watched(&id).await {
                continue;
            }
            // Taken under the lock, so that two creations at once never evict the same one; its place
            // becomes the reservation.
            let taken = {
                let mut live = self.lock();
                live.remove(&id).inspect(|_| {
                    self.reserved.fetch_add(1, Ordering::SeqCst);
                })
            };
            if taken.is_some() {
                tracing::info!(fleet = %id, "sandbox evicted: the demo is at its cap");
                self.discard(registry, &id, "it was the idlest sandbox when the demo was full")
                    .await;
                return Ok(());
            }
        }
        Err(AppError::new(
            503,
            "demo_full",
            format!(
                "The demo is full ({} sandboxes in use): try again in a minute.",
                self.opts.max
            ),
        )
        .retry_after(60))
    }

    /// Gives back a place [`Self::make_room`] reserved.
    fn release(&self) {
        self.reserved.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Discards sandbox `id`: its record, its fleet (sessions end), remembering why.
    async fn discard(&self, registry: &Registry, id: &FleetId, why: &'static str) {
        self.lock().remove(id);
        let _ = std::fs::remove_file(record_path(&self.data_dir, id));
        match registry.delete(id).await {
            Ok(()) | Err(EngineError::UnknownFleet { .. }) => {}
            Err(e) => tracing::error!(fleet = %id, error = %e, "cannot discard a sandbox's fleet"),
        }
        let mut gone = self.gone.lock().unwrap_or_else(|p| p.into_inner());
        if gone.len() >= GONE_REMEMBERED {
            gone.pop_front();
        }
        gone.push_back((id.clone(), why));
    }

    /// A new sandbox holding `seed`, with a session of `user` on `host` in it, counted against the cap.
    async fn start(
        &self,
        registry: &Registry,
        scenario: &str,
        seed: cluster::Fleet,
        user: UserName,
        host: Hostname,
    ) -> Result<Made, AppError> {
        self.make_room(registry).await?;
        let made = self.start_reserved(registry, scenario, seed, user, host).await;
        self.release();
        made
    }

    /// [`Self::start`] once a place is reserved.
    async fn start_reserved(
        &self,
        registry: &Registry,
        scenario: &str,
        seed: cluster::Fleet,
        user: UserName,
        host: Hostname,
    ) -> Result<Made, AppError> {
        let key = random_hex(32)?;
        let id = FleetId::parse(&format!("sb-{}", random_hex(16)?))
            .map_err(|m| AppError::new(500, "internal", m))?;
        let host =
            if seed.machines.contains_key(&host) {
                host
            } else {
                // A fork of a state without the scenario's login host: its first machine.
                seed.machines.keys().next().cloned().ok_or_else(|| {
                    AppError::new(422, "empty_fleet", "This state has no machine to log in to.")
                })?
            };
        let engine = registry.create(&id, seed).await?;
        let token = crate::auth::new_token().map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "no randomness for a session token");
            AppError::from(EngineError::Busy)
        })?;
        let session = engine
            .ask(|reply| EngineRequest::OpenSession {
                user,
                host,
                token_hash: crate::auth::token_hash(&token),
                reply,
            })
            .await;
        let session = match session {
            Ok(s) => s,
            Err(e) => {
                let _ = registry.delete(&id).await;
                return Err(e.into());
            }
        };
        let now = now_ms();
        let record = Record {
            scenario: scenario.to_string(),
            created_ms: now,
            last_used_ms: now,
            key_hash: crate::auth::token_hash(&key),
            shares: 0,
        };
        if let Err(e) = write_record(&self.data_dir, &id, &record) {
            tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot write a sandbox's record");
            let _ = registry.delete(&id).await;
            return Err(EngineError::Storage.into());
        }
        let info = self.info_of(&id, &record);
        self.lock().insert(
            id.clone(),
            Live {
                record,
                saved_ms: now,
                dirty: false,
            },
        );
        tracing::info!(fleet = %id, scenario, "sandbox created");
        Ok(Made {
            info,
            session_cookie: format!("{id}.{token}"),
            key_cookie: format!("{id}.{key}"),
            session,
        })
    }

    /// A new sandbox from scenario `id` for a visitor at `client`; the sandbox the browser held before
    /// (`previous`) is discarded once the new one is made.
    pub async fn create(
        &self,
        registry: &Registry,
        scenario: &str,
        client: IpAddr,
        previous: Option<FleetId>,
    ) -> Result<Made, AppError> {
        let s = self.scenario(scenario)?;
        self.charge(client)?;
        let made = self
            .start(
                registry,
                scenario,
                s.seed.clone(),
                s.login_user.clone(),
                s.login_host.clone(),
            )
            .await?;
        if let Some(old) = previous {
            self.discard(registry, &old, "this browser started another sandbox")
                .await;
        }
        Ok(made)
    }

    /// The sandbox whose key the browser holds (the sandbox cookie, `<fleet>.<key>`), if it is live.
    pub fn visitor(&self, cookie: Option<&str>) -> Option<FleetId> {
        let (id, key) = cookie?.split_once('.')?;
        let id = FleetId::parse(id).ok()?;
        if key.len() != 64 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let hash = crate::auth::token_hash(key);
        let live = self.lock();
        let l = live.get(&id)?;
        (!l.record.key_hash.is_empty() && l.record.key_hash == hash).then_some(id)
    }

    /// The sandbox a key cookie names, live or not (to say why it is gone).
    pub fn named(cookie: Option<&str>) -> Option<FleetId> {
        cookie
            .and_then(|c| c.split_once('.'))
            .and_then(|(id, _)| FleetId::parse(id).ok())
            .filter(is_sandbox_name)
    }

    /// Sandbox `old` back at its scenario's start: a new sandbox from the same scenario replaces it. The
    /// old one stays whole until the new one is complete, then goes (no request sees a half-reset fleet).
    pub async fn reset(&self, registry: &Registry, old: &FleetId, client: IpAddr) -> Result<Made, AppError> {
        let scenario = self
            .lock()
            .get(old)
            .map(|l| l.record.scenario.clone())
            .ok_or_else(not_a_sandbox)?;
        let s = self.scenario(&scenario)?;
        // A reset makes a sandbox: it counts against the address's rate like a creation.
        self.charge(client)?;
        // The old one stays live (and whole) while its successor is made, which therefore takes no new
        // place under the cap; it goes once the new one is complete.
        let made = self
            .start_reserved(
                registry,
                &scenario,
                s.seed.clone(),
                s.login_user.clone(),
                s.login_host.clone(),
            )
            .await?;
        self.discard(registry, old, "it was reset").await;
        Ok(made)
    }

    /// Discards the sandboxes whose time is up; writes the last uses that changed. Run periodically.
    pub async fn sweep(&self, registry: &Registry) {
        let now = now_ms();
        let ttl_ms = self.opts.ttl.as_millis() as i64;
        let (expired, to_save): (Vec<FleetId>, Vec<(FleetId, Record)>) = {
            let mut live = self.lock();
            let expired = live
                .iter()
                .filter(|(_, l)| now - l.record.last_used_ms >= ttl_ms)
                .map(|(id, _)| id.clone())
                .collect();
            let to_save = live
                .iter_mut()
                .filter(|(_, l)| l.dirty || l.record.last_used_ms - l.saved_ms >= PERSIST_EVERY_MS)
                .map(|(id, l)| {
                    l.saved_ms = l.record.last_used_ms;
                    l.dirty = false;
                    (id.clone(), l.record.clone())
                })
                .collect();
            (expired, to_save)
        };
        for id in expired {
            tracing::info!(fleet = %id, "sandbox expired");
            self.discard(registry, &id, "it was not used for its time to live")
                .await;
        }
        for (id, r) in to_save {
            if let Err(e) = write_record(&self.data_dir, &id, &r) {
                tracing::warn!(fleet = %id, error = %format!("{e:#}"), "cannot save a sandbox's last use");
            }
        }
        self.limiter.retain_recent();
    }

    /// Writes every last use (at shutdown).
    pub fn save_all(&self) {
        let live = self.lock();
        for (id, l) in live.iter() {
            if l.dirty || l.record.last_used_ms != l.saved_ms {
                let _ = write_record(&self.data_dir, id, &l.record);
            }
        }
    }

    /// Freezes sandbox `id` into a share: its log as the sharing session's role may see it (secrets
    /// masked; for a status-only role, no configuration), and who ran what (as that session may read
    /// the audit log). Returns the code. At most [`SHARES_PER_SANDBOX`] per sandbox; each counts
    /// against the address's rate.
    pub async fn share(
        &self,
        registry: &Registry,
        id: &FleetId,
        token_hash: String,
        role: cluster::roles::Role,
        client: IpAddr,
    ) -> Result<String, AppError> {
        let scenario = {
            let live = self.lock();
            let l = live.get(id).ok_or_else(not_a_sandbox)?;
            if l.record.shares >= SHARES_PER_SANDBOX {
                return Err(AppError::new(
                    429,
                    "share_limit",
                    format!(
                        "This sandbox has been shared {SHARES_PER_SANDBOX} times, the most it may: give one of those links, or reset it to share again."
                    ),
                ));
            }
            l.record.scenario.clone()
        };
        self.charge(client)?;
        let audience = cluster::wire::Audience::of(role);
        let engine = registry.get(id).await?;
        let commands = engine
            .ask(|reply| EngineRequest::Audit {
                token_hash,
                filter: cluster::wire::AuditFilter::default(),
                before: None,
                limit: SHARE_COMMANDS,
                reply,
            })
            .await;
        let mut commands = match commands {
            Ok(c) => c,
            // A role that may not read the audit log shares the events only.
            Err(EngineError::Rejected(cluster::Rejection::NotPermitted { .. }))
            | Err(EngineError::Forbidden { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        commands.reverse();
        let path = registry::fleet_path(&self.data_dir, id);
        let text = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let mut store = crate::store::SqliteStore::open_reader(&path)?;
            let mut buf = Vec::new();
            crate::store::export(&mut store, &mut buf)?;
            let export =
                cluster::share::read_export(std::str::from_utf8(&buf)?).map_err(anyhow::Error::msg)?;
            let seed = cluster::wire::scope_fleet_for(&export.seed, audience);
            let events: Vec<_> = export
                .events
                .iter()
                .map(|s| cluster::share::Stored {
                    revision: s.revision,
                    event: cluster::wire::scope_event_for(&s.event, audience),
                })
                .collect();
            let mut out = String::new();
            cluster::share::write_lines(&mut out, &seed, &events, export.last.revision)?;
            Ok(out)
        })
        .await
        .map_err(|_| AppError::from(EngineError::Storage))?
        .map_err(|e| {
            tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot export a sandbox to share it");
            AppError::from(EngineError::Storage)
        })?;
        if text.len() > cluster::share::MAX_SHARE_BYTES {
            return Err(AppError::new(
                413,
                "share_too_large",
                format!(
                    "This sandbox's history is {} MB, more than a share holds ({} MB): reset it, or share sooner.",
                    text.len() / 1_000_000,
                    cluster::share::MAX_SHARE_BYTES / 1_000_000
                ),
            ));
        }
        let revision = cluster::share::read_export(&text)
            .map(|e| e.last.revision)
            .map_err(|m| AppError::new(500, "internal", m))?;
        let code = random_hex(16)?;
        let info = ShareInfo {
            code: code.clone(),
            title: self
                .scenarios
                .iter()
                .find(|s| s.info.id == scenario)
                .map_or_else(|| scenario.clone(), |s| s.info.title.clone()),
            scenario,
            revision,
            shared_at: utc(now_ms()),
            commands,
        };
        let _guard = self.shares.lock().await;
        let dir = shares_dir(&self.data_dir);
        let max = self.opts.max_shares;
        let written = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            write_private(&dir.join(format!("{}.jsonl", info.code)), text.as_bytes())?;
            write_private(
                &dir.join(format!("{}.json", info.code)),
                &serde_json::to_vec(&info)?,
            )?;
            cap_shares(&dir, max)
        })
        .await
        .map_err(|_| AppError::from(EngineError::Storage))?;
        written.map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "cannot write a share");
            AppError::from(EngineError::Storage)
        })?;
        if let Some(l) = self.lock().get_mut(id) {
            l.record.shares += 1;
            // Written at the next sweep.
            l.dirty = true;
        }
        Ok(code)
    }

    /// A share's log (JSON Lines, secrets masked).
    pub async fn share_log(&self, code: &str) -> Result<String, AppError> {
        if !share_code_ok(code) {
            return Err(not_found_share(code));
        }
        let path = shares_dir(&self.data_dir).join(format!("{code}.jsonl"));
        tokio::fs::read_to_string(&path)
            .await
            .map_err(|_| not_found_share(code))
    }

    /// A share's info.
    pub async fn share_info(&self, code: &str) -> Result<ShareInfo, AppError> {
        if !share_code_ok(code) {
            return Err(not_found_share(code));
        }
        let path = shares_dir(&self.data_dir).join(format!("{code}.json"));
        let bytes = tokio::fs::read(&path).await.map_err(|_| not_found_share(code))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            tracing::error!(code, error = %e, "a share's info does not read");
            AppError::from(EngineError::Storage)
        })
    }

    /// A new sandbox from share `code` at `revision` (default: its last), for a visitor at `client`: the
    /// demo users get their demo passwords back, any other user's is unknown (rules §18.7).
    pub async fn fork(
        &self,
        registry: &Registry,
        code: &str,
        revision: Option<u64>,
        client: IpAddr,
        previous: Option<FleetId>,
    ) -> Result<Made, AppError> {
        let info = self.share_info(code).await?;
        let text = self.share_log(code).await?;
        let export = cluster::share::read_export(&text).map_err(|m| {
            tracing::error!(code, error = %m, "a share's log does not read");
            AppError::from(EngineError::Storage)
        })?;
        let (first, last) = export.revisions();
        let at = revision.unwrap_or(last);
        if !(first..=last).contains(&at) {
            return Err(AppError::new(
                422,
                "bad_revision",
                format!("revision: this share holds revisions {first} to {last}, not {at}."),
            ));
        }
        self.charge(client)?;
        let mut fleet = export.at(at);
        let mut locked = || crate::auth::new_token().unwrap_or_else(|_| "locked".repeat(8));
        cluster::fixture::restore_demo_passwords(&mut fleet, &mut locked);
        let seed = crate::auth::hash_demo_fleet(&mut fleet)
            .map(|()| fleet)
            .map_err(|e| {
                tracing::error!(error = %format!("{e:#}"), "cannot hash a fork's passwords");
                AppError::from(EngineError::Storage)
            })?;
        let (user, host) = match self.scenarios.iter().find(|s| s.info.id == info.scenario) {
            Some(s) => (s.login_user.clone(), s.login_host.clone()),
            None => (
                UserName::parse("admin").map_err(|e| AppError::new(500, "internal", e.to_string()))?,
                seed.machines.keys().next().cloned().ok_or_else(|| {
                    AppError::new(422, "empty_fleet", "This state has no machine to log in to.")
                })?,
            ),
        };
        let made = self.start(registry, &info.scenario, seed, user, host).await?;
        if let Some(old) = previous {
            self.discard(registry, &old, "this browser started another sandbox")
                .await;
        }
        Ok(made)
    }
}

fn not_a_sandbox() -> AppError {
    AppError::new(
        403,
        "not_a_sandbox",
        "This session is not in a sandbox: choose a scenario on the start page first.",
    )
}

fn sandboxes_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sandboxes")
}

fn shares_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("shares")
}

fn record_path(data_dir: &Path, id: &FleetId) -> PathBuf {
    sandboxes_dir(data_dir).join(format!("{id}.json"))
}

fn write_record(data_dir: &Path, id: &FleetId, r: &Record) -> anyhow::Result<()> {
    write_private(&record_path(data_dir, id), &serde_json::to_vec(r)?)
}

/// Writes `bytes` to `path` atomically, readable by the server's user only (a record names a sandbox,
/// which is its visitor's secret).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Keeps the newest `max` shares of `dir`.
fn cap_shares(dir: &Path, max: usize) -> anyhow::Result<()> {
    let mut shares: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if shares.len() <= max {
        return Ok(());
    }
    shares.sort();
    for (_, info) in shares.iter().take(shares.len() - max) {
        let _ = std::fs::remove_file(info.with_extension("jsonl"));
        let _ = std::fs::remove_file(info);
    }
    Ok(())
}

// ---- HTTP: `/api/v1/sandboxes/...` and `/api/v1/shares/...` ----

pub mod http {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::extract::rejection::{BytesRejection, PathRejection};
    use axum::extract::{ConnectInfo, Path, State};
    use axum::http::{header, HeaderMap, HeaderValue};
    use axum::response::{IntoResponse, Response};
    use axum::Json;
    use cluster::wire::{
        ApiError, ForkRequest, SandboxInfo, SandboxRequest, SandboxStarted, ScenarioInfo, ShareInfo,
        ShareResponse,
    };

    use super::{Made, Sandboxes};
    use crate::api::{cookie_header, cookie_value, ApiJson, AppError, AppState, Token};
    use crate::registry::FleetId;

    fn sandboxes(state: &AppState) -> Result<&Arc<Sandboxes>, AppError> {
        state.sandboxes.as_ref().ok_or_else(|| {
            AppError::new(
                404,
                "not_sandbox_mode",
                "This server is not a demo: it was not started with --sandbox.",
            )
        })
    }

    /// The live sandbox whose key this browser holds.
    pub fn visitor(state: &AppState, headers: &HeaderMap) -> Option<FleetId> {
        let sb = state.sandboxes.as_ref()?;
        sb.visitor(cookie_value(headers, state.site.sandbox_cookie_name()))
    }

    /// The visitor's sandbox, or why there is none (gone, and why; or never started).
    fn own(state: &AppState, headers: &HeaderMap) -> Result<FleetId, AppError> {
        let sb = sandboxes(state)?;
        visitor(state, headers).ok_or_else(|| {
            let named = Sandboxes::named(cookie_value(headers, state.site.sandbox_cookie_name()));
            gone(sb, named.as_ref())
        })
    }

    /// The answer of a creation, reset or fork: the sandbox and its session, with the cookies of both
    /// (the kept sessions of the old sandbox are cleared).
    fn started(state: &AppState, made: Made) -> Response {
        let mut response = Json(SandboxStarted {
            sandbox: made.info,
            session: made.session,
        })
        .into_response();
        let h = response.headers_mut();
        h.insert(
            header::SET_COOKIE,
            cookie_header(state.site.cookie(Some(&made.session_cookie))),
        );
        h.append(header::SET_COOKIE, cookie_header(state.site.kept_cookie(None)));
        h.append(
            header::SET_COOKIE,
            cookie_header(state.site.sandbox_cookie(Some(&made.key_cookie))),
        );
        response
    }

    /// The scenarios a sandbox starts from.
    #[utoipa::path(get, path = "/api/v1/sandboxes/scenarios",
        responses((status = 200, body = [ScenarioInfo]), (status = 404, body = ApiError)))]
    pub async fn scenarios(State(state): State<AppState>) -> Result<Json<Vec<ScenarioInfo>>, AppError> {
        Ok(Json(sandboxes(&state)?.scenarios()))
    }

    /// A new sandbox from a scenario; its session becomes this browser's, and the sandbox this browser
    /// held before is discarded (rules §18.1).
    #[utoipa::path(post, path = "/api/v1/sandboxes", request_body = SandboxRequest,
        responses((status = 200, body = SandboxStarted), (status = 404, body = ApiError),
                  (status = 429, body = ApiError), (status = 503, body = ApiError)))]
    pub async fn create(
        State(state): State<AppState>,
        ConnectInfo(addr): ConnectInfo<SocketAddr>,
        headers: HeaderMap,
        ApiJson(body): ApiJson<SandboxRequest>,
    ) -> Result<Response, AppError> {
        let sb = sandboxes(&state)?;
        let client = state.site.client_address(addr.ip(), &headers);
        let previous = visitor(&state, &headers);
        let made = sb
            .create(&state.registry, &body.scenario, client, previous)
            .await?;
        Ok(started(&state, made))
    }

    /// The sandbox whose key this browser holds, whether or not a session of it is open (not a use: it
    /// does not restart its time).
    #[utoipa::path(get, path = "/api/v1/sandboxes/current",
        responses((status = 200, body = SandboxInfo), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
    pub async fn current(
        State(state): State<AppState>,
        headers: HeaderMap,
    ) -> Result<Json<SandboxInfo>, AppError> {
        let sb = sandboxes(&state)?;
        let id = own(&state, &headers)?;
        sb.info(&id).map(Json).ok_or_else(|| gone(sb, Some(&id)))
    }

    /// Why there is no sandbox for this browser.
    pub fn gone(sb: &Sandboxes, id: Option<&FleetId>) -> AppError {
        match id.and_then(|id| sb.gone_reason(id)) {
            Some(why) => AppError::new(
                401,
                "sandbox_gone",
                format!("Your sandbox was discarded: {why}. Choose a scenario to start another."),
            ),
            None => AppError::new(
                401,
                "no_sandbox",
                "This browser holds no live sandbox: choose a scenario on the start page.",
            ),
        }
    }

    /// Why a session's sandbox is not there (a request with a session cookie of a sandbox that is gone).
    pub fn session_gone(sb: &Sandboxes, token: &Token) -> AppError {
        match sb.gone_reason(&token.fleet) {
            Some(_) => gone(sb, Some(&token.fleet)),
            None => AppError::new(
                401,
                "unauthenticated",
                "This session is not in a live sandbox: choose a scenario on the start page.",
            ),
        }
    }

    /// The sandbox back at its scenario's start, atomically (a new sandbox replaces it).
    #[utoipa::path(post, path = "/api/v1/sandboxes/reset",
        responses((status = 200, body = SandboxStarted), (status = 401, body = ApiError), (status = 404, body = ApiError),
                  (status = 429, body = ApiError)))]
    pub async fn reset(
        State(state): State<AppState>,
        ConnectInfo(addr): ConnectInfo<SocketAddr>,
        headers: HeaderMap,
    ) -> Result<Response, AppError> {
        let sb = sandboxes(&state)?;
        let id = own(&state, &headers)?;
        let client = state.site.client_address(addr.ip(), &headers);
        let made = sb.reset(&state.registry, &id, client).await?;
        Ok(started(&state, made))
    }

    /// Freezes this browser's sandbox into a share link, as the session's role sees it.
    #[utoipa::path(post, path = "/api/v1/shares",
        responses((status = 200, body = ShareResponse), (status = 401, body = ApiError), (status = 403, body = ApiError),
                  (status = 404, body = ApiError), (status = 413, body = ApiError), (status = 429, body = ApiError)))]
    pub async fn share(
        State(state): State<AppState>,
        ConnectInfo(addr): ConnectInfo<SocketAddr>,
        headers: HeaderMap,
        token: Token,
    ) -> Result<Json<ShareResponse>, AppError> {
        let sb = sandboxes(&state)?;
        let role = crate::api::session_role(&state, &token).await?;
        let client = state.site.client_address(addr.ip(), &headers);
        let code = sb
            .share(&state.registry, &token.fleet, token.hash.clone(), role, client)
            .await?;
        Ok(Json(ShareResponse {
            url: format!("{}/s/{code}", state.site.url()),
            code,
        }))
    }

    fn code_of(path: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
        path.map(|Path(c)| c).map_err(|_| {
            AppError::new(
                404,
                "unknown_share",
                "No share has this code: a share's code is 32 lower-case hex digits.",
            )
        })
    }

    /// A share's log as JSON Lines (no login; secrets masked): `clusterdeck fleet import` reads it.
    #[utoipa::path(get, path = "/api/v1/shares/{code}",
        params(("code" = String, Path, description = "the share's code")),
        responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 404, body = ApiError)))]
    pub async fn log(
        State(state): State<AppState>,
        path: Result<Path<String>, PathRejection>,
    ) -> Result<Response, AppError> {
        let code = code_of(path)?;
        let text = sandboxes(&state)?.share_log(&code).await?;
        let mut response = text.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        Ok(response)
    }

    /// What a share holds besides its log: scenario, revision, who ran what.
    #[utoipa::path(get, path = "/api/v1/shares/{code}/info",
        params(("code" = String, Path, description = "the share's code")),
        responses((status = 200, body = ShareInfo), (status = 404, body = ApiError)))]
    pub async fn info(
        State(state): State<AppState>,
        path: Result<Path<String>, PathRejection>,
    ) -> Result<Json<ShareInfo>, AppError> {
        let code = code_of(path)?;
        Ok(Json(sandboxes(&state)?.share_info(&code).await?))
    }

    /// A new sandbox from a share (at its last revision, or `revision`); its session becomes this
    /// browser's, and the sandbox this browser held before is discarded.
    #[utoipa::path(post, path = "/api/v1/shares/{code}/fork", request_body = ForkRequest,
        params(("code" = String, Path, description = "the share's code")),
        responses((status = 200, body = SandboxStarted), (status = 404, body = ApiError),
                  (status = 422, body = ApiError), (status = 429, body = ApiError), (status = 503, body = ApiError)))]
    pub async fn fork(
        State(state): State<AppState>,
        ConnectInfo(addr): ConnectInfo<SocketAddr>,
        headers: HeaderMap,
        path: Result<Path<String>, PathRejection>,
        body: Result<axum::body::Bytes, BytesRejection>,
    ) -> Result<Response, AppError> {
        let code = code_of(path)?;
        let sb = sandboxes(&state)?;
        let body = body.map_err(|e| {
            AppError::new(
                e.status().as_u16(),
                "bad_body",
                format!("The body could not be read: {}.", e.body_text()),
            )
        })?;
        let client = state.site.client_address(addr.ip(), &headers);
        // The body is optional: none forks the share's last revision.
        let revision = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice::<ForkRequest>(&body)
                .map_err(|e| AppError::new(422, "bad_body", format!("The body is not a fork request: {e}.")))?
                .revision
        };
        let previous = visitor(&state, &headers);
        let made = sb
            .fork(&state.registry, &code, revision, client, previous)
            .await?;
        Ok(started(&state, made))
    }
}
