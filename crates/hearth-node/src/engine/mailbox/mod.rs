//! The mailbox room: the couple's own mailbox (`hearth mailbox`), for when their
//! two devices are never on at the same time.
//!
//! While the partner's device cannot be reached, this device leaves there, sealed
//! for the partner's device ([`hearth_crypto::Letters`]), every op of its log the
//! partner has not acknowledged, with its own acknowledgement of the partner's log,
//! and the chunks of the files those ops ready (up to [`MAX_FILE_BYTES`]). All the
//! time it keeps one fetch waiting at the mailbox, so letters for it arrive as soon
//! as they are left; what it collects goes through the sync room's own storing, so
//! the partner's ops are applied, flushed and shown exactly as if they had come
//! directly, and only then is the mailbox told it may forget them.
//!
//! Owns [`MailboxRoom`]: the link to the mailbox, how far this device's log has
//! been left there (`mailbox-deposited`, so a message can say "at the mailbox"),
//! and the exchanges under way. May not apply ops other than through
//! [`Engine::store_partner_ops`](super::Engine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_core::wire::{self, Letter};
use hearth_core::{DeviceId, OpBody, OpId};
use hearth_crypto::{Invite, InviteError, InviteKind, Letters};
use hearth_net::Policy;
use serde::{Deserialize, Serialize};

mod client;

use super::sync::machine::{Stored, next_batch};
use super::{Engine, Internal, now_ms};
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_MAILBOX: &str = "mailbox";
pub(super) const SETTING_DEPOSITED: &str = "mailbox-deposited";
/// How far this device acknowledged the partner's log through the mailbox, so a
/// restart does not say it again.
pub(super) const SETTING_TOLD: &str = "mailbox-told";
/// Files larger than this are not left at the mailbox: the partner's device fetches
/// them directly when the two next meet.
pub(crate) const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// How long a fetch waits at the mailbox for a letter to arrive.
const FETCH_WAIT: Duration = Duration::from_secs(20);
/// Ops letters in one deposit; the next deposit follows at once.
const LETTERS_PER_DEPOSIT: usize = 16;
/// How long after a failed exchange the next is tried, at first and at most.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// The mailbox this device joined, as remembered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MailboxLink {
    pub(crate) device: DeviceId,
    pub(crate) addrs: Vec<String>,
}

/// What the mailbox room can be asked.
pub(crate) enum MailboxCommand {
    /// Join the mailbox of this invite.
    Join(String, Reply<MailboxStatus>),
    /// The mailbox's state.
    Status(Reply<MailboxStatus>),
    /// Stop using the mailbox.
    Leave(Reply<MailboxStatus>),
}

/// What the mailbox tasks report.
pub(crate) enum MailboxInternal {
    Joined {
        link: MailboxLink,
        result: Result<(), MailboxFailure>,
        reply: Reply<MailboxStatus>,
    },
    Deposited {
        /// This device's log is at the mailbox up to here…
        up_to: u64,
        /// …and so is its acknowledgement of the partner's log up to here.
        told: u64,
        result: Result<(), String>,
    },
    Fetched(Result<client::Fetched, String>),
}

impl From<MailboxInternal> for Internal {
    fn from(message: MailboxInternal) -> Internal {
        Internal::Mailbox(message)
    }
}

/// The mailbox room's state.
#[derive(Default)]
pub(crate) struct MailboxRoom {
    link: Option<MailboxLink>,
    /// Seals and opens letters; set while there is a partner.
    letters: Option<Arc<Letters>>,
    /// This device's log is at the mailbox up to this seq.
    pub(super) deposited: u64,
    /// The partner's log was acknowledged through the mailbox up to this seq.
    told: u64,
    depositing: bool,
    fetching: bool,
    /// The highest letter number collected and stored here.
    collected: u64,
    retry_at: Option<Instant>,
    backoff: Duration,
    pub(super) status: MailboxStatus,
}

