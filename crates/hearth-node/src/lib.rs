//! Hearth's engine: the store, the network and the domain, run by one actor on tokio.
//!
//! [`Node::start`] opens (or creates) a profile, starts the network, and returns a
//! [`NodeHandle`] to send commands with and a bounded receiver of [`NodeEvent`]s. The
//! UI and the headless mode are both thin layers over these two.
//!
//! The engine is one `select!` loop over a closed set of inputs: commands from
//! handles, network events, frames from the partner's sync stream, results of pairing
//! tasks, and a one-second tick for reconnecting. Every task it spawns lives in its
//! `JoinSet` and ends with it. Nothing here knows egui; the UI is woken through the
//! `on_event` callback in [`NodeConfig`].

mod engine;
pub mod mailbox;
pub mod pictures;
mod types;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use engine::backup::restore;
use engine::{
    BackupCommand, BoundariesCommand, ChatCommand, CheckInsCommand, DaysCommand, FileCommand,
    MailboxCommand, MoodsCommand, NetworkCommand, PairingCommand, ProfileCommand, ScheduledCommand,
};
pub use engine::{human_size, mime_for};
pub use hearth_core::Thumbnail;
pub use hearth_net::NetworkOptions;

/// The relay a couple can host (`hearth relay`); see [`hearth_net::relay`].
pub mod relay {
    pub use hearth_net::generate_identity;
    pub use hearth_net::relay::{RelayConfig, RelayEvent, serve};
}
pub use types::{
    AgreementView, AttachmentView, Author, BackupFailure, BackupInfo, BadMessageId, BoundariesView,
    BoundaryChange, ChangeView, CheckInView, CheckInsView, Connection, DayKindView, DayView,
    DaysView, Delivery, Ended, FileState, InviteInfo, LocalTime, MailboxFailure, MailboxStatus,
    MessageId, MessageView, MoodDayView, MoodView, MoodsView, NodeError, NodeEvent, Notice,
    PairedInfo, PairingFailure, PartView, Partner, Profile, ProposalView, QuietView, ReactionView,
    Refusal, SendAt, Status, TransferFailure, device_label, hex,
};

/// How to start a node.
#[derive(Clone)]
pub struct NodeConfig {
    /// The profile directory; created on first start.
    pub profile_dir: PathBuf,
    /// The passphrase: to open a protected profile, or to protect a new one.
    pub passphrase: Option<String>,
    /// Where to listen and how to find the partner. Relays here are used besides
    /// those the profile remembers; with `internet` off, relays stay remembered but
    /// unused, whatever the profile's own setting.
    pub network: NetworkOptions,
    /// How long an invite stays valid.
    pub invite_ttl: Duration,
    /// How long a nearby code stays valid.
    pub nearby_code_ttl: Duration,
    /// Called after every event is queued, so a UI can wake up and drain them.
    pub on_event: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Faults to inject, for tests of what a misbehaving or slow peer does. Only
    /// with the `test-util` feature: never in a shipped build.
    #[cfg(feature = "test-util")]
    pub faults: Faults,
}

/// Misbehaviour a test can switch on in a node that serves files (with the
/// `test-util` feature; a shipped build always has none).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Flip a byte in this chunk the first time it is served.
    pub corrupt_chunk_once: Option<u32>,
    /// Wait this long before serving each chunk (a slow uplink).
    pub serve_delay: Option<Duration>,
    /// Give up on a download after this long without a message from the partner,
    /// instead of [`FRAME_TIMEOUT`](crate::FRAME_TIMEOUT).
    pub frame_timeout: Option<Duration>,
    /// Pretend the profile's disk has this much free space.
    pub free_space: Option<u64>,
    /// Seal a file being sent only as fast as the test lets through this gate: a
    /// chunk per permit.
    pub seal_gate: Option<Arc<SealGate>>,
    /// The first file this node seals fails at its end, as a full disk would.
    pub fail_sealing_once: bool,
    /// The wall clock the couple's rhythm reads (quiet hours, days), moved by the
    /// test; the real one without it.
    pub clock: Option<Arc<TestClock>>,
}

