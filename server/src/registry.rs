//! The fleet registry: a server holds many fleets — the `default` fleet, demo sandboxes, test fleets —
//! each with its own engine (single writer), its own durable log (one SQLite file under
//! `<data-dir>/fleets/`) and its own simulated clock. A fleet is loaded on first use and unloaded when
//! it has been idle for a while; events of one fleet never reach another's sessions.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Mutex;

use crate::engine::{self, Engine, EngineError};
use crate::store::{self, SqliteStore, Store};

/// A fleet's name: 1 to 64 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FleetId(String);

impl FleetId {
    pub fn parse(s: &str) -> Result<FleetId, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(FleetId(s.to_string()))
        } else {
            Err(format!(
                "\"{}\" is not a fleet name: use 1 to 64 lower-case letters, digits, '-' and '_'",
                s.chars().take(70).collect::<String>()
            ))
        }
    }

    /// The fleet every server has, and the one a login without `"fleet"` goes to.
    pub fn default_fleet() -> FleetId {
        FleetId("default".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FleetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a data directory keeps its fleets.
pub fn fleets_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("fleets")
}

/// The store file of a fleet.
pub fn fleet_path(data_dir: &Path, id: &FleetId) -> PathBuf {
    fleets_dir(data_dir).join(format!("{id}.db"))
}

/// The fleets a data directory holds, by name.
pub fn list(data_dir: &Path) -> anyhow::Result<Vec<FleetId>> {
    let dir = fleets_dir(data_dir);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "db") {
            if let Some(id) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| FleetId::parse(s).ok())
            {
                out.push(id);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes a fleet's files (the store and its WAL and shared-memory files).
pub fn remove_files(data_dir: &Path, id: &FleetId) -> anyhow::Result<()> {
    let path = fleet_path(data_dir, id);
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }
    Ok(())
}

/// Settings every engine of the registry shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Simulated seconds per real second, for fleets loaded from now on.
    pub speed: f64,
    /// A fleet nobody used for this long (and nobody watches) is unloaded.
    pub idle_unload: Duration,
    /// At most this many fleets are loaded at once; past it the idlest is unloaded first.
    pub max_loaded: usize,
    /// When sessions end by themselves.
    pub sessions: engine::SessionLimits,
    /// Audit entries each fleet keeps (the oldest are dropped).
    pub audit_max_entries: u64,
}

/// The registry of a running server.
pub struct Registry {
    settings: Settings,
    loaded: Mutex<HashMap<FleetId, Engine>>,
    /// Fleets being created or deleted: their stores are written or removed without holding `loaded`,
    /// so that these run side by side (and nothing opens a half-written or half-removed store).
    creating: std::sync::Mutex<std::collections::HashSet<FleetId>>,
}

