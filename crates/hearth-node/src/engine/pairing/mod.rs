//! Pairing: the code this device is showing (an invite or six digits), the
//! pairings under way in either direction, devices found nearby, and the moment a
//! partner is set.
//!
//! Owns [`Pairing`]; sets `Engine::partner` once, in `complete_pairing`, and then
//! tells the sync room, the network gate and the internet room. The conversation on
//! the stream is in [`handshake`], run as tasks that report back as
//! [`PairingInternal`].

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use hearth_core::DeviceId;
use hearth_crypto::Invite;
use hearth_net::{FramedStream, Policy};
use rand::RngCore;

pub(crate) mod handshake;
pub(crate) mod uncouple;
mod unpair;

use self::handshake::{PairFail, PairOutcome, PairSetup, Refusal, Responded};
use super::{Engine, Internal, SETTING_PARTNER, now_ms};
use crate::Reply;
use crate::types::*;

/// Wrong codes an invite or nearby code survives.
const MAX_PAIRING_FAILURES: u32 = 3;
/// How long an invite waits for the network to report an address to put in it.
const INVITE_ADDRESS_WAIT: Duration = Duration::from_secs(5);

/// What a handle can ask of the pairing room.
pub(crate) enum PairingCommand {
    Invite(Reply<InviteInfo>),
    NearbyCode(Reply<String>),
    NearbyDevices(Reply<Vec<String>>),
    Pair(String, Reply<PairedInfo>),
    /// The safety words differ: end the pairing on both devices.
    Reject(Reply<()>),
    /// End the pairing on both devices, perhaps deleting the shared history.
    Uncouple {
        delete_history: bool,
        reply: Reply<Ended>,
    },
}

/// What pairing tasks report.
pub(crate) enum PairingInternal {
    /// An attempt answering `peer` started: the code as it stands now.
    Setup {
        peer: DeviceId,
        attempt: u64,
        reply: tokio::sync::oneshot::Sender<Result<PairSetup, Refusal>>,
    },
    /// An attempt is about to read its guess: one of the code's tries.
    Guess {
        attempt: u64,
        reply: tokio::sync::oneshot::Sender<Result<(), Refusal>>,
    },
    /// A try at telling the former partner the pairing ended.
    Notified {
        delivered: bool,
    },
    Initiated {
        result: Result<PairOutcome, PairFail>,
        addrs: Vec<String>,
        reply: Reply<PairedInfo>,
    },
    Responded {
        attempt: u64,
        responded: Responded,
    },
}

impl From<PairingInternal> for Internal {
    fn from(message: PairingInternal) -> Internal {
        Internal::Pairing(message)
    }
}

/// A code this device is showing: an invite's secret or six digits.
struct Offer {
    code: Vec<u8>,
    expires_at_ms: i64,
    failures: u32,
    /// Six digits on screen, rather than an invite.
    nearby: bool,
    /// Attempts under way that were given this code.
    given: HashSet<u64>,
    /// Those of them holding one of its tries, their guess being read.
    guessing: HashSet<u64>,
}

impl Offer {
    fn new(code: Vec<u8>, expires_at_ms: i64, nearby: bool) -> Offer {
        Offer {
            code,
            expires_at_ms,
            failures: 0,
            nearby,
            given: HashSet::new(),
            guessing: HashSet::new(),
        }
    }
}

/// The pairing room's state.
#[derive(Default)]
pub(crate) struct Pairing {
    offer: Option<Offer>,
    /// The attempts being answered, shared with the tasks answering them.
    answering: std::sync::Arc<handshake::Attempts>,
    /// Numbers attempts, so a late report never clears another's slot.
    attempts: u64,
    initiating: bool,
    /// Unpaired devices mDNS found on this network, with their addresses.
    pub(super) nearby: HashMap<DeviceId, Vec<String>>,
    /// Invites asked for before the network reported an address to put in them.
    waiting_invites: Vec<(Instant, Reply<InviteInfo>)>,
    /// Telling the former partner that the pairing ended.
    notice: unpair::Telling,
}

/// How an answering attempt reaches the engine.
struct Ask {
    internal: tokio::sync::mpsc::Sender<Internal>,
    peer: DeviceId,
    attempt: u64,
}

