//! The couple's boundaries, and the quiet hours they enforce.
//!
//! Owns every boundary op of both logs ([`hearth_core::Boundaries`], kept in the
//! `boundaries` setting) and the count of the partner's messages held for this
//! user's quiet hours (`quiet-held`). Proposals and acceptances are ops: written
//! apart, merged on reconnect, the same agreement on both devices.
//!
//! Enforced where the app can: a partner's message that arrives in this user's
//! agreed quiet hours (in their own time zone) is held, not notified, and counted;
//! when quiet hours end one summary says how many came. A message its author marked
//! urgent ([`OpBody::Urgent`]) rings through. Writing while the partner is in their
//! quiet hours says so once a period ([`NodeEvent::PartnerQuiet`]). What cannot be
//! enforced (a screenshot, a copy) the UI says plainly.

use hearth_core::{
    Boundaries, BoundaryProposal, DeviceId, MessageId, Op, OpBody, Proposed, QuietHours,
    format_minutes,
};

use super::Engine;
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_BOUNDARIES: &str = "boundaries";
pub(super) const SETTING_HELD: &str = "quiet-held";

/// How many of my messages waiting unread while the partner sleeps make a
/// gentle word not to bombard them.
pub(crate) const MANY_WAITING: u32 = 5;
/// The most messages held for quiet hours; past it, the summary says this many.
const MAX_HELD: usize = 10_000;
/// The most unread messages counted.
const UNREAD_COUNTED: usize = 500;

/// How many accepted proposals the view's history shows, the newest.
const HISTORY_SHOWN: usize = 50;

/// What a handle can ask of the boundaries room.
pub(crate) enum BoundariesCommand {
    Get(Reply<BoundariesView>),
    Propose {
        change: BoundaryChange,
        reply: Reply<BoundariesView>,
    },
    Accept {
        id: MessageId,
        reply: Reply<BoundariesView>,
    },
    /// Marks one of my messages urgent.
    Urgent {
        id: MessageId,
        reply: Reply<()>,
    },
}

#[derive(Default)]
pub(super) struct BoundariesRoom {
    pub(super) boundaries: Boundaries,
    /// The partner's messages held for my quiet hours, not yet summarised.
    held: std::collections::BTreeSet<hearth_core::OpId>,
    /// The partner's quiet period I was last told of (its end, on their calendar).
    told: Option<String>,
    /// The partner's night I was last told many of mine wait in.
    told_many: Option<String>,
}

impl BoundariesRoom {
    pub(super) fn load(store: &hearth_store::Store) -> BoundariesRoom {
        BoundariesRoom {
            boundaries: super::setting_or_default(store, SETTING_BOUNDARIES),
            held: super::setting_or_default(store, SETTING_HELD),
            told: None,
            told_many: None,
        }
    }
}

/// When `hours` end (`HH:MM`) and on which date there, if `now` is in them in `zone`.
fn in_quiet(hours: QuietHours, zone: &str, now: jiff::Timestamp) -> Option<(String, String)> {
    let zone = jiff::tz::TimeZone::get(zone).ok()?;
    let here = now.to_zoned(zone);
    let minute = u16::try_from(here.hour()).ok()? * 60 + u16::try_from(here.minute()).ok()?;
    if !hours.contains(minute) {
        return None;
    }
    let ends_on = if minute < hours.end {
        here.date()
    } else {
        here.date().tomorrow().ok()?
    };
    let until = format_minutes(hours.end);
    Some((until.clone(), format!("{ends_on} {until}")))
}

fn quiet_view(hours: &QuietHours) -> QuietView {
    QuietView {
        start: format_minutes(hours.start),
        end: format_minutes(hours.end),
    }
}

fn bounded(text: &str) -> Result<String, NodeError> {
    let text = text.trim().to_string();
    if text.len() > hearth_core::limits::MAX_BOUNDARY_TEXT_BYTES {
        return Err(Refusal::BoundaryTextTooLong.into());
    }
    Ok(text)
}

