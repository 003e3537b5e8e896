//! The servers' heartbeat: how the Tracekeeper servers on one database share Metrc's GET limits
//! (150/s and 30 at once per vendor key, 50/s and 10 at once per license; docs/metrc.md §9),
//! which hold for all of them together (docs/design.md §11).
//!
//! Every [`BEAT`] a server writes its row of `servers` (seen now, and the share it holds to) and
//! reads the rows seen within [`GONE_AFTER`]: `n`, their number, is the share each server takes
//! ([`metrc::Client::set_share`]: `1/n` of every limit).
//!
//! - The share a server writes is never more than the share in force: a smaller share (more
//!   servers) is written once it holds; a larger one (fewer servers) is first written as the
//!   count allows, and taken only at a later beat that still counts no more servers. A server
//!   that starts meanwhile then finds the smaller share written, and waits.
//! - A server that starts, or comes back after its beats failed, keeps its gate closed
//!   ([`metrc::Client::set_open`]) until every live server's written share counts it (each at
//!   least `n`). The others keep theirs open while they shrink: their old shares and the
//!   newcomer's nothing fit within the limits.
//! - A server whose beats fail for [`SILENT_AFTER`] closes its gate before the others count it
//!   gone and grow into its share; it comes back as a newcomer.
//! - A server that stops [`leave`]s: it closes its gate and deletes its row, so the others grow
//!   after one beat instead of three.
//!
//! The decisions are [`Heart`]'s (pure); [`beat`] and [`leave`] read and write the database.
//! Servers compare their clocks through `seen_at`: they must agree to well within a beat (as
//! for leases, `ssr::lease`).

use crate::ssr::queries::servers::{self, Live};
use crate::ssr::state::AppState;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// How often a server writes its row and reads the others' (2 s): a new server waits one or two
/// beats for its share, a stopped one's share is taken over after about two.
pub const BEAT: Duration = Duration::from_secs(2);

/// A server not seen for this long (three beats) counts as gone.
pub const GONE_AFTER: Duration = BEAT.saturating_mul(3);

/// A server whose row has not been written for this long (two beats) closes its gate: it may
/// soon count as gone, and the others grow into its share.
pub const SILENT_AFTER: Duration = BEAT.saturating_mul(2);

/// What a beat decided: the share to take and whether this server may spend any of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The share to hold (`metrc::Client::set_share`): each of Metrc's limits divided by it.
    pub share: NonZeroU32,
    /// Whether the gate is open (`metrc::Client::set_open`).
    pub open: bool,
}

/// What a server remembers between beats. The decisions are pure: the beats' I/O is [`beat`].
#[derive(Debug, Clone, Default)]
pub struct Heart {
    /// Every live server's written share has counted this one since it started or came back:
    /// the gate may be open.
    joined: bool,
    /// The share last decided (being taken, or taken).
    target: Option<NonZeroU32>,
    /// A larger share (a smaller `n`) to be written before it is taken.
    announced: Option<NonZeroU32>,
    /// When the last beat whose row was written began (its `seen_at`).
    last_written: Option<Instant>,
}

impl Heart {
    /// The share to write at the next beat, with `in_force` the share in force: the least of it,
    /// the share being taken and the one announced, so never more budget than this server
    /// spends or is about to.
    pub fn written_share(&self, in_force: u32) -> u32 {
        [self.target, self.announced]
            .into_iter()
            .flatten()
            .map(NonZeroU32::get)
            .fold(in_force, u32::min)
    }

