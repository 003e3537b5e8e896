//! Holding a lease while work runs (docs/design.md §11): [`Lease::take`] acquires it
//! ([`crate::ssr::queries::leases::acquire`]) and renews it every third of its length in the
//! background until [`Lease::release`] or drop. When a renewal finds it lost (expired and maybe
//! taken over: this server stalled, or the database was unreachable for that long),
//! [`Lease::is_lost`] says so and the work stops claiming more; what it writes under the lease
//! is fenced by [`crate::ssr::queries::leases::still_held`] or the lease's token.

use crate::ssr::queries::leases::{self, Held};
use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// A lease held by this server, renewed in the background.
#[derive(Debug)]
pub struct Lease {
    held: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    renewing: JoinHandle<()>,
    db: DatabaseConnection,
    token: String,
}

impl Lease {
    /// Takes the lease `name` for `server` for `ttl` if it is free or expired; `None` when a
    /// live one stands (another server, or this one, holds it).
    ///
    /// # Errors
    /// The database's.
    pub async fn take(
        db: &DatabaseConnection,
        name: &str,
        server: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, DbErr> {
        let Some(held) = leases::acquire(db, name, server, ttl, Utc::now()).await? else {
            return Ok(None);
        };
        let token = held.token.clone();
        let held = Arc::new(Mutex::new(held));
        let lost = Arc::new(AtomicBool::new(false));
        let renewing = tokio::spawn(renew_until_lost(
            db.clone(),
            Arc::clone(&held),
            Arc::clone(&lost),
            ttl,
        ));
        Ok(Some(Lease {
            held,
            lost,
            renewing,
            db: db.clone(),
            token,
        }))
    }

    /// The token of this acquisition (stored with the work done under it).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether a renewal found the lease expired or taken over: stop claiming work under it.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The lease as last renewed, for a fenced write ([`leases::still_held`]).
    pub async fn held(&self) -> Held {
        self.held.lock().await.clone()
    }

    /// Stops renewing and gives the lease up, so any server may take the work at once.
    ///
    /// # Errors
    /// The database's (the lease then expires by itself).
    pub async fn release(self) -> Result<(), DbErr> {
        self.renewing.abort();
        let held = self.held.lock().await.clone();
        leases::release(&self.db, &held).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}

async fn renew_until_lost(
    db: DatabaseConnection,
    held: Arc<Mutex<Held>>,
    lost: Arc<AtomicBool>,
    ttl: Duration,
) {
    let every = ttl / 3;
    loop {
        tokio::time::sleep(every).await;
        let mut current = held.lock().await;
        match leases::renew(&db, &mut current, ttl, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(lease = %current.name, "a lease expired before it was renewed: the work under it stops");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // Tried again at the next beat; the lease stays good until it expires.
            Err(error) => {
                tracing::warn!(lease = %current.name, %error, "renewing a lease failed");
                if Utc::now() >= current.expires_at {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

/// This server's id among those on the database: `host:pid:random`, new at every start.
pub fn new_server_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".into());
    let random: u32 = rand::random();
    format!("{host}:{}:{random:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    #[tokio::test]
    async fn a_lease_is_renewed_while_held_and_free_once_released() {
        let db = test_db::fresh().await;
        let ttl = Duration::from_millis(600);
        let a = Lease::take(&db, "job:x", "a", ttl).await.unwrap().unwrap();
        let first = a.held().await.expires_at;
        // Past its first length: renewed every 200 ms, so still held.
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(a.held().await.expires_at > first, "renewed");
        assert!(!a.is_lost());
        assert!(Lease::take(&db, "job:x", "b", ttl).await.unwrap().is_none());
        a.release().await.unwrap();
        assert!(Lease::take(&db, "job:x", "b", ttl).await.unwrap().is_some());
    }
}