impl Engine {
    pub(super) async fn on_boundaries_command(&mut self, command: BoundariesCommand) {
        match command {
            BoundariesCommand::Get(reply) => {
                let _ = reply.send(Ok(self.boundaries_view()));
            }
            BoundariesCommand::Propose { change, reply } => {
                let result = self.propose_boundaries(change).await;
                let _ = reply.send(result.map(|()| self.boundaries_view()));
            }
            BoundariesCommand::Accept { id, reply } => {
                let result = self.accept_boundaries(id).await;
                let _ = reply.send(result.map(|()| self.boundaries_view()));
            }
            BoundariesCommand::Urgent { id, reply } => {
                let result = match self.find_mine(id) {
                    Ok(target) => self.write(OpBody::Urgent { target }).await.map(drop),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// Proposes what of `change` differs from the agreement.
    async fn propose_boundaries(&mut self, change: BoundaryChange) -> Result<(), NodeError> {
        self.partner_device()?;
        let agreed = self.bounds.boundaries.agreement();
        let mut proposal = BoundaryProposal::default();
        if let Some(quiet) = change.my_quiet {
            let hours = match quiet {
                Some((start, end)) => {
                    Some(QuietHours::parse(&start, &end).ok_or(Refusal::BadQuietHours)?)
                }
                None => None,
            };
            if agreed.quiet.get(&self.me).copied() != hours {
                proposal.quiet.push((self.me, hours));
            }
        }
        if let Some(reach) = change.my_reach {
            let reach = bounded(&reach)?;
            if agreed.reach.get(&self.me).map_or("", String::as_str) != reach {
                proposal.reach.push((self.me, reach));
            }
        }
        if let Some(care) = change.care {
            let care = bounded(&care)?;
            if agreed.care != care {
                proposal.care = Some(care);
            }
        }
        if let Some(media) = change.media {
            let media = bounded(&media)?;
            if agreed.media != media {
                proposal.media = Some(media);
            }
        }
        if let Some(view_once) = change.view_once
            && agreed.view_once != view_once
        {
            proposal.view_once = Some(view_once);
        }
        if proposal.is_empty() {
            return Err(Refusal::NothingToPropose.into());
        }
        self.write(OpBody::BoundaryProposal(proposal))
            .await
            .map(drop)
    }

    async fn accept_boundaries(&mut self, id: MessageId) -> Result<(), NodeError> {
        let partner = self.partner_device()?;
        let waiting = self
            .bounds
            .boundaries
            .pending()
            .iter()
            .any(|p| p.id == id.op() && p.id.author == partner);
        if !waiting {
            return Err(Refusal::NoSuchProposal.into());
        }
        self.write(OpBody::BoundaryAccept { proposal: id.op() })
            .await
            .map(drop)
    }

    /// A boundary op was written here or came from the partner.
    pub(super) async fn on_boundary_op(&mut self, op: &Op) {
        if !self.bounds.boundaries.apply(op) {
            return;
        }
        if let Err(e) = self
            .store
            .set_setting(SETTING_BOUNDARIES, &self.bounds.boundaries)
        {
            tracing::warn!(error = %e, "could not keep the boundaries");
        }
        self.emit(NodeEvent::Boundaries(self.boundaries_view()))
            .await;
    }

    /// The shared history was forgotten: the boundaries go with it.
    pub(super) fn forget_boundaries(&mut self) {
        self.bounds = BoundariesRoom::default();
    }

    /// The boundaries as agreed now.
    pub(super) fn bounds_agreement(&self) -> hearth_core::Agreement {
        self.bounds.boundaries.agreement()
    }

    fn quiet_of(&self, who: DeviceId, zone: Option<&str>) -> Option<(String, String)> {
        let hours = *self.bounds.boundaries.agreement().quiet.get(&who)?;
        in_quiet(hours, zone?, self.wall_now())
    }

    fn my_quiet_until(&self) -> Option<(String, String)> {
        self.quiet_of(self.me, self.profile.as_ref().map(|p| p.time_zone.as_str()))
    }

    fn partner_quiet_until(&self) -> Option<(String, String)> {
        let partner = self.partner.as_ref()?;
        self.quiet_of(partner.device, Some(&partner.profile.time_zone))
    }

    /// A new message, mine or the partner's, was stored: the partner's is
    /// notified or held; mine, written in the partner's quiet hours, says so.
    pub(super) async fn on_new_message(&mut self, op: &Op, view: &MessageView) {
        self.note_for_checkins(op.id.author == self.me);
        if op.id.author == self.me {
            if let Some((until, period)) = self.partner_quiet_until()
                && self.bounds.told.as_ref() != Some(&period)
            {
                self.bounds.told = Some(period);
                self.emit(NodeEvent::PartnerQuiet { until }).await;
            }
            if let Some(night) = self.partner_night() {
                let count = self.unread_by(self.me);
                if count >= MANY_WAITING && self.bounds.told_many.as_ref() != Some(&night) {
                    self.bounds.told_many = Some(night);
                    self.emit(NodeEvent::ManyWaiting { count }).await;
                }
            }
            return;
        }
        let unread = self.unread_by(op.id.author);
        let held = self.my_quiet_until().is_some();
        if held && self.bounds.held.len() < MAX_HELD {
            self.bounds.held.insert(op.id);
            self.keep_held();
        }
        self.emit(NodeEvent::Notification(Notice::Message {
            from: self.partner_name(),
            message: Box::new(view.clone()),
            held,
            urgent: false,
            unread,
        }))
        .await;
    }

    /// The partner marked a message urgent: held for my quiet hours, it rings now.
    pub(super) async fn on_urgent(&mut self, op: &Op) {
        let OpBody::Urgent { target } = op.body else {
            return;
        };
        if op.id.author == self.me || target.author != op.id.author {
            return;
        }
        // Only a message held for my quiet hours rings, once: one that was
        // notified as it came, is out of sight until its time, or was deleted
        // does not.
        if self.is_hidden(target) || !self.bounds.held.remove(&target) {
            return;
        }
        self.keep_held();
        let Ok(Some(message)) = self.store.message(target) else {
            return;
        };
        if message.state.is_deleted() {
            return;
        }
        let unread = self.unread_by(target.author);
        self.emit(NodeEvent::Notification(Notice::Message {
            from: self.partner_name(),
            message: Box::new(self.view(&message)),
            held: false,
            urgent: true,
            unread,
        }))
        .await;
    }

    /// How many of `author`'s messages the other has not read (counted up to
    /// [`UNREAD_COUNTED`]).
    fn unread_by(&self, author: DeviceId) -> u32 {
        let read = self.store.read_up_to(author);
        self.store
            .ops_after(author, read, UNREAD_COUNTED)
            .map(|ops| {
                ops.iter()
                    .filter(|op| op.body.is_message() && !self.is_hidden(op.id))
                    .count()
            })
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The partner's night, if it is night for them now (their quiet hours, or
    /// 23:00 to 07:00 on their clock without any): named by its morning's date.
    fn partner_night(&self) -> Option<String> {
        if let Some((_, period)) = self.partner_quiet_until() {
            return Some(period);
        }
        let partner = self.partner.as_ref()?;
        let zone = jiff::tz::TimeZone::get(&partner.profile.time_zone).ok()?;
        let there = self.wall_now().to_zoned(zone);
        match there.hour() {
            23 => Some(there.date().tomorrow().ok()?.to_string()),
            0..7 => Some(there.date().to_string()),
            _ => None,
        }
    }

    fn keep_held(&self) {
        if let Err(e) = self.store.set_setting(SETTING_HELD, &self.bounds.held) {
            tracing::warn!(error = %e, "could not keep the count of held messages");
        }
    }

    /// Every second: once my quiet hours are over, the summary of what was held.
    pub(super) async fn maintain_quiet(&mut self) {
        if self.bounds.held.is_empty() || self.my_quiet_until().is_some() {
            return;
        }
        let count = u32::try_from(std::mem::take(&mut self.bounds.held).len()).unwrap_or(u32::MAX);
        self.keep_held();
        self.emit(NodeEvent::Notification(Notice::Summary {
            from: self.partner_name(),
            count,
        }))
        .await;
    }

    fn partner_name(&self) -> String {
        self.partner
            .as_ref()
            .map(|p| p.profile.name.clone())
            .unwrap_or_default()
    }

    fn whose(&self, device: DeviceId) -> Author {
        if device == self.me {
            Author::Me
        } else {
            Author::Partner
        }
    }

    fn proposal_view(&self, proposed: &Proposed, accepted_at: Option<i64>) -> ProposalView {
        let p = &proposed.proposal;
        let mut changes = Vec::new();
        for (who, hours) in &p.quiet {
            changes.push(ChangeView {
                field: "quiet".into(),
                whose: Some(self.whose(*who)),
                value: hours
                    .map(|h| format!("{}-{}", format_minutes(h.start), format_minutes(h.end)))
                    .unwrap_or_default(),
            });
        }
        for (who, reach) in &p.reach {
            changes.push(ChangeView {
                field: "reach".into(),
                whose: Some(self.whose(*who)),
                value: reach.clone(),
            });
        }
        if let Some(view_once) = p.view_once {
            changes.push(ChangeView {
                field: "view_once".into(),
                whose: None,
                value: view_once.to_string(),
            });
        }
        for (field, value) in [("care", &p.care), ("media", &p.media)] {
            if let Some(value) = value {
                changes.push(ChangeView {
                    field: field.into(),
                    whose: None,
                    value: value.clone(),
                });
            }
        }
        ProposalView {
            id: MessageId(proposed.id),
            by: self.whose(proposed.id.author),
            at: proposed.at_ms,
            changes,
            accepted_at,
        }
    }

    pub(super) fn boundaries_view(&self) -> BoundariesView {
        let b = &self.bounds.boundaries;
        let agreed = b.agreement();
        let partner = self.partner.as_ref().map(|p| p.device);
        let part = |who: Option<DeviceId>| PartView {
            quiet: who.and_then(|w| agreed.quiet.get(&w)).map(quiet_view),
            reach: who
                .and_then(|w| agreed.reach.get(&w))
                .cloned()
                .unwrap_or_default(),
        };
        let history = b.history();
        let skip = history.len().saturating_sub(HISTORY_SHOWN);
        BoundariesView {
            agreement: AgreementView {
                mine: part(Some(self.me)),
                partner: part(partner),
                care: agreed.care.clone(),
                media: agreed.media.clone(),
                view_once: agreed.view_once,
            },
            pending: b
                .pending()
                .into_iter()
                .map(|p| self.proposal_view(p, None))
                .collect(),
            history: history
                .iter()
                .skip(skip)
                .map(|a| self.proposal_view(a.proposed, Some(a.at_ms)))
                .collect(),
            my_quiet_until: self.my_quiet_until().map(|(until, _)| until),
            partner_quiet_until: self.partner_quiet_until().map(|(until, _)| until),
        }
    }
}