/// A wall clock a test moves: the real time plus an offset.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl TestClock {
    /// From now on the clock reads `at`.
    pub fn set(&self, at: jiff::Timestamp) {
        let offset = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
        self.offset_ms
            .store(offset, std::sync::atomic::Ordering::Relaxed);
    }

    /// What the clock reads now.
    pub fn now(&self) -> jiff::Timestamp {
        let offset = self.offset_ms.load(std::sync::atomic::Ordering::Relaxed);
        jiff::Timestamp::from_millisecond(jiff::Timestamp::now().as_millisecond() + offset)
            .unwrap_or_else(|_| jiff::Timestamp::now())
    }
}

/// Permits a test hands out, one per chunk a sending device may seal.
#[derive(Debug, Default)]
pub struct SealGate {
    permits: std::sync::Mutex<u32>,
    opened: std::sync::Condvar,
}

impl SealGate {
    /// Lets `n` more chunks through.
    pub fn open(&self, n: u32) {
        let mut permits = self.permits.lock().unwrap_or_else(|e| e.into_inner());
        *permits += n;
        self.opened.notify_all();
    }

    /// Waits (on a blocking thread) for one permit, or until `stop` is set.
    pub(crate) fn pass(&self, stop: &std::sync::atomic::AtomicBool) {
        let mut permits = self.permits.lock().unwrap_or_else(|e| e.into_inner());
        while *permits == 0 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            permits = self
                .opened
                .wait_timeout(permits, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *permits = permits.saturating_sub(1);
    }
}

/// How long a download waits for each message from the partner's device (a chunk of
/// up to 1 MiB, at 17 KiB/s) before it gives up for now and tries again later.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(60);

impl NodeConfig {
    /// A configuration with the defaults: random ports, mDNS on, invites valid for a
    /// day, nearby codes for ten minutes.
    pub fn new(profile_dir: impl Into<PathBuf>) -> NodeConfig {
        NodeConfig {
            profile_dir: profile_dir.into(),
            passphrase: None,
            network: NetworkOptions::default(),
            invite_ttl: Duration::from_secs(24 * 3600),
            nearby_code_ttl: Duration::from_secs(10 * 60),
            on_event: None,
            #[cfg(feature = "test-util")]
            faults: Faults::default(),
        }
    }

    /// The faults to inject: none unless built with `test-util`.
    fn faults(&self) -> Faults {
        #[cfg(feature = "test-util")]
        return self.faults.clone();
        #[cfg(not(feature = "test-util"))]
        Faults::default()
    }

    /// Takes faults to inject from `HEARTH_FAULT_SERVE_DELAY_MS` and
    /// `HEARTH_FAULT_CORRUPT_CHUNK`, for the end-to-end tests of file transfer. Does
    /// nothing unless built with the `test-util` feature, which only test builds
    /// turn on.
    pub fn faults_from_env(&mut self) {
        #[cfg(feature = "test-util")]
        {
            let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
            self.faults.serve_delay =
                number("HEARTH_FAULT_SERVE_DELAY_MS").map(Duration::from_millis);
            self.faults.corrupt_chunk_once =
                number("HEARTH_FAULT_CORRUPT_CHUNK").and_then(|c| u32::try_from(c).ok());
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("profile_dir", &self.profile_dir)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// Everything a handle can ask of the engine, by the room that answers it.
pub(crate) enum Command {
    Profile(ProfileCommand),
    Pairing(PairingCommand),
    Chat(ChatCommand),
    Files(FileCommand),
    Network(NetworkCommand),
    Mailbox(MailboxCommand),
    Backup(BackupCommand),
    Days(DaysCommand),
    Moods(MoodsCommand),
    Boundaries(BoundariesCommand),
    CheckIns(CheckInsCommand),
    Scheduled(ScheduledCommand),
    Shutdown(oneshot::Sender<()>),
}

/// Where a file to send comes from.
#[derive(Clone, Debug)]
pub enum FileSource {
    /// A file on disk.
    Path(PathBuf),
    /// Bytes in memory (a pasted image), with the name to give them.
    Bytes {
        /// The name the partner sees.
        name: String,
        /// The file.
        bytes: Vec<u8>,
    },
}

/// How a file is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Delete on both devices once the partner has opened it.
    pub view_once: bool,
    /// Delete on both devices this many seconds after the partner opens it.
    pub expires_after_open_secs: Option<u64>,
}

/// Whether a profile exists in a directory, and whether it needs a passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileState {
    /// No profile yet: show the welcome.
    New,
    /// A profile whose key is in a key file: opens without asking.
    KeyFile,
    /// A profile protected by a passphrase: ask for it.
    Passphrase,
}

/// Looks at the profile in `dir` without opening it.
pub fn profile_state(dir: &std::path::Path) -> Result<ProfileState, NodeError> {
    Ok(match hearth_store::Store::protection_of(dir)? {
        None => ProfileState::New,
        Some(hearth_store::KeyProtection::KeyFile) => ProfileState::KeyFile,
        Some(hearth_store::KeyProtection::Passphrase) => ProfileState::Passphrase,
    })
}

/// The engine, to start.
pub struct Node;

impl Node {
    /// Opens the profile, starts the network and the engine.
    pub async fn start(
        config: NodeConfig,
    ) -> Result<(NodeHandle, mpsc::Receiver<NodeEvent>), NodeError> {
        let (commands, command_rx) = mpsc::channel(128);
        let (events_tx, events) = mpsc::channel(1024);
        // Everything this node logs, its tasks' and its network's included, says
        // which profile it is: two engines in one process (tests, benches) can be
        // told apart.
        let profile = config
            .profile_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let span = tracing::info_span!("node", %profile);
        engine::Engine::start(config, command_rx, events_tx)
            .instrument(span)
            .await?;
        Ok((NodeHandle { commands }, events))
    }
}

/// A cheap, cloneable handle on a running engine. The engine stops when every handle
/// is dropped, or on [`NodeHandle::shutdown`].
#[derive(Clone, Debug)]
pub struct NodeHandle {
    commands: mpsc::Sender<Command>,
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)?
    }