impl MailboxRoom {
    pub(super) fn load(
        store: &hearth_store::Store,
        me: &hearth_crypto::StaticKeypair,
        partner: Option<&Partner>,
    ) -> Result<MailboxRoom, NodeError> {
        let link: Option<MailboxLink> = store.setting(SETTING_MAILBOX)?;
        let mut room = MailboxRoom {
            deposited: store.setting(SETTING_DEPOSITED)?.unwrap_or(0),
            told: store.setting(SETTING_TOLD)?.unwrap_or(0),
            ..MailboxRoom::default()
        };
        room.set_partner(me, partner);
        room.set_link(link);
        Ok(room)
    }

    /// The letter keys for a new partner, or none.
    pub(super) fn set_partner(
        &mut self,
        me: &hearth_crypto::StaticKeypair,
        partner: Option<&Partner>,
    ) {
        self.letters = partner.map(|p| Arc::new(Letters::new(me, &p.static_key)));
    }

    fn set_link(&mut self, link: Option<MailboxLink>) {
        self.status.peer_id = link
            .as_ref()
            .and_then(|l| hearth_net::peer_id_text(l.device).ok());
        self.link = link;
    }

    /// The mailbox's device, to let through the gate.
    pub(super) fn device(&self) -> Option<DeviceId> {
        self.link.as_ref().map(|l| l.device)
    }

    fn failed(&mut self, why: String) {
        self.backoff = (self.backoff * 2).clamp(RETRY_FIRST, RETRY_MAX);
        self.retry_at = Some(Instant::now() + self.backoff);
        self.status.reachable = false;
        self.status.error = Some(why);
    }

    fn reached(&mut self) {
        self.backoff = Duration::ZERO;
        self.retry_at = None;
        self.status.reachable = true;
        self.status.error = None;
        self.status.last_contact_ms = Some(now_ms());
    }

    fn may_try(&self) -> bool {
        self.retry_at.is_none_or(|at| Instant::now() >= at)
    }
}

impl Engine {
    /// The mailbox's device, to let through the gate.
    pub(super) fn mailbox_device(&self) -> Option<DeviceId> {
        self.mailbox.device()
    }

    pub(super) async fn on_mailbox_command(&mut self, command: MailboxCommand) {
        match command {
            MailboxCommand::Join(code, reply) => self.join_mailbox(&code, reply).await,
            MailboxCommand::Status(reply) => {
                self.count_to_leave();
                let _ = reply.send(Ok(self.mailbox.status.clone()));
            }
            MailboxCommand::Leave(reply) => {
                let result = self.leave_mailbox().await;
                let _ = reply.send(result.map(|()| self.mailbox.status.clone()));
            }
        }
    }

