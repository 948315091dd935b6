//! The engine actor: one task that owns the store and the network handle, and a set
//! of rooms, each a module that owns its own state and handles its own commands,
//! task reports and ticks.
//!
//! | room | state it owns | commands |
//! |---|---|---|
//! | [`profile`] | who this user is, app settings, the passphrase | [`ProfileCommand`] |
//! | [`pairing`] | codes on offer, pairings under way, devices nearby | [`PairingCommand`] |
//! | [`chat`] | nothing of its own: writes ops, answers history | [`ChatCommand`] |
//! | [`views`] | nothing: turns stored messages into what the UI shows | — |
//! | [`sync`] | the sync session with the partner ([`sync::machine`]) | — |
//! | [`presence`] | connections, listen addresses, redial backoff | [`NetworkCommand`] |
//! | [`files`] | downloads, expiries, the file store | [`FileCommand`] |
//! | [`internet`] | relays, DHT servers, routes, rendezvous | (via [`NetworkCommand`]) |
//! | [`mailbox`] | the couple's mailbox: what is left there, what was collected | [`MailboxCommand`] |
//! | [`days`] | the couple's days (together since, meeting, anniversaries), today's reminders | [`DaysCommand`] |
//! | [`boundaries`] | the couple's boundaries (proposed, accepted, their history), quiet hours enforced: held notifications, the summary, urgent | [`BoundariesCommand`] |
//! | [`checkins`] | recurring check-ins, reminded at their time on both devices, missed ones noted | [`CheckInsCommand`] |
//! | [`scheduled`] | messages sent for later: shown at their time on the partner's device, hidden there until then, scheduled on mine | [`ScheduledCommand`] |
//! | [`moods`] | moods shared as timeline rows, and the strip over the weeks | [`MoodsCommand`] |
//!
//! The run loop below dispatches: a command to its room by its enum, a network event
//! to [`presence`] (which hands each on), a task's report to the room that spawned
//! the task, and the tick to every room. A new feature is a new room: a module with
//! its state, its command enum (a variant of [`crate::Command`]) and, if it spawns
//! tasks, its variant of [`Internal`].
//!
//! Shared by all rooms, on [`Engine`]: the store (only the engine's task touches
//! ops), the network handle, the event channel to the UI, the task set, this
//! device's identity, the profile and the partner.

use std::time::{SystemTime, UNIX_EPOCH};

use hearth_core::DeviceId;
use hearth_crypto::StaticKeypair;
use hearth_net::{Net, NetEvent};
use hearth_store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::Instrument;

pub(crate) mod backup;
pub(crate) mod boundaries;
pub(crate) mod chat;
pub(crate) mod checkins;
pub(crate) mod days;
pub(crate) mod files;
mod internet;
pub(crate) mod mailbox;
pub(crate) mod moods;
pub(crate) mod pairing;
pub(crate) mod presence;
pub(crate) mod profile;
mod rhythm;
pub(crate) mod scheduled;
pub(crate) mod sync;
mod views;

pub(crate) use backup::BackupCommand;
pub(crate) use boundaries::BoundariesCommand;
pub(crate) use chat::ChatCommand;
pub(crate) use checkins::CheckInsCommand;
pub(crate) use days::DaysCommand;
pub(crate) use files::FileCommand;
pub use files::{human_size, mime_for};
pub(crate) use mailbox::MailboxCommand;
pub(crate) use moods::MoodsCommand;
pub(crate) use pairing::PairingCommand;
pub(crate) use presence::NetworkCommand;
pub(crate) use profile::ProfileCommand;
pub(crate) use scheduled::ScheduledCommand;

use crate::types::*;
use crate::{Command, NodeConfig};

const SETTING_IDENTITY: &str = "identity";
const SETTING_STATIC: &str = "noise-static";
const SETTING_PROFILE: &str = "profile";
const SETTING_PARTNER: &str = "partner";

/// What tasks the engine spawned tell it, by the room that spawned them.
pub(crate) enum Internal {
    Sync(sync::SyncInternal),
    Pairing(pairing::PairingInternal),
    Files(files::FileInternal),
    Mailbox(mailbox::MailboxInternal),
    Backup(backup::BackupInternal),
}