    /// Sets this user's profile (name, language, time zone).
    pub async fn init(&self, profile: Profile) -> Result<Status, NodeError> {
        self.ask(|r| Command::Profile(ProfileCommand::Init(profile, r)))
            .await
    }

    /// This device's state.
    pub async fn status(&self) -> Result<Status, NodeError> {
        self.ask(|r| Command::Profile(ProfileCommand::Status(r)))
            .await
    }

    /// Makes an invite for the partner (replacing any earlier one).
    pub async fn invite(&self) -> Result<InviteInfo, NodeError> {
        self.ask(|r| Command::Pairing(PairingCommand::Invite(r)))
            .await
    }

    /// Shows a six-digit code for pairing on this network.
    pub async fn nearby_code(&self) -> Result<String, NodeError> {
        self.ask(|r| Command::Pairing(PairingCommand::NearbyCode(r)))
            .await
    }

    /// Devices on this network (or connected) that are waiting to pair now, i.e.
    /// showing a six-digit code: each as the last characters of its id (`…x7Yz9Q`).
    /// Their users' names are not asked: a name goes only to the device that
    /// completes the handshake.
    pub async fn nearby_devices(&self) -> Result<Vec<String>, NodeError> {
        self.ask(|r| Command::Pairing(PairingCommand::NearbyDevices(r)))
            .await
    }

    /// Pairs with an invite's text or a nearby device's six digits.
    pub async fn pair(&self, code: impl Into<String>) -> Result<PairedInfo, NodeError> {
        let code = code.into();
        self.ask(|r| Command::Pairing(PairingCommand::Pair(code, r)))
            .await
    }

    /// The safety words the two devices show differ: ends the pairing now on this
    /// device and, when they next meet (within a day), on the partner's. Both
    /// forget everything shared under it and can pair again.
    pub async fn reject_pairing(&self) -> Result<(), NodeError> {
        self.ask(|r| Command::Pairing(PairingCommand::Reject(r)))
            .await
    }

    /// Joins the couple's mailbox with the invite `hearth mailbox` printed: from
    /// then on, while the partner's device cannot be reached, what this device
    /// sends waits there for it, sealed. Needs a partner.
    pub async fn mailbox_join(&self, code: impl Into<String>) -> Result<MailboxStatus, NodeError> {
        let code = code.into();
        self.ask(|r| Command::Mailbox(MailboxCommand::Join(code, r)))
            .await
    }

    /// The mailbox's state.
    pub async fn mailbox_status(&self) -> Result<MailboxStatus, NodeError> {
        self.ask(|r| Command::Mailbox(MailboxCommand::Status(r)))
            .await
    }

    /// Stops using the mailbox.
    pub async fn mailbox_leave(&self) -> Result<MailboxStatus, NodeError> {
        self.ask(|r| Command::Mailbox(MailboxCommand::Leave(r)))
            .await
    }

