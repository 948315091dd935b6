use serde::{Deserialize, Serialize};

use crate::boundaries::BoundaryProposal;
use crate::checkins::CheckInChange;
use crate::days::DayChange;
use crate::ids::{DeviceId, Lamport, OpId, TimelinePos};
use crate::moods::MoodShare;

/// Size limits that every op must respect, on creation and on decoding.
pub mod limits {
    /// Longest message text, in bytes of UTF-8.
    pub const MAX_TEXT_BYTES: usize = 16 * 1024;
    /// Longest reaction, in bytes: one emoji, perhaps with modifiers and joiners.
    pub const MAX_EMOJI_BYTES: usize = 64;
    /// Most reactions one person shows on one message; a newer one replaces the
    /// oldest.
    pub const MAX_REACTIONS_PER_PERSON: usize = 6;
    /// Most reactions one person's state keeps on one message, removed ones
    /// included: a removal must be remembered (an older add that arrives late must
    /// not bring the reaction back), but removing a few must not push out one still
    /// shown.
    pub const REACTION_ENTRIES_PER_PERSON: usize = 16;
    /// Largest encoded state of one message (its edit, reactions, when opened).
    pub const MAX_STATE_BYTES: usize = 24 * 1024;
    /// How far ahead of every Lamport time seen a partner's op may be. An honest
    /// device is at most one ahead of what it has seen; this leaves room for what
    /// this device has not seen yet and keeps the clock far from overflowing.
    pub const MAX_LAMPORT_JUMP: u64 = 1 << 32;
    /// Longest display name, language tag or time zone name, in bytes.
    pub const MAX_PROFILE_FIELD_BYTES: usize = 128;
    /// Longest title of one of the couple's days ("Tirana"), in bytes.
    pub const MAX_DAY_TITLE_BYTES: usize = 200;
    /// Longest note with a mood, in bytes.
    pub const MAX_MOOD_NOTE_BYTES: usize = 500;
    /// Longest text of one field of the boundaries (ways to reach, topics, media).
    pub const MAX_BOUNDARY_TEXT_BYTES: usize = 1000;
    /// Largest payload of an op kind this build does not know, kept as it came.
    pub const MAX_UNSUPPORTED_PAYLOAD_BYTES: usize = 32 * 1024;
    /// Largest file one attachment carries: 4 GiB.
    pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;
    /// Longest file name, in bytes of UTF-8.
    pub const MAX_FILE_NAME_BYTES: usize = 255;
    /// Longest media type (`image/jpeg`).
    pub const MAX_MIME_BYTES: usize = 128;
    /// Largest thumbnail carried in an attachment op.
    pub const MAX_THUMBNAIL_BYTES: usize = 32 * 1024;
    /// Longest side of a thumbnail, in pixels.
    pub const MAX_THUMBNAIL_SIDE: u16 = 320;
    /// Smallest and largest chunk a file is cut into.
    pub const CHUNK_BYTES_RANGE: std::ops::RangeInclusive<u32> = 16 * 1024..=4 * 1024 * 1024;
    /// The most chunks one file may be cut into; bounds the list of chunk hashes.
    pub const MAX_CHUNKS: u64 = 65_536;
}

/// One entry in an author's append-only log: something one partner did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawOp", into = "RawOp")]
pub struct Op {
    /// Author and sequence number.
    pub id: OpId,
    /// Lamport time when it was written.
    pub lamport: Lamport,
    /// The author's wall clock when it was written, in milliseconds since the Unix
    /// epoch. Only ever shown; never used for ordering.
    pub wall_ms: i64,
    /// What the op does.
    pub body: OpBody,
}

