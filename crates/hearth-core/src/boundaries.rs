//! The couple's boundaries: an agreement both edit and both accept. Each one's
//! quiet hours (in their own time zone) and preferred ways to reach them, topics
//! to handle with care, and what they agree about photos and media.
//!
//! A change is a proposal ([`OpBody::BoundaryProposal`]) of the fields it changes;
//! the other partner accepts it ([`OpBody::BoundaryAccept`]) or answers with a
//! proposal of their own. The agreement is every accepted proposal applied in the
//! order of its acceptance in the timeline, field by field: two proposals written
//! apart that change different fields both hold once accepted, and for the same
//! field the later acceptance wins. [`Boundaries`] keeps the ops and works the
//! agreement out of the set each time, so two devices that hold the same ops hold
//! the same agreement whatever order the ops came in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Op, OpBody, OpId, TimelinePos};

/// Quiet hours, in their owner's own time zone: from `start` to `end` minutes after
/// midnight, across midnight when `end` is earlier than `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Minutes after midnight when they begin, below 1440.
    pub start: u16,
    /// Minutes after midnight when they end, below 1440, not `start`.
    pub end: u16,
}

impl QuietHours {
    /// Quiet hours from `HH:MM` to `HH:MM`.
    pub fn parse(start: &str, end: &str) -> Option<QuietHours> {
        let hours = QuietHours {
            start: parse_minutes(start)?,
            end: parse_minutes(end)?,
        };
        hours.is_valid().then_some(hours)
    }

    /// Both ends within a day, and not the same minute.
    pub fn is_valid(&self) -> bool {
        self.start < 1440 && self.end < 1440 && self.start != self.end
    }

    /// Whether `minute` (after midnight) falls in them.
    pub fn contains(&self, minute: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// `HH:MM` as minutes after midnight.
pub fn parse_minutes(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Minutes after midnight as `HH:MM`.
pub fn format_minutes(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A proposed change to the agreement: only the fields it names change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryProposal {
    /// Whose quiet hours, and what they become (`None`: none).
    pub quiet: Vec<(DeviceId, Option<QuietHours>)>,
    /// Whose preferred ways to reach them, and what they become.
    pub reach: Vec<(DeviceId, String)>,
    /// Topics to handle with care.
    pub care: Option<String>,
    /// What they agree about photos and media.
    pub media: Option<String>,
    /// Photos and files are sent view-once unless the sender chooses otherwise.
    pub view_once: Option<bool>,
}

impl BoundaryProposal {
    /// The fields it changes: whose quiet hours and ways to reach (`Some`), and
    /// the shared ones.
    fn fields(&self) -> Vec<(u8, Option<DeviceId>)> {
        let mut fields: Vec<(u8, Option<DeviceId>)> = Vec::new();
        fields.extend(self.quiet.iter().map(|(who, _)| (0, Some(*who))));
        fields.extend(self.reach.iter().map(|(who, _)| (1, Some(*who))));
        if self.care.is_some() {
            fields.push((2, None));
        }
        if self.media.is_some() {
            fields.push((3, None));
        }
        if self.view_once.is_some() {
            fields.push((4, None));
        }
        fields
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.quiet.is_empty()
            && self.reach.is_empty()
            && self.care.is_none()
            && self.media.is_none()
            && self.view_once.is_none()
    }
}

/// The agreement as it stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    /// Each one's quiet hours.
    pub quiet: BTreeMap<DeviceId, QuietHours>,
    /// Each one's preferred ways to reach them.
    pub reach: BTreeMap<DeviceId, String>,
    /// Topics to handle with care.
    pub care: String,
    /// About photos and media.
    pub media: String,
    /// Photos and files go view-once unless the sender chooses otherwise.
    pub view_once: bool,
}

impl Agreement {
    fn apply(&mut self, proposal: &BoundaryProposal) {
        for (who, hours) in &proposal.quiet {
            match hours {
                Some(hours) => self.quiet.insert(*who, *hours),
                None => self.quiet.remove(who),
            };
        }
        for (who, reach) in &proposal.reach {
            self.reach.insert(*who, reach.clone());
        }
        if let Some(care) = &proposal.care {
            self.care.clone_from(care);
        }
        if let Some(media) = &proposal.media {
            self.media.clone_from(media);
        }
        if let Some(view_once) = proposal.view_once {
            self.view_once = view_once;
        }
    }
}

/// A proposal, with who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposed {
    /// The op that proposed it.
    pub id: OpId,
    /// Where it sits in the timeline.
    pub pos: TimelinePos,
    /// Its author's clock, ms since the epoch.
    pub at_ms: i64,
    /// What it changes.
    pub proposal: BoundaryProposal,
}

/// An accepted proposal: one step of the agreement's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// The proposal.
    pub proposed: &'a Proposed,
    /// Who accepted it.
    pub by: DeviceId,
    /// Their clock when they did, ms since the epoch.
    pub at_ms: i64,
}

/// Every boundary op of both logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundaries {
    proposals: BTreeMap<OpId, Proposed>,
    /// Acceptances: where each sits, who accepted what, when.
    accepts: BTreeMap<TimelinePos, (OpId, i64)>,
}

