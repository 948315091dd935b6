//! The couple's shared history as data: devices, ops, Lamport time, the order in which
//! messages are shown, how edits, deletions and reactions fold into a message, and the
//! versioned bytes every op and sync frame travels and rests as.
//!
//! This crate is pure. It knows nothing of sled, libp2p, tokio or egui; it does no I/O
//! and never reads a clock: wall times come in from the caller. Everything that decodes
//! untrusted bytes enforces a size limit and returns a typed error instead of panicking.

mod boundaries;
mod checkins;
mod days;
mod ids;
mod message_id;
mod moods;
mod op;
mod state;
mod timeline;
pub mod wire;

pub use boundaries::{
    Accepted, Agreement, Boundaries, BoundaryProposal, Proposed, QuietHours, format_minutes,
    parse_minutes,
};
pub use checkins::{CheckIn, CheckInChange, CheckInEntry, CheckIns, MAX_ZONE_BYTES};
pub use days::{CivilDate, DayChange, DayEntry, DayKey, DayKind, Days};
pub use ids::{DeviceId, Lamport, OpId, TimelinePos};
pub use message_id::{BadMessageId, MessageId};
pub use moods::{MOODS, MoodRecord, MoodShare, Moods, mood_code, mood_name};
pub use op::{Attachment, BodyError, Erased, Op, OpBody, OpKind, ProfileChange, Thumbnail, limits};
pub use state::{MessageState, Reaction, is_reaction_emoji};
pub use timeline::{Message, Timeline};