    /// Ends the pairing on both devices: now on this one (nothing more is written),
    /// on the partner's when it hears of it, directly or at the couple's mailbox.
    /// With `delete_history` both devices delete everything shared; without, the
    /// history stays readable on each until a new pairing. Each device obeys;
    /// copies made elsewhere stay.
    pub async fn uncouple(&self, delete_history: bool) -> Result<Ended, NodeError> {
        self.ask(|reply| {
            Command::Pairing(PairingCommand::Uncouple {
                delete_history,
                reply,
            })
        })
        .await
    }

    /// Writes a backup of this profile to `path` (a new file), encrypted under
    /// `passphrase`: this device's keys and settings, both logs, and every file
    /// that is neither view-once nor expiring. Progress comes as
    /// [`NodeEvent::BackupProgress`]. Restore it with [`restore`].
    pub async fn backup(
        &self,
        path: impl Into<PathBuf>,
        passphrase: impl Into<String>,
    ) -> Result<BackupInfo, NodeError> {
        let (path, passphrase) = (path.into(), passphrase.into());
        self.ask(|reply| {
            Command::Backup(BackupCommand::Backup {
                path,
                passphrase,
                reply,
            })
        })
        .await
    }

    /// The couple's days, with today's counts.
    pub async fn days(&self) -> Result<DaysView, NodeError> {
        self.ask(|r| Command::Days(DaysCommand::Get(r))).await
    }

    /// Sets one of the couple's days: the day they are together since, the next
    /// meeting, or an anniversary (`id` names one to change; `None` adds one).
    /// `date` is `YYYY-MM-DD`. Written to the shared log: both devices hold it.
    pub async fn set_day(
        &self,
        kind: DayKindView,
        id: Option<String>,
        date: impl Into<String>,
        title: impl Into<String>,
    ) -> Result<DaysView, NodeError> {
        let (date, title) = (date.into(), title.into());
        self.ask(|reply| {
            Command::Days(DaysCommand::Set {
                kind,
                id,
                date,
                title,
                reply,
            })
        })
        .await
    }

    /// Removes one of the couple's days, by its [`DayView::id`], on both devices.
    pub async fn remove_day(&self, id: impl Into<String>) -> Result<DaysView, NodeError> {
        let id = id.into();
        self.ask(|reply| Command::Days(DaysCommand::Remove { id, reply }))
            .await
    }

    /// Shares how I feel today: `mood` is one of [`hearth_core::MOODS`] (`joy`,
    /// `missing`, …), `note` a few words or nothing. It is a message in the
    /// timeline, dated with my own day, and colours that day of the strip.
    pub async fn share_mood(
        &self,
        mood: impl Into<String>,
        note: impl Into<String>,
    ) -> Result<MessageView, NodeError> {
        let (mood, note) = (mood.into(), note.into());
        self.ask(|reply| Command::Moods(MoodsCommand::Share { mood, note, reply }))
            .await
    }

    /// The mood strip: each one's mood of each day, the newest `days` days
    /// (at most 400).
    pub async fn moods(&self, days: usize) -> Result<MoodsView, NodeError> {
        self.ask(|reply| Command::Moods(MoodsCommand::Get { days, reply }))
            .await
    }

    /// The couple's boundaries: what both agreed, what waits for an answer, the
    /// history, and whether either is in their quiet hours now.
    pub async fn boundaries(&self) -> Result<BoundariesView, NodeError> {
        self.ask(|r| Command::Boundaries(BoundariesCommand::Get(r)))
            .await
    }

    /// Proposes a change to the boundaries: what of `change` differs from the
    /// agreement. It holds once the partner accepts it.
    pub async fn propose_boundaries(
        &self,
        change: BoundaryChange,
    ) -> Result<BoundariesView, NodeError> {
        self.ask(|reply| Command::Boundaries(BoundariesCommand::Propose { change, reply }))
            .await
    }

    /// Accepts the partner's proposal `id` (a [`ProposalView::id`]).
    pub async fn accept_boundaries(&self, id: MessageId) -> Result<BoundariesView, NodeError> {
        self.ask(|reply| Command::Boundaries(BoundariesCommand::Accept { id, reply }))
            .await
    }