impl Op {
    /// An upper bound on the op's encoded size, found without encoding it: its
    /// variable parts, and a fixed allowance for ids, times, hashes and lengths.
    pub fn size_bound(&self) -> usize {
        const FIXED: usize = 256;
        FIXED
            + match &self.body {
                OpBody::Text { text, .. } | OpBody::Edit { text, .. } => text.len(),
                OpBody::Scheduled { text, .. } => text.len(),
                OpBody::ReactionAdd { emoji, .. } | OpBody::ReactionRemove { emoji, .. } => {
                    emoji.len()
                }
                OpBody::Profile(p) => [&p.name, &p.language, &p.time_zone]
                    .iter()
                    .map(|f| f.as_ref().map_or(0, |s| s.len()))
                    .sum(),
                OpBody::Attachment(a) => {
                    a.name.len() + a.mime.len() + a.thumbnail.as_ref().map_or(0, |t| t.jpeg.len())
                }
                OpBody::Unsupported { payload, .. } => payload.len(),
                OpBody::Day(d) => d.title.len(),
                OpBody::Mood(m) => m.note.len(),
                OpBody::CheckIn(c) => c.checkin.as_ref().map_or(0, |c| c.zone.len()),
                OpBody::BoundaryProposal(b) => {
                    b.reach.iter().map(|(_, r)| r.len() + 40).sum::<usize>()
                        + b.quiet.len() * 40
                        + b.care.as_ref().map_or(0, String::len)
                        + b.media.as_ref().map_or(0, String::len)
                }
                OpBody::Delete { .. }
                | OpBody::ReadMarker { .. }
                | OpBody::Opened { .. }
                | OpBody::FileReady { .. }
                | OpBody::Erased(_)
                | OpBody::Uncouple { .. }
                | OpBody::BoundaryAccept { .. }
                | OpBody::Urgent { .. } => 0,
            }
    }

    /// Where the op sits in the timeline.
    pub fn pos(&self) -> TimelinePos {
        TimelinePos {
            lamport: self.lamport,
            author: self.id.author,
            seq: self.id.seq,
        }
    }
}

/// What an op does.
///
/// New kinds (attachments, boundaries, games, lists) are added with a new [`OpKind`]
/// number. A build that does not know a kind keeps the op as [`OpBody::Unsupported`],
/// so it still syncs and acknowledges it: the log never gets a hole because one
/// partner updated first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpBody {
    /// A text message, perhaps answering an earlier one.
    Text {
        /// The message.
        text: String,
        /// The message this one replies to.
        reply_to: Option<OpId>,
    },
    /// The author replaces the text of one of their own messages.
    Edit {
        /// The message being edited.
        target: OpId,
        /// Its new text.
        text: String,
    },
    /// The author deletes one of their own messages, on both devices.
    Delete {
        /// The message being deleted.
        target: OpId,
    },
    /// A reaction on any message.
    ReactionAdd {
        /// The message reacted to.
        target: OpId,
        /// The emoji.
        emoji: String,
    },
    /// Takes a reaction back.
    ReactionRemove {
        /// The message reacted to.
        target: OpId,
        /// The emoji taken back.
        emoji: String,
    },
    /// The author has read the other partner's log up to and including `up_to`.
    ReadMarker {
        /// The last message of the other partner's that was read.
        up_to: OpId,
    },
    /// The author changed their profile.
    Profile(ProfileChange),
    /// A file (photo, video, voice note, anything) shared as a message. The op
    /// carries what the partner needs to show it at once; the bytes follow on the
    /// file protocol, checked against `chunks_root` chunk by chunk.
    Attachment(Attachment),
    /// The author opened the partner's view-once or expiring attachment `target`.
    /// A view-once file is deleted on both devices once this op exists; an expiring
    /// one when its time after this op's wall time has passed.
    Opened {
        /// The attachment message that was opened.
        target: OpId,
    },
    /// The author's attachment `target`, written before its file was read (so the
    /// message reaches the partner at once), is now sealed on the author's device:
    /// these are the hashes its bytes are checked against.
    FileReady {
        /// The attachment message.
        target: OpId,
        /// BLAKE3 of the whole file.
        hash: [u8; 32],
        /// BLAKE3 of the chunk hashes (see [`Attachment::chunks_root`]).
        chunks_root: [u8; 32],
    },
    /// What is left of a message, an edit or a file's hashes once the message was
    /// deleted (or its view-once or expiring file is gone): enough for sync and the
    /// timeline, nothing of what it said or showed. Written in place of the op.
    Erased(Erased),
    /// The author ended the pairing. Both devices carry it out when it reaches
    /// them: nothing more is written under this pairing, and with `delete_history`
    /// each deletes everything shared under it.
    Uncouple {
        /// Both devices delete the shared history too.
        delete_history: bool,
    },
    /// Sets or removes one of the couple's days (together since, the next meeting,
    /// an anniversary): see [`crate::Days`].
    Day(DayChange),
    /// How its author feels today: a row of the timeline, see [`crate::Moods`].
    Mood(MoodShare),
    /// Proposes a change to the couple's boundaries: see [`crate::Boundaries`].
    BoundaryProposal(BoundaryProposal),
    /// Accepts the partner's proposal.
    BoundaryAccept {
        /// The proposal.
        proposal: OpId,
    },
    /// Marks one of its author's messages as urgent: it rings through the
    /// partner's quiet hours.
    Urgent {
        /// The message.
        target: OpId,
    },
    /// Adds, changes or removes a recurring check-in: see [`crate::CheckIns`].
    CheckIn(CheckInChange),
    /// A text written now and shown at a later time: the partner's device holds it
    /// from when it arrives, and reveals it (and notifies) at `reveal_at_ms`.
    Scheduled {
        /// The text.
        text: String,
        /// The message it answers.
        reply_to: Option<OpId>,
        /// When it shows, ms since the Unix epoch.
        reveal_at_ms: i64,
    },
    /// An op of a kind this build does not know, kept as it came.
    Unsupported {
        /// Its kind number.
        kind: u16,
        /// Its encoded payload.
        payload: Vec<u8>,
    },
}

