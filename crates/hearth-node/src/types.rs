//! What the engine tells the UI and the headless mode, and what it is told.

pub use hearth_core::{BadMessageId, MessageId};
use hearth_core::{DeviceId, TimelinePos};
use serde::{Deserialize, Serialize};

/// How one partner presents themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// UI language, `en` or `sq`.
    pub language: String,
    /// IANA time zone, e.g. `Europe/Tirane`.
    pub time_zone: String,
}

/// What this device remembers of its partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// The partner's device.
    pub device: DeviceId,
    /// Their profile as of the last change.
    pub profile: Profile,
    /// Their Noise static key, authenticated during pairing.
    pub static_key: [u8; 32],
    /// The words both saw at pairing.
    pub safety_words: Vec<String>,
    /// Where they were last reachable, newest first.
    pub addrs: Vec<String>,
    /// When the two paired, ms since the Unix epoch.
    pub paired_at_ms: i64,
}

/// What the sender of a message sees of it on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Written here; the partner's device has not confirmed storing it.
    Queued,
    /// Left, sealed, at the couple's mailbox for the partner's device to collect.
    AtMailbox,
    /// Stored on the partner's device.
    Delivered,
    /// The partner has read it.
    Read,
}

/// A message as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// Its id.
    pub id: MessageId,
    /// Who wrote it.
    pub author: Author,
    /// The text now (after edits); `None` once deleted.
    pub text: Option<String>,
    /// The author's wall clock when written, ms since the Unix epoch.
    pub sent_at: i64,
    /// The message this one answers.
    pub reply_to: Option<MessageId>,
    /// Whether it was edited.
    pub edited: bool,
    /// Whether it was deleted.
    pub deleted: bool,
    /// Reactions, in a stable order.
    pub reactions: Vec<ReactionView>,
    /// For my own messages, how far they got.
    pub delivery: Option<Delivery>,
    /// The file this message shares, if it shares one.
    pub attachment: Option<AttachmentView>,
    /// The mood this message shares, if it is one ("how I feel today").
    pub mood: Option<MoodView>,
    /// For my message scheduled for later: when it shows on the partner's device
    /// (ms since the epoch), while it has not yet.
    pub scheduled_for: Option<i64>,
    /// Where it sits in the timeline (for paging: pass it as `before`).
    #[serde(skip)]
    pub pos: TimelinePos,
}

/// A file shared in a message, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttachmentView {
    /// File name.
    pub name: String,
    /// Media type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// Deleted on both devices once the partner opened it.
    pub view_once: bool,
    /// Deleted on both devices this long after the partner first opened it.
    pub expires_after_open_secs: Option<u64>,
    /// When the partner first opened it (view-once and expiring media).
    pub opened_at: Option<i64>,
    /// The preview carried by the message, if it is a plausible one
    /// ([`hearth_core::Thumbnail::is_plausible`]); decode it with
    /// [`crate::pictures::decode_thumbnail`].
    #[serde(skip)]
    pub thumbnail: Option<hearth_core::Thumbnail>,
    /// Where the bytes are.
    pub file: FileState,
}

impl AttachmentView {
    /// Whether the partner sees a veiled placeholder: view-once or expiring.
    pub fn is_ephemeral(&self) -> bool {
        self.view_once || self.expires_after_open_secs.is_some()
    }

    /// Whether it is a picture the app can show.
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }
}

/// Where an attachment's bytes are, on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileState {
    /// Every byte is here, checked: it can be opened and saved.
    Ready,
    /// On its way: `done` of the size has arrived and been checked.
    Arriving {
        /// Bytes here so far.
        done: u64,
        /// The user stopped it; it waits for "download".
        paused: bool,
    },
    /// Deleted for good: viewed once, expired, or deleted by its sender.
    Gone,
    /// Not on this device and not coming (lost before it was sent).
    Missing,
    /// The sender is still reading the file for its hashes, after which it starts
    /// arriving; on the sender's own device, until its copy is sealed into the
    /// store (which waits for the partner's fetch to end).
    Preparing,
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReactionView {
    /// Who reacted.
    pub by: Author,
    /// The emoji.
    pub emoji: String,
}

/// One of the two partners, from this device's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// This device's user.
    Me,
    /// The partner.
    Partner,
}

/// The state of this device.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// This device's peer id.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listen: Vec<String>,
    /// Whether it is paired.
    pub paired: bool,
    /// The partner's profile, once paired.
    pub partner: Option<Profile>,
    /// Whether the partner's device is connected now.
    pub online: bool,
    /// This user's profile, once set up.
    pub profile: Option<Profile>,
    /// Where the store's key is kept: `passphrase` or `key_file`.
    pub key_protection: &'static str,
    /// The words both saw at pairing, to compare again later.
    pub safety_words: Vec<String>,
    /// How the partner's device is connected now.
    pub connection: Connection,
    /// Whether this device looks for its partner across the internet (relays, DHT,
    /// UPnP); false means the local network only.
    pub internet: bool,
    /// The relays this device keeps a reservation on while `internet` is on.
    pub relays: Vec<String>,
    /// Extra DHT servers its rendezvous records go to (every relay is one too).
    pub dht: Vec<String>,
    /// The couple's mailbox, as this device knows it.
    pub mailbox: MailboxStatus,
    /// How the last pairing ended, once one of the two ended it (until a new
    /// pairing).
    pub ended: Option<Ended>,
    /// "The words differ" ended a pairing here, and the former partner's device
    /// has not yet confirmed it ended there too (it is told when they next meet,
    /// for a day).
    pub telling_former_partner: bool,
}