    /// Sends a text marked urgent: it rings through the partner's quiet hours.
    pub async fn send_urgent(
        &self,
        text: impl Into<String>,
        reply_to: Option<MessageId>,
    ) -> Result<MessageView, NodeError> {
        let message = self.send(text, reply_to).await?;
        let id = message.id;
        self.ask(|reply| Command::Boundaries(BoundariesCommand::Urgent { id, reply }))
            .await?;
        Ok(message)
    }

    /// The couple's check-ins, the soonest first, each with its next time on both
    /// clocks.
    pub async fn checkins(&self) -> Result<CheckInsView, NodeError> {
        self.ask(|r| Command::CheckIns(CheckInsCommand::Get(r)))
            .await
    }

    /// Adds a recurring check-in: on `weekdays` (`mon` … `sun`) at `time`
    /// (`HH:MM`) in `time_zone`. Written to the shared log: both devices remind.
    pub async fn add_checkin(
        &self,
        weekdays: Vec<String>,
        time: impl Into<String>,
        time_zone: impl Into<String>,
    ) -> Result<CheckInsView, NodeError> {
        let (time, time_zone) = (time.into(), time_zone.into());
        self.ask(|reply| {
            Command::CheckIns(CheckInsCommand::Add {
                weekdays,
                time,
                time_zone,
                reply,
            })
        })
        .await
    }

    /// Removes a check-in, by its [`CheckInView::id`], on both devices.
    pub async fn remove_checkin(&self, id: MessageId) -> Result<CheckInsView, NodeError> {
        self.ask(|reply| Command::CheckIns(CheckInsCommand::Remove { id, reply }))
            .await
    }

    /// Sends a text that shows on the partner's device only `at` a later time:
    /// it goes there now (so it shows on time even if this device is off), and
    /// here it shows as scheduled ([`MessageView::scheduled_for`]) until then.
    /// Edit it with [`NodeHandle::edit`]; cancel it with
    /// [`NodeHandle::cancel_scheduled`].
    pub async fn send_later(
        &self,
        text: impl Into<String>,
        reply_to: Option<MessageId>,
        at: SendAt,
    ) -> Result<MessageView, NodeError> {
        let text = text.into();
        self.ask(|reply| {
            Command::Scheduled(ScheduledCommand::Send {
                text,
                reply_to,
                at,
                reply,
            })
        })
        .await
    }

    /// Cancels my message scheduled for later, before it shows: it never does.
    pub async fn cancel_scheduled(&self, id: MessageId) -> Result<(), NodeError> {
        self.ask(|reply| Command::Scheduled(ScheduledCommand::Cancel { id, reply }))
            .await
    }

    /// Dials an address.
    pub async fn dial(&self, addr: impl Into<String>) -> Result<(), NodeError> {
        let addr = addr.into();
        self.ask(|r| Command::Network(NetworkCommand::Dial(addr, r)))
            .await
    }

    /// Sends a text message, optionally as a reply.
    pub async fn send(
        &self,
        text: impl Into<String>,
        reply_to: Option<MessageId>,
    ) -> Result<MessageView, NodeError> {
        let text = text.into();
        self.ask(|reply| {
            Command::Chat(ChatCommand::Send {
                text,
                reply_to,
                reply,
            })
        })
        .await
    }

    /// Reacts to a message.
    pub async fn react(&self, id: MessageId, emoji: impl Into<String>) -> Result<(), NodeError> {
        let emoji = emoji.into();
        self.ask(|reply| {
            Command::Chat(ChatCommand::React {
                id,
                emoji,
                remove: false,
                reply,
            })
        })
        .await
    }

    /// Takes a reaction back.
    pub async fn unreact(&self, id: MessageId, emoji: impl Into<String>) -> Result<(), NodeError> {
        let emoji = emoji.into();
        self.ask(|reply| {
            Command::Chat(ChatCommand::React {
                id,
                emoji,
                remove: true,
                reply,
            })
        })
        .await
    }

    /// Edits one of my messages.
    pub async fn edit(&self, id: MessageId, text: impl Into<String>) -> Result<(), NodeError> {
        let text = text.into();
        self.ask(|reply| Command::Chat(ChatCommand::Edit { id, text, reply }))
            .await
    }

    /// Deletes one of my messages, on both devices.
    pub async fn delete(&self, id: MessageId) -> Result<(), NodeError> {
        self.ask(|r| Command::Chat(ChatCommand::Delete(id, r)))
            .await
    }