/// The tombstone of an erased op: its kind, and for an attachment whether it was
/// view-once or expiring (so the timeline can say "opened, gone for good").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// The kind number of the op it replaces.
    pub kind: u16,
    /// An attachment that was view-once.
    pub view_once: bool,
    /// An attachment that expired after opening.
    pub expires_after_open_secs: Option<u64>,
}

/// A change to the author's profile; absent fields stay as they were.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChange {
    /// Display name.
    pub name: Option<String>,
    /// Preferred UI language, as a BCP 47 tag (`en`, `sq`).
    pub language: Option<String>,
    /// IANA time zone name (`Europe/Tirane`).
    pub time_zone: Option<String>,
}

/// A file shared in the chat: metadata, a thumbnail, and the hashes that make its
/// bytes verifiable. The file itself never travels inside an op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the sender had it, without any directory.
    pub name: String,
    /// Media type, guessed by the sender (`image/jpeg`, `video/mp4`).
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file.
    pub hash: [u8; 32],
    /// The file is cut into chunks of this many bytes (the last may be shorter).
    pub chunk_size: u32,
    /// BLAKE3 of the concatenated BLAKE3 hashes of the chunks, in order: fixes every
    /// chunk's hash, so each chunk is verified as it arrives.
    pub chunks_root: [u8; 32],
    /// A small JPEG preview, made at send time; never for view-once or expiring media.
    pub thumbnail: Option<Thumbnail>,
    /// Delete on both devices once the partner has opened it.
    pub view_once: bool,
    /// Delete on both devices this many seconds after the partner first opened it.
    pub expires_after_open_secs: Option<u64>,
}

impl Attachment {
    /// Whether the partner sees a veiled placeholder until opening it: view-once and
    /// expiring media. Such files are never shown in Memories nor exported.
    pub fn is_ephemeral(&self) -> bool {
        self.view_once || self.expires_after_open_secs.is_some()
    }

    /// Whether the op was written before the file was read: its hashes come in a
    /// later [`OpBody::FileReady`] by the same author.
    pub fn is_pending(&self) -> bool {
        self.hash == [0; 32] && self.chunks_root == [0; 32]
    }

    /// How many chunks the file is cut into.
    pub fn chunk_count(&self) -> u64 {
        self.size.div_ceil(u64::from(self.chunk_size.max(1)))
    }
}

/// A preview image carried inside an attachment op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The image, JPEG-encoded.
    pub jpeg: Vec<u8>,
}