impl Registry {
    pub fn new(settings: Settings) -> Arc<Registry> {
        Arc::new(Registry {
            settings,
            loaded: Mutex::new(HashMap::new()),
            creating: std::sync::Mutex::new(Default::default()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The engine of fleet `id`, loading it from its store on first use.
    pub async fn get(&self, id: &FleetId) -> Result<Engine, EngineError> {
        let mut loaded = self.loaded.lock().await;
        if let Some(engine) = loaded.get(id) {
            if engine.is_running() {
                engine.touch();
                return Ok(engine.clone());
            }
            loaded.remove(id);
        }
        if self.is_creating(id) {
            return Err(EngineError::Busy);
        }
        let path = fleet_path(&self.settings.data_dir, id);
        if !path.exists() {
            return Err(EngineError::UnknownFleet {
                fleet: id.to_string(),
            });
        }
        if loaded.len() >= self.settings.max_loaded {
            if let Some(idlest) = loaded
                .iter()
                .filter(|(_, e)| e.watchers() == 0 && e.clock.speed() == self.settings.speed)
                .min_by_key(|(_, e)| e.last_used())
                .map(|(k, _)| k.clone())
            {
                if let Some(e) = loaded.remove(&idlest) {
                    e.shutdown().await;
                }
            } else {
                return Err(EngineError::Busy);
            }
        }
        let engine = open(id.clone(), &path, &self.settings, None).await.map_err(|e| {
            tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot load a fleet");
            EngineError::Storage
        })?;
        loaded.insert(id.clone(), engine.clone());
        Ok(engine)
    }

    fn is_creating(&self, id: &FleetId) -> bool {
        self.creating
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// Creates fleet `id` from `seed`; refused when it exists. Creations run side by side: only the
    /// check and the insertion hold the registry's lock.
    pub async fn create(&self, id: &FleetId, seed: cluster::Fleet) -> Result<Engine, EngineError> {
        let path = fleet_path(&self.settings.data_dir, id);
        {
            let loaded = self.loaded.lock().await;
            let mut creating = self.creating.lock().unwrap_or_else(|p| p.into_inner());
            if loaded.contains_key(id) || creating.contains(id) || path.exists() {
                return Err(EngineError::FleetExists {
                    fleet: id.to_string(),
                });
            }
            creating.insert(id.clone());
        }
        let opened = open(id.clone(), &path, &self.settings, Some(seed)).await;
        let mut loaded = self.loaded.lock().await;
        self.creating.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        let engine = opened.map_err(|e| {
            tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot create a fleet");
            EngineError::Storage
        })?;
        loaded.insert(id.clone(), engine.clone());
        Ok(engine)
    }

    /// Stops fleet `id` (if loaded) and removes its files.
    pub async fn delete(&self, id: &FleetId) -> Result<(), EngineError> {
        let path = fleet_path(&self.settings.data_dir, id);
        // Taken out of the registry and marked under the lock; stopped without it, so that a fleet busy
        // with a long request (a test API clock advance) holds up no other fleet, and nothing loads it
        // again meanwhile.
        let engine = {
            let mut loaded = self.loaded.lock().await;
            let mut creating = self.creating.lock().unwrap_or_else(|p| p.into_inner());
            if creating.contains(id) {
                return Err(EngineError::Busy);
            }
            let engine = loaded.remove(id);
            if engine.is_none() && !path.exists() {
                return Err(EngineError::UnknownFleet {
                    fleet: id.to_string(),
                });
            }
            creating.insert(id.clone());
            engine
        };
        if let Some(e) = engine {
            e.shutdown().await;
        }
        let removed = remove_files(&self.settings.data_dir, id);
        self.creating.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        removed.map_err(|e| {
            tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot remove a fleet");
            EngineError::Storage
        })
    }

    /// Whether fleet `id` is loaded and someone watches it (an open event stream).
    pub async fn watched(&self, id: &FleetId) -> bool {
        self.loaded.lock().await.get(id).is_some_and(|e| e.watchers() > 0)
    }

    /// The fleets loaded now.
    pub async fn loaded(&self) -> Vec<FleetId> {
        self.loaded.lock().await.keys().cloned().collect()
    }

    /// Unloads every fleet that has been idle for the idle time and that nobody watches, and every fleet
    /// whose store was marked for deletion (then removes its files). Run periodically.
    pub async fn sweep(&self) {
        let mut loaded = self.loaded.lock().await;
        let idle = self.settings.idle_unload;
        let mut gone = Vec::new();
        for (id, e) in loaded.iter() {
            // A fleet whose clock a test froze or sped stays loaded: unloading would resume its clock at
            // the server's speed (issue 15).
            let kept = e.clock.speed() != self.settings.speed;
            if !e.is_running() || e.deleted() || (e.watchers() == 0 && e.idle_for() >= idle && !kept) {
                gone.push(id.clone());
            }
        }
        for id in gone {
            if let Some(e) = loaded.remove(&id) {
                let deleted = e.deleted();
                e.shutdown().await;
                if deleted {
                    if let Err(err) = remove_files(&self.settings.data_dir, &id) {
                        tracing::error!(fleet = %id, error = %format!("{err:#}"), "cannot remove a deleted fleet");
                    } else {
                        tracing::info!(fleet = %id, "fleet deleted");
                    }
                } else {
                    tracing::debug!(fleet = %id, "fleet unloaded");
                }
            }
        }
    }

    /// Stops every engine, each writing its final snapshot.
    pub async fn shutdown(&self) {
        let mut loaded = self.loaded.lock().await;
        for (_, e) in loaded.drain() {
            e.shutdown().await;
        }
    }
}

/// Opens (or, with a seed, creates) a fleet's store and starts its engine.
async fn open(
    id: FleetId,
    path: &Path,
    settings: &Settings,
    seed: Option<cluster::Fleet>,
) -> anyhow::Result<Engine> {
    let (speed, limits, audit_max) = (settings.speed, settings.sessions, settings.audit_max_entries);
    let backlog = engine::Backlog::new(path.to_path_buf());
    let path = path.to_path_buf();
    let (fleet, store, clock) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut store = SqliteStore::open(&path)?;
        store.set_audit_retention(audit_max);
        let fleet = match seed {
            Some(seed) => store::load(&mut store, || seed)?,
            None => {
                store::load_existing(&mut store).with_context(|| format!("cannot load {}", path.display()))?
            }
        };
        let clock = store.clock()?;
        Ok((fleet, store, clock))
    })
    .await
    .context("the loading task failed")??;
    engine::start(id, fleet, Box::new(store), speed, clock, limits, Some(backlog))
}