    /// Marks the partner's messages read up to and including `up_to`.
    pub async fn read(&self, up_to: MessageId) -> Result<(), NodeError> {
        self.ask(|r| Command::Chat(ChatCommand::Read(up_to, r)))
            .await
    }

    /// The `limit` newest messages before `before` (a message id), oldest first.
    pub async fn history(
        &self,
        limit: usize,
        before: Option<MessageId>,
    ) -> Result<Vec<MessageView>, NodeError> {
        self.ask(|reply| {
            Command::Chat(ChatCommand::History {
                limit,
                before,
                reply,
            })
        })
        .await
    }

    /// Tells the partner this user is typing (if they are connected; never stored).
    pub async fn typing(&self) -> Result<(), NodeError> {
        self.ask(|r| Command::Chat(ChatCommand::Typing(r))).await
    }

    /// Shares a file: reads it into the store (sealed), makes a thumbnail of a
    /// picture, and writes the message. The bytes follow to the partner in the
    /// background. Files over 4 GiB and empty files are refused.
    pub async fn send_file(
        &self,
        source: FileSource,
        options: SendOptions,
    ) -> Result<MessageView, NodeError> {
        self.ask(|reply| {
            Command::Files(FileCommand::SendFile {
                source,
                options,
                reply,
            })
        })
        .await
    }

    /// Exports a copy of an attachment to `path`. View-once and expiring media are
    /// never exported.
    pub async fn save_file(
        &self,
        id: MessageId,
        path: impl Into<PathBuf>,
    ) -> Result<(), NodeError> {
        let path = path.into();
        self.ask(|reply| Command::Files(FileCommand::SaveFile { id, path, reply }))
            .await
    }

    /// Reads an attachment into memory, to show it; nothing is written to disk. For
    /// the partner's view-once media this is the one time: the file is deleted on
    /// both devices right after.
    pub async fn open_file(&self, id: MessageId) -> Result<Vec<u8>, NodeError> {
        self.ask(|r| Command::Files(FileCommand::OpenFile(id, r)))
            .await
    }

    /// Stops an arriving file (`true`) or lets it continue (`false`).
    pub async fn pause_download(&self, id: MessageId, paused: bool) -> Result<(), NodeError> {
        self.ask(|r| Command::Files(FileCommand::PauseDownload(id, paused, r)))
            .await
    }

    /// Files shared in the chat (not view-once or expiring), newest last, like
    /// [`NodeHandle::history`].
    pub async fn memories(
        &self,
        limit: usize,
        before: Option<MessageId>,
    ) -> Result<Vec<MessageView>, NodeError> {
        self.ask(|reply| {
            Command::Files(FileCommand::Memories {
                limit,
                before,
                reply,
            })
        })
        .await
    }

    /// Turns internet discovery on or off and sets the relays to use (each a full
    /// address ending in `/p2p/<id>`, as `hearth relay` prints). Saved in the
    /// profile; the network restarts with it, so connections drop for a moment.
    pub async fn set_network(
        &self,
        internet: bool,
        relays: Vec<String>,
    ) -> Result<Status, NodeError> {
        self.ask(|reply| {
            Command::Network(NetworkCommand::SetNetwork {
                internet,
                relays,
                reply,
            })
        })
        .await
    }

    /// Sets, changes or removes (with `None`) the passphrase that protects the
    /// store. Only the data key is re-wrapped.
    pub async fn change_passphrase(&self, passphrase: Option<String>) -> Result<Status, NodeError> {
        self.ask(|r| Command::Profile(ProfileCommand::ChangePassphrase(passphrase, r)))
            .await
    }

    /// A setting the app keeps (a draft, the theme), encrypted in the store like
    /// everything else.
    pub async fn app_setting(&self, name: impl Into<String>) -> Result<Option<String>, NodeError> {
        let name = name.into();
        self.ask(|r| Command::Profile(ProfileCommand::AppSetting(name, r)))
            .await
    }

    /// Stores an app setting.
    pub async fn set_app_setting(
        &self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), NodeError> {
        let (name, value) = (name.into(), value.into());
        self.ask(|r| Command::Profile(ProfileCommand::SetAppSetting(name, value, r)))
            .await
    }

    /// Stops the engine: flushes the store and closes the network. Returns when the
    /// profile is closed and can be opened again.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