/// How a pairing ended: one of the two chose to end it (`uncouple`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// Ended on the partner's device.
    pub by_partner: bool,
    /// Both devices delete everything shared under the pairing.
    pub delete_history: bool,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Carried out on this device: the other device was told (directly, or by a
    /// letter now at the couple's mailbox), or told this one. Until then this
    /// device writes nothing more but keeps trying to tell it.
    pub done: bool,
    /// The former partner's name.
    pub partner_name: String,
}

/// The couple's mailbox (`hearth mailbox`), as this device knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MailboxStatus {
    /// The mailbox's peer id, once this device has joined one.
    pub peer_id: Option<String>,
    /// Whether the last exchange with it went through.
    pub reachable: bool,
    /// When this device last exchanged letters with it, ms since the Unix epoch.
    pub last_contact_ms: Option<i64>,
    /// Letters this device left there that the partner's device has not collected.
    pub waiting_for_partner: u64,
    /// Ops of this device (messages, edits, reactions, files made ready) that the
    /// partner's device has not acknowledged and that are not at the mailbox yet:
    /// 0 means closing Hearth now loses the partner nothing.
    pub to_leave: u64,
    /// Why the last exchange failed, when it did.
    pub error: Option<String>,
}

/// How the two devices are connected, as the header says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not connected: messages wait on this device.
    #[default]
    Offline,
    /// Through a relay, which forwards ciphertext only.
    Relay,
    /// Directly across the internet.
    Direct,
    /// Directly on the same local network.
    Nearby,
}

/// An invite to show and send.
#[derive(Clone, Debug, Serialize)]
pub struct InviteInfo {
    /// The invite as text.
    pub code: String,
    /// The bytes for a QR code.
    #[serde(skip)]
    pub qr_bytes: Vec<u8>,
    /// When it expires, ms since the Unix epoch.
    pub expires_at: i64,
}

/// A finished pairing.
#[derive(Clone, Debug, Serialize)]
pub struct PairedInfo {
    /// The partner's profile.
    pub partner: Profile,
    /// The words to compare.
    pub safety_words: Vec<String>,
}

/// Something the engine reports without being asked.
#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// Listening on a new address.
    Listening(String),
    /// Paired (as the device that showed the code or invite).
    Paired(PairedInfo),
    /// The pairing ended, on this device (`by_partner: false`, the user found the
    /// safety words differ) or on the partner's: everything shared is forgotten
    /// and the device can pair again.
    Unpaired {
        /// Ended by the partner's device.
        by_partner: bool,
    },
    /// Someone tried to pair with this device's code or invite and failed.
    PairingFailed(PairingFailure),
    /// A new message, mine or the partner's.
    Message(MessageView),
    /// A message was edited, deleted or reacted to.
    MessageChanged(MessageView),
    /// One of my messages moved on.
    Delivery {
        /// The message id.
        id: MessageId,
        /// Its new state.
        state: Delivery,
    },
    /// The partner's device connected or went away.
    Presence {
        /// Whether it is connected now.
        online: bool,
    },
    /// The path to the partner's device changed (say, a relayed connection became a
    /// direct one).
    Connection(Connection),
    /// The partner is typing.
    Typing,
    /// The partner changed their profile.
    PartnerProfile(Profile),
    /// An attachment's bytes moved: arriving here (`incoming`) or leaving for the
    /// partner.
    Transfer {
        /// The message id.
        id: MessageId,
        /// Bytes the receiving side holds now.
        done: u64,
        /// The file's size.
        total: u64,
        /// Arriving here, rather than leaving.
        incoming: bool,
    },
    /// An attachment has fully arrived and its hash checked.
    TransferDone {
        /// The message id.
        id: MessageId,
        /// BLAKE3 of the file, hex.
        blake3: String,
        /// Bytes this run of the download received (less than the size when it
        /// resumed from an earlier run).
        received: u64,
        /// Chunks that failed their hash check and were asked for again.
        rejected_chunks: u32,
    },
    /// An attachment could not be fetched now; it is tried again later unless
    /// the reason says otherwise.
    TransferFailed {
        /// The message id.
        id: MessageId,
        /// Why.
        reason: TransferFailure,
    },
    /// The mailbox's state changed (joined, reached, unreachable, letters
    /// collected).
    Mailbox(MailboxStatus),
    /// The pairing was ended, here or on the partner's device, or the ending was
    /// carried out ([`Ended::done`]).
    Ended(Ended),
    /// A backup is being written: `done` of `total` bytes of files copied.
    BackupProgress {
        /// Bytes of files copied.
        done: u64,
        /// Bytes of files to copy.
        total: u64,
    },
    /// The couple's days changed (here or on the partner's device), or a new day
    /// began: the counts are for today.
    Days(DaysView),
    /// One of the couple's days is today: an anniversary, the day they got
    /// together, the day they meet. Said once a day per date, on each device in
    /// its own time zone.
    Reminder(DayView),
    /// A mood was shared or deleted, here or by the partner: the strip as it is.
    Moods(MoodsView),
    /// The boundaries changed: proposed, accepted or answered, here or by the
    /// partner.
    Boundaries(BoundariesView),
    /// What a desktop notification would say now: a partner's message (or that
    /// it was held for this user's quiet hours), or the summary of those held
    /// once quiet hours end.
    Notification(Notice),
    /// The check-ins changed, here or on the partner's device.
    CheckIns(CheckInsView),
    /// A check-in is now (on each device at the same instant, whatever its
    /// clock says), or one passed without both writing (`missed`).
    CheckInReminder {
        /// The check-in, its next time already the following one.
        checkin: CheckInView,
        /// It passed and not both of them wrote around it: a gentle note.
        missed: bool,
    },
    /// Many of my messages wait unread while the partner sleeps or rests: a
    /// gentle word not to bombard them. Said once a night.
    ManyWaiting {
        /// How many of mine they have not read.
        count: u32,
    },
    /// A scheduled message showed: on the partner's device it appears now (a
    /// [`NodeEvent::Message`] comes with it), on mine it is no longer scheduled.
    Revealed {
        /// The message.
        id: MessageId,
    },
    /// I wrote while the partner is in their quiet hours: it waits for them.
    /// Said once each quiet period.
    PartnerQuiet {
        /// When their quiet hours end, `HH:MM` on their clock.
        until: String,
    },
    /// Something went wrong that no command is waiting to hear about.
    Error(String),
}

