use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, Lamport, OpId};
use crate::op::{Op, OpBody, limits};

/// Everything that later ops did to one message: its latest edit, whether it was
/// deleted, and its reactions.
///
/// [`MessageState::apply`] is commutative and idempotent, so the state is the same
/// whatever order the two devices learn of the ops in, and however often.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageState {
    /// The latest edit by the message's author, with the edit's order key.
    edit: Option<((Lamport, DeviceId, u64), String)>,
    /// Set once the author deletes the message; a delete is never undone.
    deleted: bool,
    /// Per (reactor, emoji): whether it is present now, decided by the latest add or
    /// remove in Lamport order. At most [`limits::REACTION_ENTRIES_PER_PERSON`] per
    /// reactor: those with the newest add or remove. Keeping the newest is the same
    /// whatever order the ops come in, so the fold stays commutative. Of those
    /// present, the newest [`limits::MAX_REACTIONS_PER_PERSON`] are shown.
    reactions: BTreeMap<(DeviceId, String), ((Lamport, u64), bool)>,
    /// For attachments: the earliest wall time at which the partner (anyone but the
    /// author) opened it. The earliest, so the fold does not depend on order.
    opened_at_ms: Option<i64>,
}

/// One reaction shown on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// Who reacted.
    pub by: DeviceId,
    /// With what.
    pub emoji: String,
}

impl MessageState {
    /// Folds `op` into the state of the message `target`. Ops that do not change
    /// `target`, and edits or deletes by anyone but the message's author, change
    /// nothing.
    pub fn apply(&mut self, target: OpId, op: &Op) {
        if op.body.target() != Some(target) {
            return;
        }
        let order = (op.lamport, op.id.author, op.id.seq);
        match &op.body {
            OpBody::Edit { text, .. }
                if op.id.author == target.author
                    && self.edit.as_ref().is_none_or(|(seen, _)| *seen < order) =>
            {
                self.edit = Some((order, text.clone()));
            }
            OpBody::Delete { .. } if op.id.author == target.author => {
                self.deleted = true;
                self.edit = None;
            }
            OpBody::Opened { .. } if op.id.author != target.author => {
                let at = op.wall_ms;
                self.opened_at_ms = Some(self.opened_at_ms.map_or(at, |seen| seen.min(at)));
            }
            OpBody::ReactionAdd { emoji, .. } | OpBody::ReactionRemove { emoji, .. }
                if is_reaction_emoji(emoji) =>
            {
                let present = matches!(op.body, OpBody::ReactionAdd { .. });
                let slot = self
                    .reactions
                    .entry((op.id.author, emoji.clone()))
                    .or_insert(((Lamport(0), 0), !present));
                if slot.0 < (op.lamport, op.id.seq) {
                    *slot = ((op.lamport, op.id.seq), present);
                }
                self.keep_newest_reactions_of(op.id.author);
            }
            _ => {}
        }
        if self.deleted {
            self.edit = None;
        }
    }

    /// Drops `reactor`'s reactions, present or removed, beyond the newest few.
    fn keep_newest_reactions_of(&mut self, reactor: DeviceId) {
        loop {
            let mine = self.reactions.iter().filter(|((by, _), _)| *by == reactor);
            if mine.clone().count() <= limits::REACTION_ENTRIES_PER_PERSON {
                return;
            }
            let oldest = mine
                .min_by(|(a_key, (a_order, _)), (b_key, (b_order, _))| {
                    a_order.cmp(b_order).then_with(|| a_key.cmp(b_key))
                })
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => self.reactions.remove(&key),
                None => return,
            };
        }
    }

    /// The edited text, if the message was edited (and not deleted).
    pub fn edited_text(&self) -> Option<&str> {
        self.edit.as_ref().map(|(_, text)| text.as_str())
    }

    /// Whether the author deleted the message.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// When the partner first opened this attachment, by their clock.
    pub fn opened_at_ms(&self) -> Option<i64> {
        self.opened_at_ms
    }

    /// The reactions present now, each person's newest few, in a stable order.
    pub fn reactions(&self) -> Vec<Reaction> {
        if self.deleted {
            return Vec::new();
        }
        let present: Vec<_> = self
            .reactions
            .iter()
            .filter(|(_, (_, present))| *present)
            .collect();
        present
            .iter()
            .filter(|((by, _), (order, _))| {
                let newer = present
                    .iter()
                    .filter(|((other, _), (other_order, _))| other == by && other_order > order)
                    .count();
                newer < limits::MAX_REACTIONS_PER_PERSON
            })
            .map(|((by, emoji), _)| Reaction {
                by: *by,
                emoji: emoji.clone(),
            })
            .collect()
    }
}

/// Whether `text` is one emoji, as a reaction must be: a single grapheme (a flag, a
/// family or a skin tone joined into one is one) whose first character is an emoji,
/// within [`crate::limits::MAX_EMOJI_BYTES`], with no control or space in it.
pub fn is_reaction_emoji(text: &str) -> bool {
    use unicode_segmentation::UnicodeSegmentation;
    if text.is_empty() || text.len() > crate::limits::MAX_EMOJI_BYTES {
        return false;
    }
    if text.graphemes(true).count() != 1
        || text.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return false;
    }
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let code = u32::from(first);
    let keycap = matches!(first, '0'..='9' | '#' | '*') && text.ends_with('\u{20E3}');
    keycap
        || matches!(code,
            0x1F000..=0x1FAFF // pictographs, emoticons, transport, flags' letters, …
            | 0x2600..=0x27BF // symbols and dingbats (☀, ❤, ✔)
            | 0x2300..=0x23FF // technical (⌚, ⏰)
            | 0x2B00..=0x2BFF // arrows and shapes (⭐, ⬛)
            | 0x2190..=0x21FF // arrows
            | 0x3030 | 0x303D | 0x3297 | 0x3299
            | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
            | 0x24C2 | 0x25AA..=0x25FE | 0x2934 | 0x2935)
}
