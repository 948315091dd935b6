//! The mailbox room: the couple's own mailbox (`hearth mailbox`), for when their
//! two devices are never on at the same time.
//!
//! While the partner's device cannot be reached, this device leaves there, sealed
//! for the partner's device ([`hearth_crypto::Letters`], under a key bound to this
//! pairing), every op of its log the partner has not acknowledged, with its own
//! acknowledgement of the partner's log; then, file by file, the chunks of the files
//! those ops ready (up to [`MAX_FILE_BYTES`]). All the time it keeps one fetch
//! waiting at the mailbox, so letters for it arrive as soon as they are left; what
//! it collects goes through the sync room's own storing, so the partner's ops are
//! applied, flushed and shown exactly as if they had come directly, and only then is
//! the mailbox told it may forget them.
//!
//! Owns [`MailboxRoom`]: the link to the mailbox, how far this device's log has
//! been left there (`mailbox-deposited`, so a message can say "at the mailbox"), how
//! far it acknowledged the partner's there (`mailbox-told`), the files still to
//! leave (`mailbox-files`), and the exchanges under way. Every exchange reports with
//! the room's generation: a report from before a join, a leave or an unpairing is
//! ignored. May not apply ops other than through
//! [`Engine::store_partner_ops`](super::Engine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_core::wire::{self, Letter};
use hearth_core::{DeviceId, OpBody, OpId};
use hearth_crypto::{Invite, InviteError, InviteKind, Letters};
use hearth_net::Policy;
use serde::{Deserialize, Serialize};

mod client;

use self::client::DepositError;
use super::sync::machine::{Stored, next_batch};
use super::{Engine, Internal, now_ms};
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_MAILBOX: &str = "mailbox";
pub(super) const SETTING_DEPOSITED: &str = "mailbox-deposited";
/// How far this device acknowledged the partner's log through the mailbox, so a
/// restart does not say it again.
pub(super) const SETTING_TOLD: &str = "mailbox-told";
/// Files still to leave at the mailbox, each with the next chunk to leave.
pub(super) const SETTING_FILES: &str = "mailbox-files";
/// Every setting of this room, for forgetting them together.
pub(super) const SETTINGS: [&str; 4] = [
    SETTING_MAILBOX,
    SETTING_DEPOSITED,
    SETTING_TOLD,
    SETTING_FILES,
];
/// Files larger than this are not left at the mailbox: the partner's device fetches
/// them directly when the two next meet.
pub(crate) const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// How long a fetch waits at the mailbox for a letter to arrive.
const FETCH_WAIT: Duration = Duration::from_secs(20);
/// Ops letters in one deposit (each up to 128 ops or 1 MiB); the next deposit
/// follows at once.
const LETTERS_PER_DEPOSIT: usize = 4;
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

/// What the mailbox tasks report, each with the generation of the room that
/// started it.
pub(crate) enum MailboxInternal {
    Joined {
        generation: u64,
        link: MailboxLink,
        result: Result<(), MailboxFailure>,
        reply: Reply<MailboxStatus>,
    },
    Deposited {
        generation: u64,
        /// This device's log is at the mailbox up to here…
        up_to: u64,
        /// …and so is its acknowledgement of the partner's log up to here…
        told: u64,
        /// …and these files of its are made ready there, to leave next…
        files: Vec<OpId>,
        /// …and it asked the partner's device to leave its ops again from here.
        resend: Option<u64>,
        result: Result<(), DepositError>,
    },
    FileDeposited {
        generation: u64,
        id: OpId,
        /// The next chunk to leave, and the number of chunks.
        result: Result<(u32, u32), DepositError>,
    },
    Fetched {
        generation: u64,
        result: Result<client::Fetched, String>,
    },
    /// The mailbox was told this device left (or could not be): the gate may shut.
    Told { generation: u64 },
}

impl From<MailboxInternal> for Internal {
    fn from(message: MailboxInternal) -> Internal {
        Internal::Mailbox(message)
    }
}