/// A time on one partner's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalTime {
    /// `mon` … `sun`.
    pub weekday: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
}

/// A recurring check-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckInView {
    /// What names it in `remove_checkin`.
    pub id: MessageId,
    /// `mon` … `sun`.
    pub weekdays: Vec<String>,
    /// `HH:MM` in `time_zone`.
    pub time: String,
    /// The IANA time zone the time is in.
    pub time_zone: String,
    /// Who set it last.
    pub set_by: Author,
    /// The next time, ms since the epoch.
    pub next_at: Option<i64>,
    /// The next time on my clock.
    pub mine: Option<LocalTime>,
    /// The next time on the partner's clock.
    pub partner: Option<LocalTime>,
}

/// The couple's check-ins, the soonest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckInsView {
    /// Each check-in.
    pub checkins: Vec<CheckInView>,
}

/// A notification the engine decided on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// A partner's message arrived.
    Message {
        /// The partner's name.
        from: String,
        /// The message.
        message: Box<MessageView>,
        /// Held: it arrived in this user's quiet hours; nothing is shown now, and
        /// it is counted into the summary when they end.
        held: bool,
        /// The partner marked it urgent: it rings through quiet hours.
        urgent: bool,
        /// The partner's messages I have not read, this one among them: several
        /// in a row make one notification ("Arta: 6 new messages").
        unread: u32,
    },
    /// Quiet hours ended: this many messages were held.
    Summary {
        /// The partner's name.
        from: String,
        /// How many.
        count: u32,
    },
}

/// When a message written now shows on the partner's device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendAt {
    /// At this instant, ms since the epoch.
    At(i64),
    /// At the partner's next 08:00, on their clock.
    PartnerMorning,
    /// When the partner's agreed quiet hours next end.
    AfterPartnerQuiet,
}

/// A change to the boundaries I propose: each field `None` stays as agreed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoundaryChange {
    /// My quiet hours, `HH:MM` to `HH:MM` in my time zone; `Some(None)`: none.
    pub my_quiet: Option<Option<(String, String)>>,
    /// My preferred ways to be reached.
    pub my_reach: Option<String>,
    /// Topics to handle with care.
    pub care: Option<String>,
    /// About photos and media.
    pub media: Option<String>,
    /// Photos and files go view-once unless the sender chooses otherwise.
    pub view_once: Option<bool>,
}

/// Quiet hours, `HH:MM` to `HH:MM` in their owner's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuietView {
    /// When they begin.
    pub start: String,
    /// When they end (the next morning when earlier than `start`).
    pub end: String,
}

/// One person's part of the boundaries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartView {
    /// Their quiet hours, if any.
    pub quiet: Option<QuietView>,
    /// Their preferred ways to be reached.
    pub reach: String,
}

/// The boundaries as agreed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AgreementView {
    /// My part.
    pub mine: PartView,
    /// The partner's part.
    pub partner: PartView,
    /// Topics to handle with care.
    pub care: String,
    /// About photos and media.
    pub media: String,
    /// Photos and files go view-once unless the sender chooses otherwise.
    pub view_once: bool,
}