impl handshake::AskEngine for Ask {
    async fn setup(&self) -> Result<PairSetup, Refusal> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let message = PairingInternal::Setup {
            peer: self.peer,
            attempt: self.attempt,
            reply,
        };
        if self.internal.send(message.into()).await.is_err() {
            return Err(Refusal::NotPairing);
        }
        answer.await.unwrap_or(Err(Refusal::NotPairing))
    }

    async fn guess(&self) -> Result<(), Refusal> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let message = PairingInternal::Guess {
            attempt: self.attempt,
            reply,
        };
        if self.internal.send(message.into()).await.is_err() {
            return Err(Refusal::NotPairing);
        }
        answer.await.unwrap_or(Err(Refusal::NotPairing))
    }
}

impl Engine {
    pub(super) async fn on_pairing_command(&mut self, command: PairingCommand) {
        match command {
            PairingCommand::Uncouple {
                delete_history,
                reply,
            } => {
                let result = self.uncouple(delete_history).await;
                let _ = reply.send(result);
            }
            PairingCommand::Invite(reply) => {
                // An invite without an address is useless to the partner: right after
                // start, wait for the first listen address.
                if !self.ready_to_invite() && self.ready_to_pair().is_ok() {
                    self.pairing.waiting_invites.push((Instant::now(), reply));
                } else {
                    let result = self.make_invite();
                    let _ = reply.send(result);
                }
            }
            PairingCommand::NearbyCode(reply) => {
                let result = self.ready_to_pair().map(|()| {
                    let code = hearth_crypto::nearby_code();
                    self.pairing.offer = Some(Offer::new(
                        code.as_bytes().to_vec(),
                        now_ms() + self.config.nearby_code_ttl.as_millis() as i64,
                        true,
                    ));
                    code
                });
                let _ = reply.send(result);
            }
            PairingCommand::NearbyDevices(reply) => {
                if self.partner.is_some() {
                    let _ = reply.send(Ok(Vec::new()));
                    return;
                }
                let candidates = self.pairing_candidates();
                let net = self.net.clone();
                self.spawn(async move {
                    let mut waiting = Vec::new();
                    for (device, addrs) in candidates {
                        if !addrs.is_empty() {
                            let _ = net.dial(Some(device), addrs).await;
                        }
                        // Names go only to a device that completes the handshake: a
                        // device is listed by the end of its id, as the other screen
                        // can show it.
                        if let Ok((_, true)) = handshake::probe(&net, device).await {
                            let id = hearth_net::peer_id_text(device).unwrap_or_default();
                            waiting.push(device_label(&id));
                        }
                    }
                    let _ = reply.send(Ok(waiting));
                });
            }
            PairingCommand::Pair(code, reply) => self.pair(code, reply).await,
            PairingCommand::Reject(reply) => {
                let result = self.reject_pairing().await;
                let _ = reply.send(result);
            }
        }
    }

    fn ready_to_pair(&self) -> Result<(), NodeError> {
        if self.partner.is_some() {
            return Err(NodeError::AlreadyPaired);
        }
        if self.profile.is_none() {
            return Err(NodeError::NoProfile);
        }
        Ok(())
    }

    /// Answers invites that waited for an address, now that there is one.
    pub(super) fn answer_waiting_invites(&mut self) {
        if self.ready_to_invite() {
            for (_, reply) in std::mem::take(&mut self.pairing.waiting_invites) {
                let result = self.make_invite();
                let _ = reply.send(result);
            }
        }
    }

    fn make_invite(&mut self) -> Result<InviteInfo, NodeError> {
        self.ready_to_pair()?;
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        let expires_at_ms = now_ms() + self.config.invite_ttl.as_millis() as i64;
        let suffix = format!("/p2p/{}", hearth_net::peer_id_text(self.me)?);
        // Circuits on relays first: they are what reaches across the world.
        let mut listen = self.presence.listen.clone();
        listen.sort_by_key(|a| hearth_net::relay_of(a).is_none());
        let addrs = listen
            .iter()
            .filter_map(|a| hearth_net::addr_to_bytes(a.strip_suffix(&suffix).unwrap_or(a)).ok())
            .take(8)
            .collect();
        let invite = Invite {
            peer: hearth_net::peer_id_bytes(self.me)?,
            addrs,
            secret,
            expires_at_ms,
        };
        self.pairing.offer = Some(Offer::new(secret.to_vec(), expires_at_ms, false));
        Ok(InviteInfo {
            code: invite.to_text(),
            qr_bytes: invite.to_bytes(),
            expires_at: expires_at_ms,
        })
    }