/// Which of [`limits`] an op body breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// A text or edit over [`limits::MAX_TEXT_BYTES`].
    TextTooLong,
    /// A text or edit of only whitespace.
    TextEmpty,
    /// A reaction that is not one short emoji.
    NotAnEmoji,
    /// A profile field over [`limits::MAX_PROFILE_FIELD_BYTES`].
    ProfileFieldTooLong,
    /// An unknown op's payload over [`limits::MAX_UNSUPPORTED_PAYLOAD_BYTES`].
    PayloadTooLong,
    /// A file name that is empty, too long, or holds a path.
    BadFileName,
    /// A media type over [`limits::MAX_MIME_BYTES`].
    MimeTooLong,
    /// A file over 4 GiB.
    FileTooLarge,
    /// A chunk size outside [`limits::CHUNK_BYTES_RANGE`].
    BadChunkSize,
    /// More than [`limits::MAX_CHUNKS`] chunks.
    TooManyChunks,
    /// A thumbnail over [`limits::MAX_THUMBNAIL_BYTES`].
    ThumbnailTooLarge,
    /// A thumbnail on view-once or expiring media.
    ThumbnailOnEphemeral,
    /// A day's title over [`limits::MAX_DAY_TITLE_BYTES`].
    DayTitleTooLong,
    /// A day that is not a date of the calendar.
    BadDate,
    /// A mood's note over [`limits::MAX_MOOD_NOTE_BYTES`].
    MoodNoteTooLong,
    /// Boundaries that change nothing, name more than two people, hold quiet
    /// hours that are no times, or text over [`limits::MAX_BOUNDARY_TEXT_BYTES`].
    BadBoundaries,
    /// A check-in on no day, at no time of the day, or in no time zone.
    BadCheckIn,
}

impl BodyError {
    /// The rule broken, in English, for logs and errors.
    pub fn reason(self) -> &'static str {
        match self {
            BodyError::TextTooLong => "text too long",
            BodyError::TextEmpty => "text is empty",
            BodyError::NotAnEmoji => "reaction must be one emoji",
            BodyError::ProfileFieldTooLong => "profile field too long",
            BodyError::PayloadTooLong => "payload too long",
            BodyError::BadFileName => "file name is empty, too long, or holds a path",
            BodyError::MimeTooLong => "media type too long",
            BodyError::FileTooLarge => "file larger than 4 GiB",
            BodyError::BadChunkSize => "chunk size out of range",
            BodyError::TooManyChunks => "file cut into too many chunks",
            BodyError::ThumbnailTooLarge => "thumbnail too large",
            BodyError::ThumbnailOnEphemeral => "view-once and expiring media carry no thumbnail",
            BodyError::DayTitleTooLong => "day title too long",
            BodyError::BadDate => "not a date of the calendar",
            BodyError::MoodNoteTooLong => "mood note too long",
            BodyError::BadBoundaries => "boundaries empty, malformed or too long",
            BodyError::BadCheckIn => "check-in on no day, at no time, or in no time zone",
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl Thumbnail {
    /// Whether it is what a Hearth sender makes: a JPEG, each side 1 to
    /// [`limits::MAX_THUMBNAIL_SIDE`] pixels as declared. Not part of
    /// [`OpBody::validate`]: ops stored before the rule must still decode. Whoever
    /// shows a thumbnail checks this, and that the decoded picture has the declared
    /// size.
    pub fn is_plausible(&self) -> bool {
        let side = 1..=limits::MAX_THUMBNAIL_SIDE;
        side.contains(&self.width)
            && side.contains(&self.height)
            && self.jpeg.starts_with(&[0xFF, 0xD8, 0xFF])
            && self.jpeg.len() <= limits::MAX_THUMBNAIL_BYTES
    }
}

/// The stable kind numbers of op bodies on the wire and on disk. Never reuse a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum OpKind {
    /// [`OpBody::Text`]
    Text = 1,
    /// [`OpBody::Edit`]
    Edit = 2,
    /// [`OpBody::Delete`]
    Delete = 3,
    /// [`OpBody::ReactionAdd`]
    ReactionAdd = 4,
    /// [`OpBody::ReactionRemove`]
    ReactionRemove = 5,
    /// [`OpBody::ReadMarker`]
    ReadMarker = 6,
    /// [`OpBody::Profile`]
    Profile = 7,
    /// [`OpBody::Attachment`]
    Attachment = 8,
    /// [`OpBody::Opened`]
    Opened = 9,
    /// [`OpBody::FileReady`]
    FileReady = 10,
    /// [`OpBody::Erased`]
    Erased = 11,
    /// [`OpBody::Uncouple`]
    Uncouple = 12,
    /// [`OpBody::Day`]
    Day = 13,
    /// [`OpBody::Mood`]
    Mood = 14,
    /// [`OpBody::BoundaryProposal`]
    BoundaryProposal = 15,
    /// [`OpBody::BoundaryAccept`]
    BoundaryAccept = 16,
    /// [`OpBody::Urgent`]
    Urgent = 17,
    /// [`OpBody::CheckIn`]
    CheckIn = 18,
    /// [`OpBody::Scheduled`]
    Scheduled = 19,
}

impl OpBody {
    /// Whether this op is a row in the timeline (a message), rather than something
    /// that changes a row or the couple's state.
    pub fn is_message(&self) -> bool {
        match self {
            OpBody::Text { .. }
            | OpBody::Attachment(_)
            | OpBody::Mood(_)
            | OpBody::Scheduled { .. } => true,
            OpBody::Erased(e) => {
                e.kind == OpKind::Text as u16
                    || e.kind == OpKind::Attachment as u16
                    || e.kind == OpKind::Mood as u16
                    || e.kind == OpKind::Scheduled as u16
            }
            _ => false,
        }
    }