/// One change a proposal makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeView {
    /// `quiet`, `reach`, `care`, `media` or `view_once` (`true`/`false`).
    pub field: String,
    /// Whose quiet hours or ways to reach; `None` for the shared fields.
    pub whose: Option<Author>,
    /// What it becomes: `HH:MM-HH:MM` or empty (none) for quiet hours, else the
    /// text.
    pub value: String,
}

/// A proposal, waiting or accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProposalView {
    /// What names it in `accept_boundaries`.
    pub id: MessageId,
    /// Who proposed it.
    pub by: Author,
    /// When, ms since the epoch (their clock).
    pub at: i64,
    /// What it changes.
    pub changes: Vec<ChangeView>,
    /// When it was accepted (the accepter's clock); `None` while it waits.
    pub accepted_at: Option<i64>,
}

/// The couple's boundaries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BoundariesView {
    /// What both agreed.
    pub agreement: AgreementView,
    /// Proposals waiting for an answer, oldest first.
    pub pending: Vec<ProposalView>,
    /// The agreement's history: accepted proposals, oldest first.
    pub history: Vec<ProposalView>,
    /// When my quiet hours end (`HH:MM`, my clock), if I am in them now.
    pub my_quiet_until: Option<String>,
    /// When the partner's quiet hours end (`HH:MM`, their clock), if they are in
    /// them now: what I write waits for them.
    pub partner_quiet_until: Option<String>,
}

/// A mood as shared: one of [`hearth_core::MOODS`], or `unknown` for one a newer
/// build shared that this one cannot name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MoodView {
    /// `joy`, `loved`, `calm`, `excited`, `missing`, `tired`, `low`, `stressed`,
    /// or `unknown`.
    pub mood: String,
    /// A few words with it; may be empty.
    pub note: String,
    /// The author's own date when they shared it, `YYYY-MM-DD`.
    pub day: String,
}

/// One day of the mood strip: the last mood its author shared that day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MoodDayView {
    /// The message that shared it.
    pub id: MessageId,
    /// The mood.
    #[serde(flatten)]
    pub mood: MoodView,
    /// When it was shared, ms since the epoch (the author's clock).
    pub at: i64,
}

/// The mood strip: each partner's mood of each day, oldest first, the newest
/// `days` of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MoodsView {
    /// Mine.
    pub mine: Vec<MoodDayView>,
    /// The partner's.
    pub partner: Vec<MoodDayView>,
}

/// The couple's days as this device sees them today (in its user's time zone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DaysView {
    /// Today's date here, `YYYY-MM-DD`.
    pub today: String,
    /// The day they have been together since.
    pub together_since: Option<DayView>,
    /// The next time they meet.
    pub meeting: Option<DayView>,
    /// Anniversaries and other dates to remember, soonest first.
    pub anniversaries: Vec<DayView>,
}

/// One of the couple's days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayView {
    /// What names it in `set_day` and `remove_day`: `together_since`, `meeting`,
    /// or an anniversary's own id.
    pub id: String,
    /// Which kind of day.
    pub kind: DayKindView,
    /// Its date, `YYYY-MM-DD`.
    pub date: String,
    /// What it is ("Tirana"); may be empty.
    pub title: String,
    /// Who set it last.
    pub set_by: Author,
    /// Days from today: since it (together since), until it (the meeting; negative
    /// once past), until it next comes round (an anniversary; 0 on the day).
    pub days: i64,
    /// For an anniversary or together since: the years it will be on its next
    /// day (0 when its first day has not come yet).
    pub years: Option<i64>,
}

/// Which of the couple's days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKindView {
    /// The day they have been together since.
    TogetherSince,
    /// The next time they meet.
    Meeting,
    /// An anniversary or another date to remember.
    Anniversary,
}

/// Why a file did not move: what the UI says (in the user's language) and scripts
/// match on ([`TransferFailure::code`]). Details from the network or the disk stay
/// as the system gave them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferFailure {
    /// Not enough free disk space for an arriving file: it waits, paused, until the
    /// user frees some and presses download.
    #[error(
        "not enough free disk space ({needed} bytes needed, {free} free); free some and press download"
    )]
    NoDiskSpace {
        /// The file's size and the margin kept free.
        needed: u64,
        /// Free space on the profile's disk.
        free: u64,
    },
    /// The partner's device cannot send the file now (it no longer holds it, or it
    /// is not ready): tried again later.
    #[error("the partner's device cannot send it: {0}")]
    Unavailable(String),
    /// The connection or the disk failed on the way: tried again soon.
    #[error("{0}")]
    Interrupted(String),
    /// This device could not send its own file: the message is withdrawn.
    #[error("{0}")]
    NotSent(Refusal),
    /// This device could not read its own file: the message is withdrawn.
    #[error("the file could not be read: {0}")]
    Unreadable(String),
}