    async fn pair(&mut self, code: String, reply: Reply<PairedInfo>) {
        if let Err(e) = self.ready_to_pair() {
            let _ = reply.send(Err(e));
            return;
        }
        if self.pairing.initiating {
            let _ = reply.send(Err(NodeError::Pairing(PairFail::AlreadyPairing)));
            return;
        }
        let Some(profile) = self.profile.clone() else {
            let _ = reply.send(Err(NodeError::NoProfile));
            return;
        };
        let code = code.trim().to_string();
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        let me = self.me;
        let static_key = self.static_key.clone();

        if code.trim_start().starts_with("hearth-mailbox:") {
            let _ = reply.send(Err(NodeError::Pairing(PairFail::MailboxInvite)));
            return;
        }
        if code.starts_with("hearth:") {
            let invite = match Invite::from_text(&code) {
                Ok(invite) => invite,
                Err(e) => {
                    let _ = reply.send(Err(NodeError::Pairing(PairFail::BadInvite(e.to_string()))));
                    return;
                }
            };
            if invite.expires_at_ms < now_ms() {
                let _ = reply.send(Err(NodeError::Pairing(PairFail::Expired)));
                return;
            }
            let Ok(them) = hearth_net::device_from_peer_bytes(&invite.peer) else {
                let _ = reply.send(Err(NodeError::Pairing(PairFail::BadInvite(
                    "it names no device".into(),
                ))));
                return;
            };
            if them == me {
                let _ = reply.send(Err(NodeError::Pairing(PairFail::OwnInvite)));
                return;
            }
            let addrs: Vec<String> = invite
                .addrs
                .iter()
                .filter_map(|a| hearth_net::addr_from_bytes(a).ok())
                .collect();
            if addrs.is_empty() {
                let _ = reply.send(Err(NodeError::Pairing(PairFail::NoAddress)));
                return;
            }
            if let Err(e) = self.net.dial(Some(them), addrs.clone()).await {
                let _ = reply.send(Err(e.into()));
                return;
            }
            self.pairing.initiating = true;
            let setup = PairSetup {
                code: invite.secret.to_vec(),
                me,
                them,
                static_key,
                profile,
                showing_code: false,
            };
            self.spawn(async move {
                let result = handshake::initiate(net, setup).await;
                let report = PairingInternal::Initiated {
                    result,
                    addrs,
                    reply,
                };
                let _ = internal.send(report.into()).await;
            });
        } else if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            // Nearby: ask each device found here whether it is waiting, and pair
            // with the first that is.
            let candidates = self.pairing_candidates();
            self.pairing.initiating = true;
            self.spawn(async move {
                let mut result = Err(PairFail::NotPairing);
                let mut used_addrs = Vec::new();
                for (them, addrs) in candidates {
                    if !addrs.is_empty() {
                        let _ = net.dial(Some(them), addrs.clone()).await;
                    }
                    // Only a device showing six digits: trying a code against one that
                    // sent an invite would spend one of the invite's three tries.
                    match handshake::probe(&net, them).await {
                        Ok((_, true)) => {
                            tracing::debug!("found a device waiting to pair");
                            let setup = PairSetup {
                                code: code.as_bytes().to_vec(),
                                me,
                                them,
                                static_key: static_key.clone(),
                                profile: profile.clone(),
                                showing_code: false,
                            };
                            result = handshake::initiate(net.clone(), setup).await;
                            used_addrs = addrs;
                            break;
                        }
                        Ok((_, false)) => tracing::debug!("device has an invite open, not a code"),
                        Err(e) => tracing::debug!(error = %e, "device not waiting to pair"),
                    }
                }
                let report = PairingInternal::Initiated {
                    result,
                    addrs: used_addrs,
                    reply,
                };
                let _ = internal.send(report.into()).await;
            });
        } else {
            let _ = reply.send(Err(NodeError::Pairing(PairFail::NotACode)));
        }
    }

    /// Every device found on this network by mDNS, or already connected, that is not
    /// this one: who a six-digit code could be for.
    fn pairing_candidates(&self) -> Vec<(DeviceId, Vec<String>)> {
        let mut candidates: Vec<(DeviceId, Vec<String>)> = self
            .pairing
            .nearby
            .iter()
            .map(|(d, a)| (*d, a.clone()))
            .collect();
        for device in &self.presence.connected {
            if !self.pairing.nearby.contains_key(device) {
                candidates.push((*device, Vec::new()));
            }
        }
        candidates
    }

    /// A device opened the pairing stream: answer it in a task, with our code if we
    /// are taking pairings from it now.
    pub(super) fn incoming_pairing(&mut self, peer: DeviceId, stream: FramedStream) {
        let offer = self.offer_for(peer).map(|setup| setup.showing_code);
        let answering = self.pairing.answering.clone();
        self.pairing.attempts += 1;
        let attempt = self.pairing.attempts;
        let internal = self.internal_tx.clone();
        let ask = Ask {
            internal: internal.clone(),
            peer,
            attempt,
        };
        self.spawn(async move {
            let responded =
                handshake::respond(stream, offer, ask, answering.clone(), peer, attempt).await;
            // Its place first (its try is the engine's to count), then however it
            // ended, the engine hears of it, and lets its try go.
            answering.release(attempt);
            let _ = internal
                .send(PairingInternal::Responded { attempt, responded }.into())
                .await;
        });
    }

    /// Promises one of the code's tries to `attempt`, about to read its guess, if
    /// it was given the code on screen and tries are left once every guess being
    /// read now is counted as wrong.
    fn promise_guess(&mut self, attempt: u64) -> Result<(), Refusal> {
        // Pairing out by its own code meanwhile: not both.
        if self.pairing.initiating || self.partner.is_some() {
            return Err(Refusal::NotPairing);
        }
        let Some(offer) = &mut self.pairing.offer else {
            return Err(Refusal::NotPairing);
        };
        if !offer.given.contains(&attempt) {
            // The code it was given has been replaced.
            return Err(Refusal::NotPairing);
        }
        if offer.failures + offer.guessing.len() as u32 >= MAX_PAIRING_FAILURES {
            return Err(Refusal::TooManyTries);
        }
        // One guess read at a time: two right ones must not both pair. Reading one
        // is a moment's work; the other initiator asks again.
        if !offer.guessing.is_empty() {
            return Err(Refusal::Busy);
        }
        offer.guessing.insert(attempt);
        Ok(())
    }

    /// This device's code, if it is taking pairings from `peer` now.
    fn offer_for(&mut self, peer: DeviceId) -> Result<PairSetup, Refusal> {
        if self.partner.is_some() || self.pairing.initiating {
            return Err(Refusal::NotPairing);
        }
        let (Some(offer), Some(profile)) = (&self.pairing.offer, &self.profile) else {
            return Err(Refusal::NotPairing);
        };
        if offer.expires_at_ms < now_ms() {
            self.pairing.offer = None;
            return Err(Refusal::Expired);
        }
        Ok(PairSetup {
            code: offer.code.clone(),
            me: self.me,
            them: peer,
            static_key: self.static_key.clone(),
            profile: profile.clone(),
            showing_code: offer.nearby,
        })
    }

    async fn complete_pairing(
        &mut self,
        outcome: PairOutcome,
        addrs: Vec<String>,
    ) -> Result<PairedInfo, NodeError> {
        // Set once: a second pairing never replaces the first.
        if self.partner.is_some() {
            return Err(NodeError::AlreadyPaired);
        }
        let mut known = addrs;
        if let Some(found) = self.pairing.nearby.get(&outcome.partner) {
            known.extend(found.iter().cloned());
        }
        known.dedup();
        // A pairing that ended left its history here to read: a new one starts
        // from nothing.
        self.forget_ended_pairing().await?;
        let partner = Partner {
            device: outcome.partner,
            profile: outcome.partner_profile.clone(),
            static_key: outcome.partner_static,
            safety_words: outcome.safety_words.clone(),
            addrs: known,
            paired_at_ms: now_ms(),
        };
        self.store.set_setting(SETTING_PARTNER, &partner)?;
        self.drop_notice();
        self.flush()?;
        self.sync = super::sync::SyncRoom::new(self.me, Some(&partner));
        self.mailbox.set_partner(&self.static_key, Some(&partner));
        self.partner = Some(partner);
        self.pairing.offer = None;
        self.pairing.nearby.clear();
        self.paired_over_internet().await;
        self.net
            .set_policy(Policy::device(Some(outcome.partner), self.mailbox_device()))
            .await?;
        tracing::info!(partner = %outcome.partner, "paired");
        if self.presence.connected.contains(&outcome.partner) {
            self.partner_online().await;
        }
        Ok(PairedInfo {
            partner: outcome.partner_profile,
            safety_words: outcome.safety_words,
        })
    }

    pub(super) async fn on_pairing_internal(&mut self, message: PairingInternal) {
        match message {
            PairingInternal::Notified { delivered } => self.on_notified(delivered),
            PairingInternal::Setup {
                peer,
                attempt,
                reply,
            } => {
                let setup = self.offer_for(peer);
                if let (Ok(_), Some(offer)) = (&setup, &mut self.pairing.offer) {
                    offer.given.insert(attempt);
                }
                let _ = reply.send(setup);
            }
            PairingInternal::Guess { attempt, reply } => {
                let _ = reply.send(self.promise_guess(attempt));
            }
            PairingInternal::Initiated {
                result,
                addrs,
                reply,
            } => {
                self.pairing.initiating = false;
                let result = match result {
                    Ok(outcome) => self.complete_pairing(outcome, addrs).await,
                    Err(e) => Err(NodeError::Pairing(e)),
                };
                let _ = reply.send(result);
            }
            PairingInternal::Responded { attempt, responded } => {
                // Whether this attempt's guess was read under the code on screen.
                let guessed = match &mut self.pairing.offer {
                    Some(offer) => {
                        offer.given.remove(&attempt);
                        offer.guessing.remove(&attempt)
                    }
                    None => false,
                };
                match responded {
                    Responded::Probed => {}
                    Responded::Handshake {
                        result: Ok(outcome),
                        ..
                    } => match self.complete_pairing(outcome, Vec::new()).await {
                        Ok(info) => self.emit(NodeEvent::Paired(info)).await,
                        Err(e) => self.emit(NodeEvent::Error(e.to_string())).await,
                    },
                    // A guess was read, was not found right, and no pairing came of
                    // it: a wrong try, however the attempt ended after (a peer that
                    // cuts its attempt short after sending its guess learns the
                    // answer all the same).
                    Responded::Handshake {
                        result: Err(e),
                        code_right: false,
                    } if guessed => {
                        tracing::debug!(reason = %e, "a pairing attempt guessed wrong");
                        let left = match &mut self.pairing.offer {
                            Some(offer) => {
                                offer.failures += 1;
                                MAX_PAIRING_FAILURES.saturating_sub(offer.failures)
                            }
                            None => 0,
                        };
                        if left == 0 {
                            self.pairing.offer = None;
                        }
                        let failure = PairFail::WrongCodeTried { tries_left: left };
                        self.emit(NodeEvent::PairingFailed(failure)).await;
                    }
                    // Broken off, stalled or garbled before any guess, or a guess
                    // against a code since replaced: a stranger's doing as often as
                    // not; nothing the user needs to see.
                    Responded::Handshake {
                        result:
                            Err(
                                e @ (PairFail::Abandoned
                                | PairFail::Timeout
                                | PairFail::Protocol
                                | PairFail::CodeMismatch),
                            ),
                        ..
                    } => {
                        tracing::debug!(reason = %e, "a pairing attempt ended without a try");
                    }
                    Responded::Handshake { result: Err(e), .. } => {
                        self.emit(NodeEvent::PairingFailed(e)).await;
                    }
                }
            }
        }
    }

    /// Each tick: answers invites that waited too long for a relay, forgets an
    /// expired code.
    pub(super) fn maintain_pairing(&mut self) {
        let (expired, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.pairing.waiting_invites)
                .into_iter()
                .partition(|(asked, _)| asked.elapsed() > INVITE_ADDRESS_WAIT);
        self.pairing.waiting_invites = waiting;
        for (_, reply) in expired {
            // No relay answered in time: an invite for this network is still useful.
            let result = if self.presence.listen.is_empty() {
                Err(crate::types::Refusal::NotReachable.into())
            } else {
                self.make_invite()
            };
            let _ = reply.send(result);
        }
        if let Some(offer) = &self.pairing.offer
            && offer.expires_at_ms < now_ms()
        {
            self.pairing.offer = None;
        }
        self.retry_notice();
    }
}