    /// What is left of this op once erased: its tombstone. `None` for ops that hold
    /// nothing to erase (reactions, markers, deletes) or are tombstones already.
    pub fn erased(&self) -> Option<OpBody> {
        let (view_once, expires_after_open_secs) = match self {
            OpBody::Attachment(a) => (a.view_once, a.expires_after_open_secs),
            OpBody::Text { .. }
            | OpBody::Edit { .. }
            | OpBody::FileReady { .. }
            | OpBody::Mood(_)
            | OpBody::Scheduled { .. } => (false, None),
            _ => return None,
        };
        Some(OpBody::Erased(Erased {
            kind: self.kind(),
            view_once,
            expires_after_open_secs,
        }))
    }

    /// The message this op changes, if it changes one.
    pub fn target(&self) -> Option<OpId> {
        match self {
            OpBody::Edit { target, .. }
            | OpBody::Delete { target }
            | OpBody::ReactionAdd { target, .. }
            | OpBody::ReactionRemove { target, .. }
            | OpBody::Opened { target }
            | OpBody::FileReady { target, .. } => Some(*target),
            _ => None,
        }
    }

    /// Checks the body against [`limits`]. Called for every op made locally and for
    /// every op decoded from a peer or the disk.
    pub fn validate(&self) -> Result<(), BodyError> {
        use limits::*;
        let field = |f: &Option<String>| {
            f.as_ref()
                .is_none_or(|s| s.len() <= MAX_PROFILE_FIELD_BYTES)
        };
        match self {
            OpBody::Text { text, .. }
            | OpBody::Edit { text, .. }
            | OpBody::Scheduled { text, .. } => {
                if text.len() > MAX_TEXT_BYTES {
                    return Err(BodyError::TextTooLong);
                }
                if text.trim().is_empty() {
                    return Err(BodyError::TextEmpty);
                }
            }
            OpBody::ReactionAdd { emoji, .. } | OpBody::ReactionRemove { emoji, .. } => {
                if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
                    return Err(BodyError::NotAnEmoji);
                }
            }
            OpBody::Profile(p) => {
                if !(field(&p.name) && field(&p.language) && field(&p.time_zone)) {
                    return Err(BodyError::ProfileFieldTooLong);
                }
            }
            OpBody::Unsupported { payload, .. } => {
                if payload.len() > MAX_UNSUPPORTED_PAYLOAD_BYTES {
                    return Err(BodyError::PayloadTooLong);
                }
            }
            OpBody::Attachment(a) => {
                if a.name.is_empty()
                    || a.name.len() > MAX_FILE_NAME_BYTES
                    || a.name.contains(['/', '\\', '\0'])
                {
                    return Err(BodyError::BadFileName);
                }
                if a.mime.len() > MAX_MIME_BYTES {
                    return Err(BodyError::MimeTooLong);
                }
                if a.size > MAX_FILE_BYTES {
                    return Err(BodyError::FileTooLarge);
                }
                if !CHUNK_BYTES_RANGE.contains(&a.chunk_size) {
                    return Err(BodyError::BadChunkSize);
                }
                if a.chunk_count() > MAX_CHUNKS {
                    return Err(BodyError::TooManyChunks);
                }
                if let Some(t) = &a.thumbnail {
                    if t.jpeg.len() > MAX_THUMBNAIL_BYTES {
                        return Err(BodyError::ThumbnailTooLarge);
                    }
                    if a.is_ephemeral() {
                        return Err(BodyError::ThumbnailOnEphemeral);
                    }
                }
            }
            OpBody::Day(d) => {
                if d.title.len() > MAX_DAY_TITLE_BYTES {
                    return Err(BodyError::DayTitleTooLong);
                }
                if d.date.is_some_and(|date| !date.is_valid()) {
                    return Err(BodyError::BadDate);
                }
            }
            OpBody::BoundaryProposal(b) => {
                let text_ok = |t: &str| t.len() <= MAX_BOUNDARY_TEXT_BYTES;
                if b.is_empty()
                    || b.quiet.len() > 2
                    || b.reach.len() > 2
                    || b.quiet
                        .iter()
                        .any(|(_, q)| q.is_some_and(|q| !q.is_valid()))
                    || !b.reach.iter().all(|(_, r)| text_ok(r))
                    || !b.care.as_deref().is_none_or(text_ok)
                    || !b.media.as_deref().is_none_or(text_ok)
                {
                    return Err(BodyError::BadBoundaries);
                }
            }
            OpBody::CheckIn(c) => {
                if c.checkin.as_ref().is_some_and(|c| !c.is_valid()) {
                    return Err(BodyError::BadCheckIn);
                }
            }
            OpBody::Mood(m) => {
                if m.note.len() > MAX_MOOD_NOTE_BYTES {
                    return Err(BodyError::MoodNoteTooLong);
                }
                if !m.day.is_valid() {
                    return Err(BodyError::BadDate);
                }
            }
            OpBody::Delete { .. }
            | OpBody::ReadMarker { .. }
            | OpBody::Opened { .. }
            | OpBody::FileReady { .. }
            | OpBody::Erased(_)
            | OpBody::Uncouple { .. }
            | OpBody::BoundaryAccept { .. }
            | OpBody::Urgent { .. } => {}
        }
        Ok(())
    }