impl TransferFailure {
    /// A short stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            TransferFailure::NoDiskSpace { .. } => "no_disk_space",
            TransferFailure::Unavailable(_) => "unavailable",
            TransferFailure::Interrupted(_) => "interrupted",
            TransferFailure::NotSent(refusal) => refusal.code(),
            TransferFailure::Unreadable(_) => "unreadable",
        }
    }
}

/// Why the engine refused a request: what the UI says (in the user's language) and
/// scripts match on ([`Refusal::code`]). The English here is for logs and headless.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A display name must be 1 to 64 characters.
    #[error("a name of 1 to 64 characters, please")]
    BadName,
    /// The UI speaks English and Albanian only.
    #[error("language must be en or sq")]
    BadLanguage,
    /// Not an IANA time zone.
    #[error("unknown time zone {0}")]
    UnknownTimeZone(String),
    /// An app setting over its size limit.
    #[error("setting too long")]
    SettingTooLong,
    /// Internet discovery asked for in a run started with `--no-internet`.
    #[error("this run was started with --no-internet; restart without it first")]
    InternetForcedOff,
    /// More relays than a device keeps.
    #[error("at most {max} relays; remove one first")]
    TooManyRelays {
        /// How many a device keeps.
        max: usize,
    },
    /// An invite needs an address to be reached at, and there is none yet.
    #[error("this device is not reachable on any address yet; check the network and try again")]
    NotReachable,
    /// A text with nothing in it.
    #[error("the message is empty")]
    EmptyText,
    /// A text over the size limit.
    #[error("the message is too long")]
    TextTooLong,
    /// A reaction that is not one emoji.
    #[error("a reaction is one emoji")]
    NotAnEmoji,
    /// Read markers are for the partner's messages.
    #[error("only the partner's messages can be marked read")]
    NotPartnersMessage,
    /// The path names no file (a directory, or nothing).
    #[error("{0} is not a file")]
    NotAFile(String),
    /// A file over 4 GiB.
    #[error("{name} is {size} bytes; files up to 4 GiB can be sent")]
    FileTooLarge {
        /// The file's name.
        name: String,
        /// Its size in bytes.
        size: u64,
    },
    /// An empty file.
    #[error("{0}: the file is empty")]
    EmptyFile(String),
    /// The file's size changed between being described and being sealed.
    #[error("{0} changed while it was being sent")]
    FileChanged(String),
    /// View-once and an expiry together.
    #[error("choose view-once or an expiry, not both")]
    ViewOnceAndExpiry,
    /// View-once and expiring media are never saved.
    #[error("view-once and expiring media cannot be saved")]
    EphemeralNotSaved,
    /// Too big to open in the window.
    #[error("too large to open here; save it and open it with another app")]
    TooLargeToOpen,
    /// The message that carried the file was deleted.
    #[error("that file was deleted")]
    FileDeleted,
    /// The message carries no file.
    #[error("that message has no file")]
    NoFile,
    /// A view-once file that has been opened.
    #[error("this was view-once and has been opened; it is gone")]
    ViewOnceGone,
    /// An expiring file past its time.
    #[error("this file has expired and is gone")]
    FileExpired,
    /// The file is still arriving.
    #[error("the file has not fully arrived yet")]
    NotArrived,
    /// The file is not held here.
    #[error("the file is not on this device")]
    FileNotHere,
    /// Pausing or resuming a file that is not arriving.
    #[error("that file is not arriving")]
    NotArriving,
    /// The profile lacks a key it must hold: it was damaged.
    #[error("the profile is damaged: {0}")]
    Damaged(&'static str),
    /// The pairing was ended: nothing more is written under it.
    #[error("the pairing has ended; pair anew to write again")]
    PairingEnded,
    /// The pairing is being ended already.
    #[error("the pairing is already ending")]
    AlreadyEnding,
    /// A backup needs a passphrase to be encrypted under.
    #[error("a backup needs a passphrase")]
    BackupNeedsPassphrase,
    /// Restoring into a folder that holds a profile (or anything else).
    #[error("that folder is not empty; restore into a new one")]
    ProfileExists,
    /// Restored from a backup: nothing is written until the partner's device says
    /// it holds no more of this device's log than the backup did.
    #[error("restored from a backup: waiting to reach the partner's device once before writing")]
    RestoredWaiting,
    /// A day that is not a date of the calendar, or not in `YYYY-MM-DD`.
    #[error("{0} is not a date; write it as YYYY-MM-DD, between 1900 and 2200")]
    BadDate(String),
    /// A day's title over its limit.
    #[error("that title is too long")]
    DayTitleTooLong,
    /// More anniversaries than a couple keeps.
    #[error("at most {max} dates to remember; remove one first")]
    TooManyDays {
        /// How many a couple keeps.
        max: usize,
    },
    /// No such day (it was removed, or the id is not one).
    #[error("there is no such date")]
    NoSuchDay,
    /// A mood this build does not know.
    #[error("{0} is not a mood; one of: joy, loved, calm, excited, missing, tired, low, stressed")]
    UnknownMood(String),
    /// A mood's note over its limit.
    #[error("that note is too long")]
    MoodNoteTooLong,
    /// Quiet hours that are not `HH:MM` to a different `HH:MM`.
    #[error("quiet hours are two different times, each as HH:MM")]
    BadQuietHours,
    /// A proposal that changes nothing of the agreement.
    #[error("that is what you already agreed")]
    NothingToPropose,
    /// A boundaries text over its limit.
    #[error("that text is too long")]
    BoundaryTextTooLong,
    /// No proposal of the partner's by that id waits for an answer.
    #[error("there is no such proposal of your partner's waiting")]
    NoSuchProposal,
    /// A check-in with no day, a day that is none, or a time that is not `HH:MM`.
    #[error("{0}: a check-in needs days (mon to sun) and a time as HH:MM")]
    BadCheckIn(String),
    /// No such check-in (it was removed, or the id is not one).
    #[error("there is no such check-in")]
    NoSuchCheckIn,
    /// A time to show a message that is past, or more than a year ahead.
    #[error("a message can be scheduled from a few seconds to a year ahead")]
    BadScheduleTime,
    /// "When their quiet hours end" without agreed quiet hours.
    #[error("your partner has no agreed quiet hours")]
    NoQuietHours,
    /// Cancelling a message that is not scheduled, or already showed.
    #[error("that message is not waiting to be shown")]
    NotScheduled,
    /// More check-ins than a couple keeps.
    #[error("at most {max} check-ins; remove one first")]
    TooManyCheckIns {
        /// How many a couple keeps.
        max: usize,
    },
}