    /// After a beat that wrote `written` ([`Heart::written_share`]) at `at` and then read `live`
    /// (`me` included, unless its clock went back): the share to hold and the gate.
    pub fn after_read(
        &mut self,
        me: &str,
        live: &[Live],
        written: u32,
        in_force: u32,
        at: Instant,
    ) -> Step {
        self.last_written = Some(at);
        let others = live.iter().filter(|server| server.id != me);
        let count = u32::try_from(others.clone().count())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let n = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let share = if n.get() >= in_force || written <= n.get() {
            // More servers (or as many): shrink now. Fewer, with a share written that counts no
            // more than them: grow; a server that started since will find it and wait.
            self.announced = None;
            n
        } else {
            // Fewer: write the larger share first, take it at the next beat.
            self.announced = Some(n);
            self.holding(in_force)
        };
        self.target = Some(share);
        self.joined = self.joined
            || (written >= n.get() && others.clone().all(|server| server.share >= n.get()));
        Step {
            share,
            open: self.joined,
        }
    }

    /// After a beat that could not write or read at `now`: the gate closes once the row was
    /// last written [`SILENT_AFTER`] ago (or never), and the server comes back as a newcomer.
    pub fn after_failure(&mut self, in_force: u32, now: Instant) -> Step {
        let silent = self
            .last_written
            .is_none_or(|at| now.saturating_duration_since(at) >= SILENT_AFTER);
        if silent {
            self.joined = false;
        }
        Step {
            share: self.holding(in_force),
            open: self.joined,
        }
    }

    /// The share this server holds to: the one last decided, else `in_force`.
    fn holding(&self, in_force: u32) -> NonZeroU32 {
        self.target
            .or(NonZeroU32::new(in_force))
            .unwrap_or(NonZeroU32::MIN)
    }

    /// Whether the row was written at `at` (the beat's write went through, its read did not).
    fn written_at(&mut self, at: Instant) {
        self.last_written = Some(at);
    }
}