    fn kind(&self) -> u16 {
        let kind = match self {
            OpBody::Text { .. } => OpKind::Text,
            OpBody::Edit { .. } => OpKind::Edit,
            OpBody::Delete { .. } => OpKind::Delete,
            OpBody::ReactionAdd { .. } => OpKind::ReactionAdd,
            OpBody::ReactionRemove { .. } => OpKind::ReactionRemove,
            OpBody::ReadMarker { .. } => OpKind::ReadMarker,
            OpBody::Profile(_) => OpKind::Profile,
            OpBody::Attachment(_) => OpKind::Attachment,
            OpBody::Opened { .. } => OpKind::Opened,
            OpBody::FileReady { .. } => OpKind::FileReady,
            OpBody::Erased(_) => OpKind::Erased,
            OpBody::Uncouple { .. } => OpKind::Uncouple,
            OpBody::Day(_) => OpKind::Day,
            OpBody::Mood(_) => OpKind::Mood,
            OpBody::BoundaryProposal(_) => OpKind::BoundaryProposal,
            OpBody::BoundaryAccept { .. } => OpKind::BoundaryAccept,
            OpBody::Urgent { .. } => OpKind::Urgent,
            OpBody::CheckIn(_) => OpKind::CheckIn,
            OpBody::Scheduled { .. } => OpKind::Scheduled,
            OpBody::Unsupported { kind, .. } => return *kind,
        };
        kind as u16
    }

    fn payload(&self) -> Vec<u8> {
        let encoded = match self {
            OpBody::Text { text, reply_to } => postcard::to_allocvec(&(text, reply_to)),
            OpBody::Edit { target, text } => postcard::to_allocvec(&(target, text)),
            OpBody::Delete { target } => postcard::to_allocvec(target),
            OpBody::ReactionAdd { target, emoji } | OpBody::ReactionRemove { target, emoji } => {
                postcard::to_allocvec(&(target, emoji))
            }
            OpBody::ReadMarker { up_to } => postcard::to_allocvec(up_to),
            OpBody::Profile(p) => postcard::to_allocvec(p),
            OpBody::Attachment(a) => postcard::to_allocvec(a),
            OpBody::Opened { target } => postcard::to_allocvec(target),
            OpBody::FileReady {
                target,
                hash,
                chunks_root,
            } => postcard::to_allocvec(&(target, hash, chunks_root)),
            OpBody::Erased(e) => postcard::to_allocvec(e),
            OpBody::Uncouple { delete_history } => postcard::to_allocvec(delete_history),
            OpBody::Day(d) => postcard::to_allocvec(d),
            OpBody::Mood(m) => postcard::to_allocvec(m),
            OpBody::BoundaryProposal(b) => postcard::to_allocvec(b),
            OpBody::BoundaryAccept { proposal } => postcard::to_allocvec(proposal),
            OpBody::Urgent { target } => postcard::to_allocvec(target),
            OpBody::CheckIn(c) => postcard::to_allocvec(c),
            OpBody::Scheduled {
                text,
                reply_to,
                reveal_at_ms,
            } => postcard::to_allocvec(&(text, reply_to, reveal_at_ms)),
            OpBody::Unsupported { payload, .. } => return payload.clone(),
        };
        // Serialising plain structs into a Vec cannot fail.
        encoded.unwrap_or_default()
    }