impl Refusal {
    /// A short stable code for scripts (`file_too_large`, `not_an_emoji`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadName => "bad_name",
            Refusal::BadLanguage => "bad_language",
            Refusal::UnknownTimeZone(_) => "unknown_time_zone",
            Refusal::SettingTooLong => "setting_too_long",
            Refusal::InternetForcedOff => "internet_forced_off",
            Refusal::TooManyRelays { .. } => "too_many_relays",
            Refusal::NotReachable => "not_reachable",
            Refusal::EmptyText => "empty_text",
            Refusal::TextTooLong => "text_too_long",
            Refusal::NotAnEmoji => "not_an_emoji",
            Refusal::NotPartnersMessage => "not_partners_message",
            Refusal::NotAFile(_) => "not_a_file",
            Refusal::FileTooLarge { .. } => "file_too_large",
            Refusal::EmptyFile(_) => "empty_file",
            Refusal::FileChanged(_) => "file_changed",
            Refusal::ViewOnceAndExpiry => "view_once_and_expiry",
            Refusal::EphemeralNotSaved => "ephemeral_not_saved",
            Refusal::TooLargeToOpen => "too_large_to_open",
            Refusal::FileDeleted => "file_deleted",
            Refusal::NoFile => "no_file",
            Refusal::ViewOnceGone => "view_once_gone",
            Refusal::FileExpired => "file_expired",
            Refusal::NotArrived => "not_arrived",
            Refusal::FileNotHere => "file_not_here",
            Refusal::NotArriving => "not_arriving",
            Refusal::Damaged(_) => "damaged",
            Refusal::PairingEnded => "pairing_ended",
            Refusal::AlreadyEnding => "already_ending",
            Refusal::BackupNeedsPassphrase => "backup_needs_passphrase",
            Refusal::ProfileExists => "profile_exists",
            Refusal::RestoredWaiting => "restored_waiting",
            Refusal::BadDate(_) => "bad_date",
            Refusal::DayTitleTooLong => "day_title_too_long",
            Refusal::TooManyDays { .. } => "too_many_days",
            Refusal::NoSuchDay => "no_such_day",
            Refusal::UnknownMood(_) => "unknown_mood",
            Refusal::MoodNoteTooLong => "mood_note_too_long",
            Refusal::BadQuietHours => "bad_quiet_hours",
            Refusal::NothingToPropose => "nothing_to_propose",
            Refusal::BoundaryTextTooLong => "boundary_text_too_long",
            Refusal::NoSuchProposal => "no_such_proposal",
            Refusal::BadCheckIn(_) => "bad_checkin",
            Refusal::BadScheduleTime => "bad_schedule_time",
            Refusal::NoQuietHours => "no_quiet_hours",
            Refusal::NotScheduled => "not_scheduled",
            Refusal::NoSuchCheckIn => "no_such_checkin",
            Refusal::TooManyCheckIns { .. } => "too_many_checkins",
        }
    }

    /// The refusal for an op body that breaks [`hearth_core::limits`]. The engine
    /// makes only texts and reactions from what a user typed; any other body it
    /// makes within the limits, so breaking them means damaged input.
    pub(crate) fn of_body(error: hearth_core::BodyError) -> Refusal {
        use hearth_core::BodyError;
        match error {
            BodyError::TextEmpty => Refusal::EmptyText,
            BodyError::TextTooLong => Refusal::TextTooLong,
            BodyError::NotAnEmoji => Refusal::NotAnEmoji,
            BodyError::DayTitleTooLong => Refusal::DayTitleTooLong,
            BodyError::MoodNoteTooLong => Refusal::MoodNoteTooLong,
            other => Refusal::Damaged(other.reason()),
        }
    }
}