impl Boundaries {
    /// The most proposals kept: years of changes, small enough to keep as a
    /// setting (each is at most a few KiB).
    pub const KEPT: usize = 100;
    /// The most acceptances kept.
    pub const ACCEPTS_KEPT: usize = 2000;

    /// Folds one op in. Returns whether anything changed.
    pub fn apply(&mut self, op: &Op) -> bool {
        match &op.body {
            OpBody::BoundaryProposal(proposal) => {
                if self.proposals.len() >= Self::KEPT || self.proposals.contains_key(&op.id) {
                    return false;
                }
                self.proposals.insert(
                    op.id,
                    Proposed {
                        id: op.id,
                        pos: op.pos(),
                        at_ms: op.wall_ms,
                        proposal: proposal.clone(),
                    },
                );
                true
            }
            OpBody::BoundaryAccept { proposal } => {
                if self.accepts.len() >= Self::ACCEPTS_KEPT || self.accepts.contains_key(&op.pos())
                {
                    return false;
                }
                self.accepts.insert(op.pos(), (*proposal, op.wall_ms));
                true
            }
            _ => false,
        }
    }

    /// The acceptances that count, in timeline order: of a proposal this set
    /// holds, by someone other than its author, written after it, the first of
    /// each proposal (accepting an old one again does not bring it back).
    pub fn history(&self) -> Vec<Accepted<'_>> {
        let mut accepted = std::collections::BTreeSet::new();
        self.accepts
            .iter()
            .filter_map(|(pos, (target, at_ms))| {
                let proposed = self.proposals.get(target)?;
                (target.author != pos.author && proposed.pos < *pos && accepted.insert(*target))
                    .then_some(Accepted {
                        proposed,
                        by: pos.author,
                        at_ms: *at_ms,
                    })
            })
            .collect()
    }

    /// The agreement: every accepted proposal applied in the order accepted.
    pub fn agreement(&self) -> Agreement {
        let mut agreement = Agreement::default();
        for accepted in self.history() {
            agreement.apply(&accepted.proposed.proposal);
        }
        agreement
    }

    /// Proposals waiting for an answer: each author's latest, if it was not
    /// accepted and the other has not answered it since with a proposal of their
    /// own about one of its fields.
    pub fn pending(&self) -> Vec<&Proposed> {
        let history = self.history();
        let mut latest: BTreeMap<DeviceId, &Proposed> = BTreeMap::new();
        for proposed in self.proposals.values() {
            let entry = latest.entry(proposed.id.author).or_insert(proposed);
            if proposed.pos > entry.pos {
                *entry = proposed;
            }
        }
        // Answered: the other proposed something else for one of its fields later
        // (a proposal written apart about other fields leaves it waiting).
        let answered = |p: &Proposed| {
            let fields = p.proposal.fields();
            self.proposals.values().any(|other| {
                other.id.author != p.id.author
                    && other.pos > p.pos
                    && other.proposal.fields().iter().any(|f| fields.contains(f))
            })
        };
        let mut pending: Vec<&Proposed> = latest
            .into_values()
            .filter(|p| !history.iter().any(|a| a.proposed.id == p.id) && !answered(p))
            .collect();
        pending.sort_by_key(|p| p.pos);
        pending
    }

    /// A proposal by its op.
    pub fn proposal(&self, id: OpId) -> Option<&Proposed> {
        self.proposals.get(&id)
    }

    /// Forgets everything (the shared history was deleted).
    pub fn clear(&mut self) {
        self.proposals.clear();
        self.accepts.clear();
    }
}