pub(crate) struct Engine {
    config: NodeConfig,
    store: Store,
    net: Net,
    net_events: mpsc::Receiver<NetEvent>,
    commands: mpsc::Receiver<Command>,
    /// A command taken off the queue while gathering a group of sends, to handle
    /// next.
    deferred: Option<Command>,
    events: mpsc::Sender<NodeEvent>,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    tasks: JoinSet<()>,
    me: DeviceId,
    static_key: StaticKeypair,
    profile: Option<Profile>,
    partner: Option<Partner>,
    pairing: pairing::Pairing,
    presence: presence::Presence,
    sync: sync::SyncRoom,
    files: files::Files,
    internet: internet::Internet,
    mailbox: mailbox::MailboxRoom,
    days: days::DaysRoom,
    moods: hearth_core::Moods,
    bounds: boundaries::BoundariesRoom,
    checks: checkins::CheckInsRoom,
    scheduled: scheduled::ScheduledRoom,
    /// How the pairing ended, when one of the two ended it ([`pairing::uncouple`]).
    ended: Option<pairing::uncouple::EndedState>,
    /// In a restored profile: how far the partner's device said it holds this
    /// device's log ([`backup`]).
    restore_seen: Option<u64>,
}

/// A room's kept state, or its default when there is none or it will not load
/// (damaged, or grown past what a setting holds): a room that cannot read its
/// state starts empty rather than keep the profile from opening.
fn setting_or_default<T: serde::de::DeserializeOwned + Default>(store: &Store, name: &str) -> T {
    match store.setting(name) {
        Ok(value) => value.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, setting = name, "a room's state would not load; starting it empty");
            T::default()
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Engine {
    pub(crate) async fn start(
        config: NodeConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NodeEvent>,
    ) -> Result<(), NodeError> {
        let dir = &config.profile_dir;
        let passphrase = config.passphrase.as_deref();
        let store = if Store::exists(dir) {
            Store::open(dir, passphrase)?
        } else {
            Store::create(dir, passphrase)?
        };
        let identity: [u8; 32] = match store.setting(SETTING_IDENTITY)? {
            Some(secret) => secret,
            None => {
                let secret = hearth_net::generate_identity();
                store.set_setting(SETTING_IDENTITY, &secret)?;
                secret
            }
        };
        let static_key = match store.setting::<([u8; 32], [u8; 32])>(SETTING_STATIC)? {
            Some((private, public)) => StaticKeypair {
                private: private.into(),
                public,
            },
            None => {
                let key = StaticKeypair::generate()
                    .map_err(|_| Refusal::Damaged("no key could be made"))?;
                store.set_setting(SETTING_STATIC, &(*key.private, key.public))?;
                key
            }
        };
        store.flush()?;
        let profile = store.setting::<Profile>(SETTING_PROFILE)?;
        let partner = store.setting::<Partner>(SETTING_PARTNER)?;
        let ended = store.setting(pairing::uncouple::SETTING_ENDED)?;

        let internet = internet::Internet::new(&config, &store, &static_key, partner.as_ref())?;
        let mailbox = mailbox::MailboxRoom::load(&store, &static_key, partner.as_ref())?;
        let days = days::DaysRoom::load(&store);
        let moods = setting_or_default(&store, moods::SETTING_MOODS);
        let bounds = boundaries::BoundariesRoom::load(&store);
        let checks = checkins::CheckInsRoom::load(&store);
        let scheduled = setting_or_default(&store, scheduled::SETTING_SCHEDULED);
        let (net, net_events) = presence::start_net(
            &config,
            &store,
            identity,
            &internet,
            partner.as_ref(),
            mailbox.device(),
        )
        .await?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let files = files::Files::new(store.blobs(), &config.faults());
        let me = net.local();
        let mut engine = Engine {
            me,
            config,
            store,
            net,
            net_events,
            commands,
            deferred: None,
            events,
            internal_tx,
            internal_rx,
            tasks: JoinSet::new(),
            static_key,
            sync: sync::SyncRoom::new(me, partner.as_ref()),
            profile,
            partner,
            pairing: pairing::Pairing::default(),
            presence: presence::Presence::default(),
            files,
            internet,
            mailbox,
            days,
            moods,
            bounds,
            checks,
            scheduled,
            ended,
            restore_seen: None,
        };
        // What a crash kept from the rhythm's folds, or a profile from before them.
        engine.fold_rhythm_tail(usize::MAX);
        engine.load_files();
        engine.recover_uncouple();
        engine.resume_staging().await;
        tracing::info!(device = %engine.me, "engine started");
        tokio::spawn(engine.run().in_current_span());
        Ok(())
    }

    async fn run(mut self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let done = loop {
            if let Some(command) = self.deferred.take() {
                match command {
                    Command::Shutdown(done) => break Some(done),
                    command => self.on_command(command).await,
                }
                continue;
            }
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(done)) => break Some(done),
                    Some(command) => self.on_command(command).await,
                    None => break None,
                },
                Some(event) = self.net_events.recv() => self.on_net(event).await,
                Some(message) = self.internal_rx.recv() => self.on_internal(message).await,
                // Drain finished tasks so the set does not grow.
                Some(_) = self.tasks.join_next() => {}
                _ = tick.tick() => self.maintain().await,
            }
        };
        self.files.stop_sealing().await;
        self.tasks.shutdown().await;
        if let Err(e) = self.store.flush() {
            tracing::warn!(error = %e, "could not flush the store on shutdown");
        }
        self.net.shutdown().await;
        // Everything goes before the caller hears the profile is free: the store,
        // the file store sharing its database, and any queued message holding a
        // handle on it.
        drop(self);
        tracing::info!("engine stopped");
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    /// Sends a command to the room that handles it.
    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Profile(command) => self.on_profile_command(command).await,
            Command::Pairing(command) => self.on_pairing_command(command).await,
            Command::Chat(command) => self.on_chat_command(command).await,
            Command::Files(command) => self.on_file_command(command).await,
            Command::Network(command) => self.on_network_command(command).await,
            Command::Mailbox(command) => self.on_mailbox_command(command).await,
            Command::Backup(command) => self.on_backup_command(command).await,
            Command::Days(command) => self.on_days_command(command).await,
            Command::Moods(command) => self.on_moods_command(command).await,
            Command::Boundaries(command) => self.on_boundaries_command(command).await,
            Command::CheckIns(command) => self.on_checkins_command(command).await,
            Command::Scheduled(command) => self.on_scheduled_command(command).await,
            // The run loop stops on it before it gets here.
            Command::Shutdown(_) => {}
        }
    }

    /// Hands a task's report to the room that spawned the task.
    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Sync(message) => self.on_sync_internal(message).await,
            Internal::Pairing(message) => self.on_pairing_internal(message).await,
            Internal::Files(message) => self.on_file_internal(message).await,
            Internal::Mailbox(message) => self.on_mailbox_internal(message).await,
            Internal::Backup(message) => self.on_backup_internal(message).await,
        }
    }

    /// Every second, each room's upkeep.
    async fn maintain(&mut self) {
        self.maintain_pairing();
        self.maintain_uncouple().await;
        self.maintain_restore();
        self.maintain_files().await;
        self.maintain_internet().await;
        self.maintain_presence().await;
        self.maintain_mailbox().await;
        self.maintain_days().await;
        self.maintain_quiet().await;
        self.maintain_checkins().await;
        self.maintain_scheduled().await;
        self.maintain_rhythm().await;
    }

    /// Spawns one of the engine's tasks: it ends with the engine, and what it logs
    /// carries this node's span (which profile it belongs to).
    fn spawn(
        &mut self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::AbortHandle {
        self.tasks.spawn(task.in_current_span())
    }

    async fn emit(&self, event: NodeEvent) {
        if self.events.send(event).await.is_ok()
            && let Some(wake) = &self.config.on_event
        {
            wake();
        }
    }

    /// Now, by the wall clock the couple's rhythm reads: quiet hours, days. A
    /// test moves it (`Faults::clock`, with `test-util`).
    pub(super) fn wall_now(&self) -> jiff::Timestamp {
        #[cfg(feature = "test-util")]
        if let Some(clock) = &self.config.faults.clock {
            return clock.now();
        }
        jiff::Timestamp::now()
    }

    fn partner_device(&self) -> Result<DeviceId, NodeError> {
        self.partner
            .as_ref()
            .map(|p| p.device)
            .ok_or(NodeError::NotPaired)
    }

    /// Makes everything written durable. The fsync must not stall the runtime's
    /// other tasks (the app's runtime has two workers): on a multi-threaded runtime
    /// this worker hands its other tasks to another first.
    fn flush(&self) -> Result<(), NodeError> {
        blocking(|| self.store.flush())?;
        Ok(())
    }
}

/// Runs disk work from the engine's task without stalling the runtime's other
/// tasks (the app's runtime has two workers): on a multi-threaded runtime this
/// worker hands its other tasks to another first.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}