impl From<Refusal> for NodeError {
    fn from(refusal: Refusal) -> NodeError {
        NodeError::Refused(refusal)
    }
}

/// Why a pairing did not complete: what the UI says (in the user's language) and
/// scripts match on ([`PairingFailure::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PairingFailure {
    /// The two devices did not use the same code.
    #[error("the codes did not match; check the code and try again")]
    CodeMismatch,
    /// The other device shows no code.
    #[error("the other device is not waiting to pair")]
    NotPairing,
    /// The code or invite has expired.
    #[error("this code has expired; ask for a new one")]
    Expired,
    /// A mailbox's invite, where a partner's was expected.
    #[error("this is a mailbox's invite; join it in Settings, under Mailbox")]
    MailboxInvite,
    /// The code was tried too many times.
    #[error("this code was tried too many times; ask for a new one")]
    TooManyTries,
    /// The other device is pairing with someone else right now.
    #[error("the other device is busy pairing; try again in a moment")]
    Busy,
    /// The other device stopped answering mid-way.
    #[error("the other device stopped answering")]
    Timeout,
    /// The other device broke off the pairing before trying a code.
    #[error("the other device broke off the pairing")]
    Abandoned,
    /// The other device could not be reached; the network's words.
    #[error("could not reach the other device ({0})")]
    Unreachable(String),
    /// The other device sent something the protocol does not allow.
    #[error("the other device sent something unexpected")]
    Protocol,
    /// This device is already pairing.
    #[error("already pairing")]
    AlreadyPairing,
    /// The text is not a whole, valid invite; why.
    #[error("this is not a valid invite ({0})")]
    BadInvite(String),
    /// The invite is this device's own.
    #[error("this is your own invite; send it to your partner")]
    OwnInvite,
    /// The invite has no address to reach its maker at.
    #[error("the invite has no address to reach your partner at; ask for a new one")]
    NoAddress,
    /// Neither six digits nor an invite.
    #[error("enter the six digits, or paste the whole invite")]
    NotACode,
    /// Someone tried a wrong code against this device's; `tries_left` remain (none:
    /// the code no longer works).
    #[error("{}", wrong_code_tried(*tries_left))]
    WrongCodeTried {
        /// Tries the code survives still.
        tries_left: u32,
    },
}

fn wrong_code_tried(tries_left: u32) -> String {
    if tries_left == 0 {
        "a wrong code was tried; the code no longer works, make a new one".into()
    } else {
        format!("a wrong code was tried; {tries_left} tries left")
    }
}