/// Why a beat failed.
#[derive(Debug, thiserror::Error)]
pub enum BeatError {
    #[error("the database: {0}")]
    Db(#[from] DbErr),
    #[error("no answer from the database within a beat")]
    TimedOut,
}

/// One beat on `db` for server `me`, whose share in force is `in_force`: writes its row, reads
/// the live servers, decides ([`Heart::after_read`]).
///
/// # Errors
/// The database's; the caller decides with [`Heart::after_failure`].
pub async fn beat_on(
    db: &impl ConnectionTrait,
    me: &str,
    heart: &mut Heart,
    in_force: u32,
) -> Result<Step, DbErr> {
    let at = Instant::now();
    let now = Utc::now();
    let written = heart.written_share(in_force);
    servers::seen(db, me, now, written).await?;
    heart.written_at(at);
    let since = now - chrono::Duration::from_std(GONE_AFTER).unwrap_or_default();
    let live = servers::live(db, since).await?;
    Ok(heart.after_read(me, &live, written, in_force, at))
}

/// Closes this server's gate until its first beat: what it may spend depends on the servers
/// already running. Call before anything may make a GET.
pub fn arrive(state: &AppState) {
    state.metrc.set_open(false);
}

/// One beat of this server (within a [`BEAT`]; on failure, [`Heart::after_failure`]): sets the
/// gate and returns the share to take (taking it may wait for GETs in flight, so it is left to
/// the caller, off the beat).
pub async fn beat(state: &AppState, heart: &mut Heart) -> Step {
    let in_force = state.metrc.share();
    let beat = beat_on(&state.db, &state.server_id, heart, in_force);
    let outcome = match tokio::time::timeout(BEAT, beat).await {
        Ok(Ok(step)) => Ok(step),
        Ok(Err(error)) => Err(BeatError::Db(error)),
        Err(_) => Err(BeatError::TimedOut),
    };
    let step = outcome.unwrap_or_else(|error| {
        let step = heart.after_failure(in_force, Instant::now());
        tracing::warn!(%error, open = step.open, "the servers' heartbeat failed");
        step
    });
    if step.open != state.metrc.is_open() {
        tracing::info!(
            open = step.open,
            share = step.share.get(),
            in_force,
            "Metrc GETs of this server {}",
            if step.open { "may start" } else { "wait" }
        );
    }
    state.metrc.set_open(step.open);
    step
}

/// Stops spending the shared budget and deletes this server's row (and those of servers gone
/// for a while), so the others grow into its share at their next beats.
pub async fn leave(state: &AppState) {
    state.metrc.set_open(false);
    let stale = Utc::now() - chrono::Duration::from_std(GONE_AFTER).unwrap_or_default();
    if let Err(error) = servers::forget(&state.db, &state.server_id, stale).await {
        tracing::warn!(%error, "this server's row could not be deleted: the others count it gone after a few seconds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    fn live(servers: &[(&str, u32)]) -> Vec<Live> {
        servers
            .iter()
            .map(|&(id, share)| Live {
                id: id.into(),
                share,
            })
            .collect()
    }

    fn n(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn a_server_alone_takes_the_whole_limits_and_opens_at_its_first_beat() {
        let mut heart = Heart::default();
        assert_eq!(heart.written_share(1), 1);
        let step = heart.after_read("a", &live(&[("a", 1)]), 1, 1, Instant::now());
        assert_eq!(
            step,
            Step {
                share: n(1),
                open: true
            }
        );
    }

    #[test]
    fn a_newcomer_waits_until_every_share_counts_it() {
        let mut joiner = Heart::default();
        let now = Instant::now();
        let step = joiner.after_read("j", &live(&[("a", 1), ("j", 1)]), 1, 1, now);
        assert_eq!(
            step,
            Step {
                share: n(2),
                open: false
            }
        );
        // Its own share taken, not yet the other's.
        assert_eq!(joiner.written_share(2), 2);
        let step = joiner.after_read("j", &live(&[("a", 1), ("j", 2)]), 2, 2, now);
        assert!(!step.open);
        // Both at 2.
        let step = joiner.after_read("j", &live(&[("a", 2), ("j", 2)]), 2, 2, now);
        assert!(step.open);
        // Open from now on, whatever the others write.
        let step = joiner.after_read("j", &live(&[("a", 2), ("j", 2), ("k", 0)]), 2, 2, now);
        assert_eq!(
            step,
            Step {
                share: n(3),
                open: true
            }
        );
    }

    #[test]
    fn a_running_server_shrinks_with_its_gate_open() {
        let mut a = Heart::default();
        let now = Instant::now();
        assert!(a.after_read("a", &live(&[("a", 1)]), 1, 1, now).open);
        let step = a.after_read("a", &live(&[("a", 1), ("j", 0)]), 1, 1, now);
        assert_eq!(
            step,
            Step {
                share: n(2),
                open: true
            }
        );
        // Not written as 2 before it holds.
        assert_eq!(a.written_share(1), 1);
        assert_eq!(a.written_share(2), 2);
    }

    #[test]
    fn a_larger_share_is_written_before_it_is_taken() {
        let mut a = Heart::default();
        let now = Instant::now();
        a.after_read("a", &live(&[("a", 2), ("b", 2)]), 2, 2, now);
        let step = a.after_read("a", &live(&[("a", 2)]), 2, 2, now);
        assert_eq!(step.share, n(2), "not yet");
        assert_eq!(a.written_share(2), 1, "announced");
        let step = a.after_read("a", &live(&[("a", 1)]), 1, 2, now);
        assert_eq!(step.share, n(1));
        assert_eq!(a.written_share(2), 1, "while it is taken");
        assert_eq!(a.written_share(1), 1);
    }

    #[test]
    fn a_newcomer_seen_before_the_larger_share_is_taken_keeps_it_shared() {
        let mut a = Heart::default();
        let now = Instant::now();
        a.after_read("a", &live(&[("a", 2), ("b", 2)]), 2, 2, now);
        a.after_read("a", &live(&[("a", 2)]), 2, 2, now);
        let step = a.after_read("a", &live(&[("a", 1), ("j", 1)]), 1, 2, now);
        assert_eq!(step.share, n(2));
        assert!(step.open);
        assert_eq!(a.written_share(2), 2);
    }

    #[test]
    fn failed_beats_close_the_gate_after_two_beats_and_it_reopens_as_a_newcomers() {
        let mut a = Heart::default();
        let t0 = Instant::now();
        assert!(a.after_read("a", &live(&[("a", 1)]), 1, 1, t0).open);
        assert!(a.after_failure(1, t0 + BEAT).open, "one beat missed");
        let step = a.after_failure(1, t0 + SILENT_AFTER);
        assert_eq!(
            step,
            Step {
                share: n(1),
                open: false
            }
        );
        // Back, and counted by the others again (b grew meanwhile): closed until b shrinks.
        let t1 = t0 + GONE_AFTER;
        assert!(
            !a.after_read("a", &live(&[("a", 1), ("b", 1)]), 1, 1, t1)
                .open
        );
        assert!(!a.after_failure(2, t1 + BEAT).open);
        assert!(
            a.after_read("a", &live(&[("a", 2), ("b", 2)]), 2, 2, t1)
                .open
        );
    }

    #[test]
    fn before_its_first_beat_a_server_stays_closed() {
        assert!(!Heart::default().after_failure(1, Instant::now()).open);
    }

    /// A server of the test: its heart and the share it holds.
    struct Server {
        id: &'static str,
        heart: Heart,
        in_force: u32,
        open: bool,
    }

    impl Server {
        fn new(id: &'static str) -> Server {
            Server {
                id,
                heart: Heart::default(),
                in_force: 1,
                open: false,
            }
        }

        /// A beat, the share taken at once.
        async fn beat(&mut self, db: &impl ConnectionTrait) {
            let step = beat_on(db, self.id, &mut self.heart, self.in_force)
                .await
                .unwrap();
            self.in_force = step.share.get();
            self.open = step.open;
        }
    }

    #[tokio::test]
    async fn servers_on_one_database_share_the_limits_and_never_overspend() {
        let db = test_db::fresh().await;
        let (mut a, mut b) = (Server::new("a"), Server::new("b"));
        // The budget spent: each open server's 1/share.
        let spent = |servers: &[&Server]| -> f64 {
            servers
                .iter()
                .filter(|s| s.open)
                .map(|s| 1.0 / f64::from(s.in_force))
                .sum()
        };
        a.beat(&db).await;
        assert!(a.open);
        assert_eq!(a.in_force, 1);
        b.beat(&db).await;
        assert!(!b.open, "a has not shrunk");
        assert_eq!(b.in_force, 2);
        assert!(spent(&[&a, &b]) <= 1.0);
        b.beat(&db).await;
        assert!(!b.open, "a has not shrunk");
        a.beat(&db).await;
        assert_eq!((a.in_force, a.open), (2, true));
        a.beat(&db).await;
        b.beat(&db).await;
        assert!(b.open);
        assert!(spent(&[&a, &b]) <= 1.0);

        // b leaves: a grows at its second beat.
        servers::forget(&db, "b", Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap();
        a.beat(&db).await;
        assert_eq!(a.in_force, 2);
        a.beat(&db).await;
        assert_eq!(a.in_force, 1);
        assert!(a.open);

        // b comes back (a shrinks), leaves again, and j arrives just as a announces it will
        // grow: a does not grow.
        let mut b = Server::new("b");
        b.beat(&db).await;
        a.beat(&db).await;
        a.beat(&db).await;
        b.beat(&db).await;
        assert_eq!((a.in_force, a.open, b.in_force, b.open), (2, true, 2, true));
        servers::forget(&db, "b", Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap();
        a.beat(&db).await;
        assert_eq!(a.in_force, 2, "announced");
        let mut j = Server::new("j");
        j.beat(&db).await;
        assert!(!j.open, "a announced a share of 1");
        a.beat(&db).await;
        assert_eq!((a.in_force, a.open), (2, true), "j counted");
        assert!(spent(&[&a, &j]) <= 1.0);
        j.beat(&db).await;
        assert!(!j.open, "a's row says 1 until its next beat");
        a.beat(&db).await;
        j.beat(&db).await;
        assert!(j.open);
        assert!(spent(&[&a, &j]) <= 1.0);
    }
}