/// When an exchange may next be tried.
#[derive(Default)]
struct Backoff {
    retry_at: Option<Instant>,
    delay: Duration,
}

impl Backoff {
    fn failed(&mut self) {
        self.delay = (self.delay * 2).clamp(RETRY_FIRST, RETRY_MAX);
        self.retry_at = Some(Instant::now() + self.delay);
    }

    fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    fn ready(&self) -> bool {
        self.retry_at.is_none_or(|at| Instant::now() >= at)
    }
}

/// The mailbox room's state.
#[derive(Default)]
pub(crate) struct MailboxRoom {
    generation: u64,
    link: Option<MailboxLink>,
    /// Seals and opens letters; set while there is a partner.
    letters: Option<Arc<Letters>>,
    /// This device's log is at the mailbox up to this seq.
    pub(super) deposited: u64,
    /// The partner's log was acknowledged through the mailbox up to this seq.
    told: u64,
    /// Files of this device's still to leave there, each with its next chunk.
    files: Vec<(OpId, u32)>,
    depositing: bool,
    fetching: bool,
    /// The highest letter number collected and stored here.
    collected: u64,
    /// Letters from the partner's device skipped ops this one lacks: ask it to
    /// leave them again from this seq of its log.
    resend: Option<u64>,
    /// The mailbox being joined, let through the gate meanwhile.
    joining: Option<DeviceId>,
    fetch_backoff: Backoff,
    deposit_backoff: Backoff,
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
            files: store.setting(SETTING_FILES)?.unwrap_or_default(),
            ..MailboxRoom::default()
        };
        room.set_partner(me, partner);
        room.set_link(link);
        Ok(room)
    }

    /// A room with nothing in it, whose tasks' reports the old room's are not taken
    /// for; the letter keys stay (they belong to the pairing, not the mailbox).
    pub(super) fn renewed(&mut self) -> MailboxRoom {
        MailboxRoom {
            generation: self.generation + 1,
            letters: self.letters.take(),
            ..MailboxRoom::default()
        }
    }

    /// The letter keys for a new partner, or none.
    pub(super) fn set_partner(
        &mut self,
        me: &hearth_crypto::StaticKeypair,
        partner: Option<&Partner>,
    ) {
        self.letters = partner.map(|p| {
            let pairing = hearth_crypto::unpair_tag(&p.safety_words);
            Arc::new(Letters::new(me, &p.static_key, &pairing))
        });
    }

    fn set_link(&mut self, link: Option<MailboxLink>) {
        self.status.peer_id = link
            .as_ref()
            .and_then(|l| hearth_net::peer_id_text(l.device).ok());
        self.link = link;
    }

    /// The mailbox's device, to let through the gate: the one joined, or the one
    /// being joined.
    pub(super) fn device(&self) -> Option<DeviceId> {
        self.link.as_ref().map(|l| l.device).or(self.joining)
    }

    fn reached(&mut self) {
        self.status.reachable = true;
        self.status.error = None;
        self.status.last_contact_ms = Some(now_ms());
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
        self.mailbox.joining = Some(link.device);
        if let Err(e) = self
            .net
            .set_policy(Policy::device(Some(partner), Some(link.device)))
            .await
        {
            self.mailbox.joining = None;
            let _ = reply.send(Err(e.into()));
            return;
        }
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        let generation = self.mailbox.generation;
        self.spawn(async move {
            let result = client::join(&net, &link, proof).await;
            let joined = MailboxInternal::Joined {
                generation,
                link,
                result,
                reply,
            };
            let _ = internal.send(joined.into()).await;
        });
    }

    async fn leave_mailbox(&mut self) -> Result<(), NodeError> {
        for name in SETTINGS {
            self.store.remove_setting(name)?;
        }
        self.flush()?;
        let before = self.mailbox.deposited;
        let link = self.mailbox.link.clone();
        self.mailbox = self.mailbox.renewed();
        // The mailbox is told, as a courtesy, that it may forget this device and its
        // letters; the gate shuts it out once it was.
        if let Some(link) = link {
            let net = self.net.clone();
            let internal = self.internal_tx.clone();
            let generation = self.mailbox.generation;
            self.spawn(async move {
                if let Err(why) = client::leave(&net, &link).await {
                    tracing::info!(%why, "could not tell the mailbox this device left");
                }
                let _ = internal
                    .send(MailboxInternal::Told { generation }.into())
                    .await;
            });
        }
        // Messages said to be at the mailbox are waiting here again.
        let acked = self.store.acked(self.me);
        self.announce_delivery(acked, before, Delivery::Queued)
            .await;
        self.emit(NodeEvent::Mailbox(self.mailbox.status.clone()))
            .await;
        Ok(())
    }

    /// Tells the mailbox, now and briefly, that this device stops using it (the
    /// pairing its letters were sealed for ended); forgets it either way.
    pub(super) async fn leave_mailbox_now(&mut self) {
        if let Some(link) = self.mailbox.link.clone() {
            let told =
                tokio::time::timeout(Duration::from_secs(5), client::leave(&self.net, &link)).await;
            if !matches!(told, Ok(Ok(()))) {
                tracing::info!("could not tell the mailbox this device left");
            }
        }
        self.mailbox = self.mailbox.renewed();
    }

    pub(super) async fn on_mailbox_internal(&mut self, message: MailboxInternal) {
        let generation = match &message {
            MailboxInternal::Joined { generation, .. }
            | MailboxInternal::Deposited { generation, .. }
            | MailboxInternal::FileDeposited { generation, .. }
            | MailboxInternal::Fetched { generation, .. }
            | MailboxInternal::Told { generation } => *generation,
        };
        if generation != self.mailbox.generation {
            if let MailboxInternal::Joined { reply, .. } = message {
                let _ = reply.send(Err(NodeError::Mailbox(MailboxFailure::Unreachable(
                    "the mailbox changed meanwhile".into(),
                ))));
                self.mailbox_gate().await;
            }
            return;
        }
        let before = self.mailbox.status.clone();
        match message {
            MailboxInternal::Joined {
                link,
                result,
                reply,
                ..
            } => {
                self.mailbox.joining = None;
                let result = match result {
                    Ok(()) => self.joined_mailbox(link),
                    Err(e) => Err(NodeError::Mailbox(e)),
                };
                if result.is_err() {
                    // Back to the mailbox the gate let in before, if any.
                    self.mailbox_gate().await;
                }
                let _ = reply.send(result.map(|()| self.mailbox.status.clone()));
                self.maintain_mailbox().await;
            }
            MailboxInternal::Deposited {
                up_to,
                told,
                files,
                resend,
                result,
                ..
            } => {
                self.mailbox.depositing = false;
                match result {
                    Ok(()) => self.deposited(up_to, told, files).await,
                    Err(e) => {
                        // Asked again with the next deposit.
                        self.mailbox.resend = self.mailbox.resend.or(resend);
                        self.deposit_failed(e, None);
                    }
                }
            }
            MailboxInternal::FileDeposited { id, result, .. } => {
                self.mailbox.depositing = false;
                match result {
                    Ok((next, count)) => {
                        self.mailbox.deposit_backoff.succeeded();
                        self.mailbox.reached();
                        if let Some(file) = self.mailbox.files.iter_mut().find(|(f, _)| *f == id) {
                            file.1 = next;
                        }
                        if next >= count {
                            self.mailbox.files.retain(|(f, _)| *f != id);
                        }
                        self.save_mailbox_files();
                        self.deposit_at_mailbox();
                    }
                    Err(e) => self.deposit_failed(e, Some(id)),
                }
            }
            MailboxInternal::Told { .. } => self.mailbox_gate().await,
            MailboxInternal::Fetched { result, .. } => {
                self.mailbox.fetching = false;
                match result {
                    Ok(fetched) => {
                        self.mailbox.fetch_backoff.succeeded();
                        self.mailbox.reached();
                        self.mailbox.status.waiting_for_partner = fetched.waiting;
                        if self.take_letters(fetched.letters).await {
                            self.fetch_from_mailbox(!fetched.more);
                        } else {
                            self.mailbox.fetch_backoff.failed();
                            self.mailbox.status.error =
                                Some("letters could not be stored here".into());
                        }
                    }
                    Err(why) => {
                        tracing::info!(%why, "could not collect letters at the mailbox");
                        self.mailbox.fetch_backoff.failed();
                        self.mailbox.status.reachable = false;
                        self.mailbox.status.error = Some(why);
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

    /// A round of ops letters is at the mailbox.
    async fn deposited(&mut self, up_to: u64, told: u64, files: Vec<OpId>) {
        self.mailbox.deposit_backoff.succeeded();
        self.mailbox.reached();
        if told > self.mailbox.told {
            self.mailbox.told = told;
            if let Err(e) = self.store.set_setting(SETTING_TOLD, &told) {
                tracing::warn!(error = %e, "could not record what the mailbox was told");
            }
        }
        if !files.is_empty() {
            for id in files {
                if !self.mailbox.files.iter().any(|(f, _)| *f == id) {
                    self.mailbox.files.push((id, 0));
                }
            }
            self.save_mailbox_files();
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

    /// Leaving letters failed: tried again later; a file the mailbox has no room
    /// for waits for the two devices to meet.
    fn deposit_failed(&mut self, e: DepositError, file: Option<OpId>) {
        self.mailbox.deposit_backoff.failed();
        let why = match (e, file) {
            (DepositError::Full, Some(id)) => {
                tracing::info!(file = %MessageId(id), "the mailbox is full; the file waits for the two devices to meet");
                self.mailbox.files.retain(|(f, _)| *f != id);
                self.save_mailbox_files();
                "it is full; a file waits for the two of you to meet".to_string()
            }
            (DepositError::Full, None) => "it is full".to_string(),
            (DepositError::Unreadable(why), Some(id)) => {
                // This device's own file: trying again would fail again.
                tracing::warn!(file = %MessageId(id), %why, "could not read a file to leave at the mailbox; it waits for the two devices to meet");
                self.mailbox.files.retain(|(f, _)| *f != id);
                self.save_mailbox_files();
                self.mailbox.deposit_backoff.succeeded();
                return;
            }
            (DepositError::Failed(why) | DepositError::Unreadable(why), _) => why,
        };
        tracing::info!(%why, "could not leave letters at the mailbox");
        self.mailbox.status.error = Some(why);
    }

    fn save_mailbox_files(&self) {
        if let Err(e) = self.store.set_setting(SETTING_FILES, &self.mailbox.files) {
            tracing::warn!(error = %e, "could not record the files to leave at the mailbox");
        }
    }

    /// Brings [`MailboxStatus::to_leave`] up to date.
    pub(super) fn count_to_leave(&mut self) {
        self.mailbox.status.to_leave = if self.mailbox.link.is_some() {
            let there = self.mailbox.deposited.max(self.store.acked(self.me));
            self.store.held(self.me).saturating_sub(there) + self.mailbox.files.len() as u64
        } else {
            0
        };
    }

    fn joined_mailbox(&mut self, link: MailboxLink) -> Result<(), NodeError> {
        self.store.set_setting(SETTING_MAILBOX, &link)?;
        // Whatever was left at another mailbox is not at this one.
        for name in [SETTING_DEPOSITED, SETTING_TOLD, SETTING_FILES] {
            self.store.remove_setting(name)?;
        }
        self.flush()?;
        tracing::info!(mailbox = %link.device, "joined the mailbox");
        self.mailbox = self.mailbox.renewed();
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
        if room.fetching || room.letters.is_none() || !room.fetch_backoff.ready() {
            return;
        }
        room.fetching = true;
        let (ack, generation) = (room.collected, room.generation);
        let wait = if wait { FETCH_WAIT } else { Duration::ZERO };
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let result = client::fetch(&net, &link, ack, wait).await;
            let fetched = MailboxInternal::Fetched { generation, result };
            let _ = internal.send(fetched.into()).await;
        });
    }

    /// Leaves at the mailbox, while the partner's device cannot be reached
    /// directly: first the ops the partner's device has not acknowledged and that
    /// are not there yet (and this device's acknowledgement when it moved), then
    /// the next part of a file.
    fn deposit_at_mailbox(&mut self) {
        let Some(partner) = self.partner.as_ref().map(|p| p.device) else {
            return;
        };
        let room = &self.mailbox;
        let (Some(link), Some(seal)) = (room.link.clone(), room.letters.clone()) else {
            return;
        };
        if room.depositing || self.presence.online || !room.deposit_backoff.ready() {
            return;
        }
        let generation = room.generation;
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        let resend = self.mailbox.resend.take();
        if let Some((letters, up_to, told, files)) = self.ops_letters(&seal, partner, resend) {
            self.mailbox.depositing = true;
            self.spawn(async move {
                let result = client::deposit(&net, &link, partner, letters).await;
                let deposited = MailboxInternal::Deposited {
                    generation,
                    up_to,
                    told,
                    files,
                    resend,
                    result,
                };
                let _ = internal.send(deposited.into()).await;
            });
            return;
        }
        // Files whose message was deleted (or expired) meanwhile are not left.
        let blobs = self.files.blobs.clone();
        let before = self.mailbox.files.len();
        self.mailbox
            .files
            .retain(|(id, _)| matches!(blobs.status(*id), Ok(Some(s)) if s.complete));
        if self.mailbox.files.len() != before {
            self.save_mailbox_files();
        }
        self.mailbox.resend = resend;
        let Some(&(id, from)) = self.mailbox.files.first() else {
            return;
        };
        self.mailbox.depositing = true;
        self.spawn(async move {
            let result = client::deposit_file(&net, &link, partner, id, from, blobs, seal).await;
            let deposited = MailboxInternal::FileDeposited {
                generation,
                id,
                result,
            };
            let _ = internal.send(deposited.into()).await;
        });
    }

    /// The next round of ops letters, if there is anything to say: the letters, how
    /// far they take this device's log and its acknowledgement of the partner's, and
    /// the files they make ready.
    #[allow(clippy::type_complexity)]
    fn ops_letters(
        &self,
        seal: &Letters,
        partner: DeviceId,
        resend: Option<u64>,
    ) -> Option<(Vec<Vec<u8>>, u64, u64, Vec<OpId>)> {
        let mut after = self.mailbox.deposited.max(self.store.acked(self.me));
        let held = self.store.held_all();
        let told = self.store.held(partner);
        let mut letters = Vec::new();
        if let Some(held) = resend {
            letters.push(seal.seal(&wire::encode(&Letter::Resend { held })));
        }
        let mut files = Vec::new();
        while letters.len() < LETTERS_PER_DEPOSIT {
            let ops = match next_batch(&self.store, self.me, after) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read ops for the mailbox");
                    return None;
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
            if told <= self.mailbox.told {
                return None;
            }
            // Nothing new to say but that the partner's letters arrived.
            letters.push(seal.seal(&wire::encode(&Letter::Ops {
                held,
                ops: Vec::new(),
            })));
        }
        Some((letters, after, told, files))
    }

    /// A file of this device's is now whole here, announced by its op `ready_seq`:
    /// if that op is at the mailbox already (it went before the file was sealed, so
    /// its file was not queued then), the file goes there next.
    pub(super) fn sealed_after_deposit(&mut self, id: OpId, ready_seq: u64) {
        if self.mailbox.letters.is_none() || self.mailbox.deposited < ready_seq {
            return;
        }
        let whole = self
            .files
            .blobs
            .status(id)
            .ok()
            .flatten()
            .is_some_and(|s| s.complete && s.size <= MAX_FILE_BYTES);
        if whole && !self.mailbox.files.iter().any(|(f, _)| *f == id) {
            self.mailbox.files.push((id, 0));
            self.save_mailbox_files();
        }
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

    /// Opens, stores and shows what was collected, in order; the next fetch tells
    /// the mailbox it may forget them. A letter that does not open or decode is
    /// skipped (and forgotten there): it was not sealed by the partner's device for
    /// this pairing. False if the disk failed: what is not stored is collected
    /// again later.
    async fn take_letters(&mut self, collected: Vec<(u64, Vec<u8>)>) -> bool {
        let (Some(seal), Ok(partner)) = (self.mailbox.letters.clone(), self.partner_device())
        else {
            return true;
        };
        for (number, sealed) in collected {
            let letter = match seal.open(&sealed).map(|l| wire::decode_letter(&l)) {
                Ok(Ok(letter)) => Some(letter),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "a letter at the mailbox does not decode; skipped");
                    None
                }
                Err(_) => {
                    tracing::warn!(
                        "a letter at the mailbox was not sealed by the partner's device for this pairing; skipped"
                    );
                    None
                }
            };
            match letter {
                Some(Letter::Ops { held, ops }) => {
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
                Some(Letter::Manifest { id, hashes }) if id.author == partner => {
                    self.mailbox_manifest(id, &hashes);
                }
                Some(Letter::Chunk { id, index, data }) if id.author == partner => {
                    self.mailbox_chunk(id, index, data).await;
                }
                Some(Letter::Resend { held }) => self.resend_from(held),
                Some(Letter::Manifest { .. } | Letter::Chunk { .. }) => {
                    tracing::warn!(
                        "a letter at the mailbox carried another device's file; skipped"
                    );
                }
                None => {}
            }
            self.mailbox.collected = number;
        }
        // Durable before the mailbox forgets them: chunks, and chunk hashes.
        self.checkpoint_mailbox_writer();
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "could not flush what came from the mailbox");
            return false;
        }
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
                // Ops before these never came this way (the mailbox forgot them):
                // the partner's device is asked to leave them again.
                tracing::info!(
                    "letters at the mailbox skip ops this device lacks; asking for them again"
                );
                if let Ok(partner) = self.partner_device() {
                    self.mailbox.resend = Some(self.store.held(partner));
                }
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

    /// The partner's device says, in a letter, that it holds this device's log only
    /// up to `held` and letters after it skipped ops: they are left again from there
    /// (with the files they make ready).
    fn resend_from(&mut self, held: u64) {
        let from = held.max(self.store.acked(self.me));
        if from < self.mailbox.deposited {
            tracing::info!(
                from,
                "the partner's device lacks ops left at the mailbox; leaving them again"
            );
            self.mailbox.deposited = from;
            if let Err(e) = self.store.set_setting(SETTING_DEPOSITED, &from) {
                tracing::warn!(error = %e, "could not record what is at the mailbox");
            }
        }
    }

    /// Sets the gate to the partner and the mailbox joined (or being joined).
    async fn mailbox_gate(&mut self) {
        let partner = self.partner.as_ref().map(|p| p.device);
        let _ = self
            .net
            .set_policy(Policy::device(partner, self.mailbox.device()))
            .await;
    }

    /// The partner's device says, in a letter, how far it holds this device's log.
    async fn take_acknowledgement(&mut self, held: &[(DeviceId, u64)]) {
        let Some(&(_, up_to)) = held.iter().find(|(author, _)| *author == self.me) else {
            return;
        };
        self.partner_holds_of_mine(up_to);
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