    async fn join_mailbox(&mut self, code: &str, reply: Reply<MailboxStatus>) {
        let prepared = (|| {
            let partner = self.partner_device()?;
            let invite = Invite::from_text_as(InviteKind::Mailbox, code).map_err(|e| {
                NodeError::Mailbox(match e {
                    InviteError::OtherKind(InviteKind::Partner) => MailboxFailure::PartnerInvite,
                    _ => MailboxFailure::BadInvite,
                })
            })?;
            if invite.expires_at_ms < now_ms() {
                return Err(NodeError::Mailbox(MailboxFailure::Expired));
            }
            let device = hearth_net::device_from_peer_bytes(&invite.peer)
                .map_err(|_| NodeError::Mailbox(MailboxFailure::BadInvite))?;
            let addrs = invite
                .addrs
                .iter()
                .filter_map(|a| hearth_net::addr_from_bytes(a).ok())
                .collect();
            let proof = hearth_crypto::join_proof(
                &invite.secret,
                &hearth_net::peer_id_bytes(self.me)?,
                &invite.peer,
            );
            Ok((partner, MailboxLink { device, addrs }, proof))
        })();
        let (partner, link, proof) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        // The gate lets the mailbox in before it is dialled.
        if let Err(e) = self
            .net
            .set_policy(Policy::device(Some(partner), Some(link.device)))
            .await
        {
            let _ = reply.send(Err(e.into()));
            return;
        }
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let result = client::join(&net, &link, proof).await;
            let _ = internal
                .send(
                    MailboxInternal::Joined {
                        link,
                        result,
                        reply,
                    }
                    .into(),
                )
                .await;
        });
    }

    async fn leave_mailbox(&mut self) -> Result<(), NodeError> {
        for name in [SETTING_MAILBOX, SETTING_DEPOSITED, SETTING_TOLD] {
            self.store.remove_setting(name)?;
        }
        self.flush()?;
        let before = self.mailbox.deposited;
        self.mailbox = MailboxRoom {
            letters: self.mailbox.letters.take(),
            ..MailboxRoom::default()
        };
        self.net
            .set_policy(Policy::device(
                self.partner.as_ref().map(|p| p.device),
                None,
            ))
            .await?;
        // Messages said to be at the mailbox are queued here again.
        let acked = self.store.acked(self.me);
        self.announce_delivery(acked, before, Delivery::Queued)
            .await;
        self.emit(NodeEvent::Mailbox(self.mailbox.status.clone()))
            .await;
        Ok(())
    }

    pub(super) async fn on_mailbox_internal(&mut self, message: MailboxInternal) {
        let before = self.mailbox.status.clone();
        match message {
            MailboxInternal::Joined {
                link,
                result,
                reply,
            } => {
                let result = match result {
                    Ok(()) => self.joined_mailbox(link),
                    Err(e) => {
                        // Back to the mailbox the gate let in before, if any.
                        let partner = self.partner.as_ref().map(|p| p.device);
                        let _ = self
                            .net
                            .set_policy(Policy::device(partner, self.mailbox.device()))
                            .await;
                        Err(NodeError::Mailbox(e))
                    }
                };
                let _ = reply.send(result.map(|()| self.mailbox.status.clone()));
                self.maintain_mailbox().await;
            }
            MailboxInternal::Deposited {
                up_to,
                told,
                result,
            } => {
                self.mailbox.depositing = false;
                match result {
                    Ok(()) => {
                        self.mailbox.reached();
                        if told > self.mailbox.told {
                            self.mailbox.told = told;
                            if let Err(e) = self.store.set_setting(SETTING_TOLD, &told) {
                                tracing::warn!(error = %e, "could not record what the mailbox was told");
                            }
                        }
                        let before = self.mailbox.deposited;
                        if up_to > before {
                            self.mailbox.deposited = up_to;
                            if let Err(e) = self.store.set_setting(SETTING_DEPOSITED, &up_to) {
                                tracing::warn!(error = %e, "could not record what is at the mailbox");
                            }
                            let from = before.max(self.store.acked(self.me));
                            self.announce_delivery(from, up_to, Delivery::AtMailbox)
                                .await;
                        }
                        self.deposit_at_mailbox();
                    }
                    Err(why) => {
                        tracing::info!(%why, "could not leave letters at the mailbox");
                        self.mailbox.failed(why);
                    }
                }
            }
            MailboxInternal::Fetched(result) => {
                self.mailbox.fetching = false;
                match result {
                    Ok(fetched) => {
                        self.mailbox.reached();
                        self.mailbox.status.waiting_for_partner = fetched.waiting;
                        if self.take_letters(fetched.letters).await {
                            self.resend_if_lost(fetched.waiting);
                            self.fetch_from_mailbox(!fetched.more);
                        } else {
                            self.mailbox
                                .failed("letters could not be stored here".into());
                        }
                    }
                    Err(why) => {
                        tracing::info!(%why, "could not collect letters at the mailbox");
                        self.mailbox.failed(why);
                    }
                }
            }
        }
        self.count_to_leave();
        if self.mailbox.status != before {
            self.emit(NodeEvent::Mailbox(self.mailbox.status.clone()))
                .await;
        }
    }

    /// Brings [`MailboxStatus::to_leave`] up to date.
    pub(super) fn count_to_leave(&mut self) {
        self.mailbox.status.to_leave = if self.mailbox.link.is_some() {
            let there = self.mailbox.deposited.max(self.store.acked(self.me));
            self.store.held(self.me).saturating_sub(there)
        } else {
            0
        };
    }

    fn joined_mailbox(&mut self, link: MailboxLink) -> Result<(), NodeError> {
        self.store.set_setting(SETTING_MAILBOX, &link)?;
        // Whatever was left at another mailbox is not at this one.
        self.store.set_setting(SETTING_DEPOSITED, &0u64)?;
        self.store.set_setting(SETTING_TOLD, &0u64)?;
        self.flush()?;
        tracing::info!(mailbox = %link.device, "joined the mailbox");
        let letters = self.mailbox.letters.take();
        self.mailbox = MailboxRoom {
            letters,
            ..MailboxRoom::default()
        };
        self.mailbox.set_link(Some(link));
        self.mailbox.reached();
        Ok(())
    }

    /// Each tick (and when the partner goes away): keep a fetch waiting at the
    /// mailbox, and leave there what the partner's device has not acknowledged.
    pub(super) async fn maintain_mailbox(&mut self) {
        self.fetch_from_mailbox(true);
        self.deposit_at_mailbox();
    }

    fn fetch_from_mailbox(&mut self, wait: bool) {
        let room = &mut self.mailbox;
        let Some(link) = room.link.clone() else {
            return;
        };
        if room.fetching || room.letters.is_none() || !room.may_try() {
            return;
        }
        room.fetching = true;
        let ack = room.collected;
        let wait = if wait { FETCH_WAIT } else { Duration::ZERO };
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let result = client::fetch(&net, &link, ack, wait).await;
            let _ = internal.send(MailboxInternal::Fetched(result).into()).await;
        });
    }

    /// Leaves at the mailbox the ops the partner's device has not acknowledged and
    /// that are not there yet, and this device's acknowledgement when it moved: only
    /// while the partner's device cannot be reached directly.
    fn deposit_at_mailbox(&mut self) {
        let Some(partner) = self.partner.as_ref().map(|p| p.device) else {
            return;
        };
        let room = &self.mailbox;
        let (Some(link), Some(seal)) = (room.link.clone(), room.letters.clone()) else {
            return;
        };
        if room.depositing || self.presence.online || !room.may_try() {
            return;
        }
        let mut after = room.deposited.max(self.store.acked(self.me));
        let held = self.store.held_all();
        let told = self.store.held(partner);
        let mut letters = Vec::new();
        let mut files = Vec::new();
        while letters.len() < LETTERS_PER_DEPOSIT {
            let ops = match next_batch(&self.store, self.me, after) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read ops for the mailbox");
                    return;
                }
            };
            after = ops.last().map_or(after, |op| op.id.seq);
            files.extend(
                ops.iter()
                    .filter_map(|op| self.file_for_mailbox(op.id, &op.body)),
            );
            letters.push(seal.seal(&wire::encode(&Letter::Ops {
                held: held.clone(),
                ops,
            })));
        }
        if letters.is_empty() {
            if told <= room.told {
                return;
            }
            // Nothing new to say but that the partner's letters arrived.
            letters.push(seal.seal(&wire::encode(&Letter::Ops {
                held,
                ops: Vec::new(),
            })));
        }
        self.mailbox.depositing = true;
        let net = self.net.clone();
        let blobs = self.files.blobs.clone();
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let result = client::deposit(&net, &link, partner, letters, files, blobs, seal).await;
            let _ = internal
                .send(
                    MailboxInternal::Deposited {
                        up_to: after,
                        told,
                        result,
                    }
                    .into(),
                )
                .await;
        });
    }

    /// The file an op of this device's makes ready to fetch, if it is whole here and
    /// small enough to leave at the mailbox.
    fn file_for_mailbox(&self, op: OpId, body: &OpBody) -> Option<OpId> {
        let id = match body {
            // Bytes pasted in are sealed before their op is written.
            OpBody::Attachment(a) if !a.is_pending() => op,
            OpBody::FileReady { target, .. } if target.author == self.me => *target,
            _ => return None,
        };
        let status = self.files.blobs.status(id).ok().flatten()?;
        (status.complete && status.size <= MAX_FILE_BYTES).then_some(id)
    }

    /// The mailbox holds nothing from this device, yet the partner's device has not
    /// acknowledged everything said to be there (the mailbox lost it, or was
    /// replaced): leave it again.
    fn resend_if_lost(&mut self, waiting: u64) {
        let acked = self.store.acked(self.me);
        if waiting == 0 && !self.mailbox.depositing && self.mailbox.deposited > acked {
            tracing::info!(
                "the mailbox no longer holds letters the partner has not acknowledged; leaving them again"
            );
            self.mailbox.deposited = acked;
        }
    }

    /// Opens, stores and shows what was collected, in order; the next fetch tells
    /// the mailbox it may forget them. A letter that does not open or decode is
    /// skipped (and forgotten there): it was not sealed by the partner's device.
    /// False if the disk failed: what is not stored is collected again later.
    async fn take_letters(&mut self, collected: Vec<(u64, Vec<u8>)>) -> bool {
        let Some(seal) = self.mailbox.letters.clone() else {
            return true;
        };
        let Ok(partner) = self.partner_device() else {
            return true;
        };
        let mut chunks = super::files::MailboxChunks::default();
        for (number, sealed) in collected {
            let letter = match seal.open(&sealed).map(|l| wire::decode_letter(&l)) {
                Ok(Ok(letter)) => letter,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "a letter at the mailbox does not decode; skipped");
                    self.mailbox.collected = number;
                    continue;
                }
                Err(_) => {
                    tracing::warn!(
                        "a letter at the mailbox was not sealed by the partner's device; skipped"
                    );
                    self.mailbox.collected = number;
                    continue;
                }
            };
            match letter {
                Letter::Ops { held, ops } => {
                    // Chunks before these ops are written first: a delete among
                    // them may remove their file.
                    self.write_mailbox_chunks(&mut chunks).await;
                    if ops.iter().any(|op| op.id.author != partner) {
                        tracing::warn!(
                            "a letter at the mailbox carried ops of another log; skipped"
                        );
                    } else if !ops.is_empty() && !self.take_partner_ops(&ops).await {
                        // Not stored: not acknowledged, collected again later.
                        return false;
                    }
                    self.take_acknowledgement(&held).await;
                }
                Letter::Manifest { id, hashes } if id.author == partner => {
                    self.mailbox_manifest(id, &hashes);
                }
                Letter::Chunk { id, index, data } if id.author == partner => {
                    chunks.add(id, index, data);
                }
                Letter::Manifest { .. } | Letter::Chunk { .. } => {
                    tracing::warn!(
                        "a letter at the mailbox carried another device's file; skipped"
                    );
                }
            }
            self.mailbox.collected = number;
        }
        self.write_mailbox_chunks(&mut chunks).await;
        true
    }

    /// Stores the partner's ops from a letter as the sync room stores them; false
    /// if they could not be stored now.
    async fn take_partner_ops(&mut self, ops: &[hearth_core::Op]) -> bool {
        let read_before = self.store.read_up_to(self.me);
        let (stored, new) = self.store_partner_ops(ops);
        match stored {
            Stored::Durable => {}
            Stored::Gap => {
                // Ops before these never came this way (a mailbox that lost
                // letters): they will come directly, or again.
                tracing::info!(
                    "letters at the mailbox skip ops this device lacks; left to direct sync"
                );
                return true;
            }
            Stored::Refused(why) => {
                tracing::warn!(%why, "refused ops from a letter at the mailbox");
                return true;
            }
            Stored::Failed => return false,
        }
        self.announce_all(&new).await;
        let read_after = self.store.read_up_to(self.me);
        self.announce_delivery(read_before, read_after, Delivery::Read)
            .await;
        true
    }

    /// The partner's device says, in a letter, how far it holds this device's log.
    async fn take_acknowledgement(&mut self, held: &[(DeviceId, u64)]) {
        let Some(&(_, up_to)) = held.iter().find(|(author, _)| *author == self.me) else {
            return;
        };
        let up_to = up_to.min(self.store.held(self.me));
        let before = self.store.acked(self.me);
        if up_to <= before {
            return;
        }
        if let Err(e) = self.store.set_acked(self.me, up_to) {
            tracing::warn!(error = %e, "could not record an acknowledgement from the mailbox");
            return;
        }
        self.announce_delivery(before, up_to, Delivery::Delivered)
            .await;
    }
}