    fn from_parts(kind: u16, payload: Vec<u8>) -> Result<OpBody, postcard::Error> {
        fn exact<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, postcard::Error> {
            let (value, rest) = postcard::take_from_bytes(bytes)?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(postcard::Error::DeserializeBadEncoding)
            }
        }
        let p = payload.as_slice();
        Ok(match kind {
            1 => {
                let (text, reply_to) = exact(p)?;
                OpBody::Text { text, reply_to }
            }
            2 => {
                let (target, text) = exact(p)?;
                OpBody::Edit { target, text }
            }
            3 => OpBody::Delete { target: exact(p)? },
            4 => {
                let (target, emoji) = exact(p)?;
                OpBody::ReactionAdd { target, emoji }
            }
            5 => {
                let (target, emoji) = exact(p)?;
                OpBody::ReactionRemove { target, emoji }
            }
            6 => OpBody::ReadMarker { up_to: exact(p)? },
            7 => OpBody::Profile(exact(p)?),
            8 => OpBody::Attachment(exact(p)?),
            9 => OpBody::Opened { target: exact(p)? },
            10 => {
                let (target, hash, chunks_root) = exact(p)?;
                OpBody::FileReady {
                    target,
                    hash,
                    chunks_root,
                }
            }
            11 => OpBody::Erased(exact(p)?),
            12 => OpBody::Uncouple {
                delete_history: exact(p)?,
            },
            13 => OpBody::Day(exact(p)?),
            14 => OpBody::Mood(exact(p)?),
            15 => OpBody::BoundaryProposal(exact(p)?),
            16 => OpBody::BoundaryAccept {
                proposal: exact(p)?,
            },
            17 => OpBody::Urgent { target: exact(p)? },
            18 => OpBody::CheckIn(exact(p)?),
            19 => {
                let (text, reply_to, reveal_at_ms) = exact(p)?;
                OpBody::Scheduled {
                    text,
                    reply_to,
                    reveal_at_ms,
                }
            }
            _ => OpBody::Unsupported { kind, payload },
        })
    }
}

/// How an op is laid out in bytes: the header, the body's kind number, and the body's
/// own encoding. Keeping the body opaque at this level is what lets an older build
/// carry ops of kinds it does not know.
#[derive(Serialize, Deserialize)]
struct RawOp {
    author: DeviceId,
    seq: u64,
    lamport: Lamport,
    wall_ms: i64,
    kind: u16,
    payload: Vec<u8>,
}

impl From<Op> for RawOp {
    fn from(op: Op) -> RawOp {
        RawOp {
            author: op.id.author,
            seq: op.id.seq,
            lamport: op.lamport,
            wall_ms: op.wall_ms,
            kind: op.body.kind(),
            payload: op.body.payload(),
        }
    }
}

impl TryFrom<RawOp> for Op {
    type Error = String;

    fn try_from(raw: RawOp) -> Result<Op, String> {
        if raw.seq == 0 {
            return Err("sequence numbers start at 1".into());
        }
        let body = OpBody::from_parts(raw.kind, raw.payload)
            .map_err(|_| format!("op kind {} does not decode", raw.kind))?;
        body.validate().map_err(|e| e.reason().to_string())?;
        Ok(Op {
            id: OpId {
                author: raw.author,
                seq: raw.seq,
            },
            lamport: raw.lamport,
            wall_ms: raw.wall_ms,
            body,
        })
    }
}