impl PairingFailure {
    /// A short stable code for scripts (`code_mismatch`, `expired`, …).
    pub fn code(&self) -> &'static str {
        match self {
            PairingFailure::CodeMismatch => "code_mismatch",
            PairingFailure::NotPairing => "not_pairing",
            PairingFailure::Expired => "expired",
            PairingFailure::TooManyTries => "too_many_tries",
            PairingFailure::Busy => "busy",
            PairingFailure::Timeout => "timeout",
            PairingFailure::Abandoned => "abandoned",
            PairingFailure::Unreachable(_) => "unreachable",
            PairingFailure::Protocol => "protocol",
            PairingFailure::AlreadyPairing => "already_pairing",
            PairingFailure::BadInvite(_) => "bad_invite",
            PairingFailure::MailboxInvite => "mailbox_invite",
            PairingFailure::OwnInvite => "own_invite",
            PairingFailure::NoAddress => "no_address",
            PairingFailure::NotACode => "not_a_code",
            PairingFailure::WrongCodeTried { .. } => "wrong_code_tried",
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not open or write.
    #[error(transparent)]
    Open(#[from] hearth_store::OpenError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// The network failed.
    #[error(transparent)]
    Net(#[from] hearth_net::NetError),
    /// The profile is not set up (`init` first).
    #[error("set up your profile first")]
    NoProfile,
    /// Needs a partner and there is none.
    #[error("not paired yet")]
    NotPaired,
    /// Already paired.
    #[error("already paired")]
    AlreadyPaired,
    /// A message id that does not name a message.
    #[error("no such message: {0}")]
    NoSuchMessage(MessageId),
    /// Editing or deleting the partner's message.
    #[error("only the author can change a message")]
    NotYours,
    /// A request the engine will not carry out, and why.
    #[error("{0}")]
    Refused(Refusal),
    /// Pairing failed.
    #[error("pairing failed: {0}")]
    Pairing(PairingFailure),
    /// Joining the couple's mailbox failed.
    #[error("the mailbox: {0}")]
    Mailbox(MailboxFailure),
    /// A backup could not be written or read.
    #[error("{0}")]
    Backup(BackupFailure),
    /// A file could not be read or written.
    #[error("{0}")]
    File(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

impl NodeError {
    /// The same failure, for each of several requests that met it (texts written
    /// in one group). Errors of the store and the network carry a source that
    /// cannot be copied: the others get its words, as a store error.
    pub(crate) fn again(&self) -> NodeError {
        match self {
            NodeError::NoProfile => NodeError::NoProfile,
            NodeError::NotPaired => NodeError::NotPaired,
            NodeError::AlreadyPaired => NodeError::AlreadyPaired,
            NodeError::NoSuchMessage(id) => NodeError::NoSuchMessage(*id),
            NodeError::NotYours => NodeError::NotYours,
            NodeError::Refused(refusal) => NodeError::Refused(refusal.clone()),
            NodeError::Pairing(failure) => NodeError::Pairing(failure.clone()),
            NodeError::Mailbox(failure) => NodeError::Mailbox(failure.clone()),
            NodeError::Backup(failure) => NodeError::Backup(failure.clone()),
            NodeError::File(why) => NodeError::File(why.clone()),
            NodeError::Stopped => NodeError::Stopped,
            NodeError::Open(_) | NodeError::Store(_) | NodeError::Net(_) => {
                NodeError::Store(hearth_store::StoreError::Files(self.to_string()))
            }
        }
    }

    /// A short stable code for scripts (`not_paired`, `pairing_failed`, …).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Open(hearth_store::OpenError::WrongPassphrase) => "wrong_passphrase",
            NodeError::Open(hearth_store::OpenError::Locked { .. }) => "profile_locked",
            NodeError::Open(_) => "open_failed",
            NodeError::Store(_) => "store",
            NodeError::Net(_) => "network",
            NodeError::NoProfile => "no_profile",
            NodeError::NotPaired => "not_paired",
            NodeError::AlreadyPaired => "already_paired",
            NodeError::NoSuchMessage(_) => "no_such_message",
            NodeError::NotYours => "not_yours",
            NodeError::Refused(_) => "invalid",
            NodeError::Pairing(_) => "pairing_failed",
            NodeError::Mailbox(_) => "mailbox_failed",
            NodeError::Backup(_) => "backup_failed",
            NodeError::File(_) => "file",
            NodeError::Stopped => "stopped",
        }
    }
}

/// Why a backup could not be written or restored: what the UI says and scripts
/// match on ([`BackupFailure::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackupFailure {
    /// The file is not a Hearth backup.
    #[error("this is not a Hearth backup")]
    NotABackup,
    /// Made by a newer Hearth.
    #[error("this backup was made by a newer Hearth (format {0}); update Hearth first")]
    NewerFormat(u8),
    /// The passphrase does not open it.
    #[error("the passphrase does not open this backup")]
    WrongPassphrase,
    /// Changed or cut short: nothing was restored.
    #[error("this backup is damaged ({0}); nothing was restored from it")]
    Damaged(String),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
}

impl BackupFailure {
    /// A short stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            BackupFailure::NotABackup => "not_a_backup",
            BackupFailure::NewerFormat(_) => "newer_format",
            BackupFailure::WrongPassphrase => "wrong_passphrase",
            BackupFailure::Damaged(_) => "damaged",
            BackupFailure::Io(_) => "io",
        }
    }
}

/// A backup written or restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// The backup file.
    pub path: String,
    /// Ops of both logs: messages, edits, reactions, read markers…
    pub messages_and_changes: u64,
    /// Files.
    pub files: u64,
    /// Bytes of the backup file.
    pub bytes: u64,
}

/// Why joining the couple's mailbox failed: what the UI says and scripts match on
/// ([`MailboxFailure::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailboxFailure {
    /// The text is not a mailbox invite, or it is damaged.
    #[error("this is not a mailbox invite, or it is damaged")]
    BadInvite,
    /// The text is the partner's invite, not a mailbox's.
    #[error("this is an invite from a partner, not from a mailbox")]
    PartnerInvite,
    /// The invite's time is up.
    #[error("this mailbox invite has expired; ask the mailbox for a new one")]
    Expired,
    /// The mailbox turned the invite down: wrong, expired there, or tried too often.
    #[error("the mailbox turned this invite down; ask it for a new one")]
    Refused,
    /// The mailbox could not be reached.
    #[error("the mailbox could not be reached: {0}")]
    Unreachable(String),
}

impl MailboxFailure {
    /// A short stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            MailboxFailure::BadInvite => "bad_invite",
            MailboxFailure::PartnerInvite => "partner_invite",
            MailboxFailure::Expired => "expired",
            MailboxFailure::Refused => "refused",
            MailboxFailure::Unreachable(_) => "unreachable",
        }
    }
}

/// How a device is named before pairing, where no name may be given: the end of
/// its peer id (`…x7Yz9Q`). The same on both screens, so the two can be matched.
pub fn device_label(peer_id: &str) -> String {
    format!(
        "…{}",
        peer_id
            .get(peer_id.len().saturating_sub(6)..)
            .unwrap_or_default()
    )
}

/// Writes bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
