//! Ending a pairing: "the words differ" on the safety-word screen. Both devices
//! forget the pairing and everything shared under it, so either can pair again from
//! nothing. The device where the user said so ends it at once and tells the other
//! with a notice ([`SyncFrame::Unpair`]) now, or when they next meet (within a
//! day); the notice names the pairing by its safety words, so it can never end a
//! later one. It counts as delivered only when the other device answers it with
//! the same notice, which a device does once it is paired with nobody (so it has
//! acted on the notice, or never had that pairing): a device that crashed after
//! reading it is told again when it comes back.

use std::time::Duration;

use hearth_core::DeviceId;
use hearth_core::wire::{self, SyncFrame};
use hearth_net::{Net, Protocol};
use serde::{Deserialize, Serialize};

use super::{Engine, PairingInternal, SETTING_PARTNER, now_ms};
use crate::types::*;

/// Where a notice waiting to reach the former partner is kept.
const SETTING_NOTICE: &str = "unpair-notice";
/// How long a notice is carried before it is dropped.
const NOTICE_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long one try at delivering it may take.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an unpaired device waits for a notice on a stream opened to it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Streams answered at once, and the largest frame read from one: a notice is a few
/// dozen bytes, and anyone may open such a stream to a device that is not paired.
const ANSWERING: usize = 4;
const NOTICE_FRAME: usize = 256;
/// How often a notice not yet confirmed is tried again, besides whenever the
/// former partner's device connects: one that acted on it and restarted has no
/// reason to dial this device.
const NOTICE_RETRY: Duration = Duration::from_secs(30);

/// A notice that the pairing ended, for the device that was the partner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Notice {
    device: DeviceId,
    addrs: Vec<String>,
    tag: [u8; 32],
    until_ms: i64,
}

impl Engine {
    /// The user found the safety words differ: end the pairing here, and tell the
    /// other device.
    pub(super) async fn reject_pairing(&mut self) -> Result<(), NodeError> {
        let partner = self.partner.clone().ok_or(NodeError::NotPaired)?;
        let notice = Notice {
            device: partner.device,
            addrs: partner.addrs.clone(),
            tag: hearth_crypto::unpair_tag(&partner.safety_words),
            until_ms: now_ms() + NOTICE_TTL_MS,
        };
        self.store.set_setting(SETTING_NOTICE, &notice)?;
        self.unpair().await?;
        tracing::info!("the safety words differed: the pairing is ended");
        self.emit(NodeEvent::Unpaired { by_partner: false }).await;
        self.send_notice();
        Ok(())
    }

    /// A notice from the partner's device that its user ended this pairing.
    pub(in crate::engine) async fn on_unpair_notice(&mut self, tag: [u8; 32]) {
        let ours = self
            .partner
            .as_ref()
            .map(|p| hearth_crypto::unpair_tag(&p.safety_words));
        if ours != Some(tag) {
            tracing::debug!("a notice for another pairing; ignored");
            return;
        }
        match self.unpair().await {
            Ok(()) => {
                tracing::info!("the partner's device ended the pairing");
                self.emit(NodeEvent::Unpaired { by_partner: true }).await;
            }
            Err(e) => tracing::warn!(error = %e, "could not end the pairing"),
        }
    }

    /// Forgets the partner and everything shared: the logs, the files, the sync
    /// session, the rendezvous; the network restarts open to a new pairing. This
    /// device's identity, profile and preferences stay.
    pub(super) async fn unpair(&mut self) -> Result<(), NodeError> {
        // The mailbox forgets this device and its letters: they were sealed for
        // this pairing.
        self.leave_mailbox_now().await;
        self.files.stop_sealing().await;
        for task in self.files.running.values() {
            task.abort();
        }
        self.files = super::super::files::Files::new(self.store.blobs(), &self.config.faults());
        // The partner goes in the same atomic write as the history: a crash never
        // leaves this device paired with an empty log.
        let mut settings = vec![
            SETTING_PARTNER,
            super::super::files::SETTING_STAGING,
            super::super::files::SETTING_ANNOUNCED,
            super::super::internet::SETTING_NEWEST_RECORD,
            super::super::mailbox::SETTINGS[0],
            super::super::mailbox::SETTINGS[1],
            super::super::mailbox::SETTINGS[2],
            super::super::mailbox::SETTINGS[3],
        ];
        settings.extend(super::super::rhythm::RHYTHM_SETTINGS);
        self.store.forget_history(&settings)?;
        self.flush()?;
        self.forget_rhythm();
        self.partner = None;
        self.mailbox.set_partner(&self.static_key, None);
        self.sync = super::super::sync::SyncRoom::new(self.me, None);
        self.pairing = super::Pairing::default();
        self.internet.forget_partner();
        self.restart_net().await
    }

    /// Tries to deliver a pending notice, in a task.
    pub(in crate::engine) fn send_notice(&mut self) {
        let notice: Option<Notice> = self.store.setting(SETTING_NOTICE).ok().flatten();
        let Some(notice) = notice else {
            return;
        };
        if notice.until_ms < now_ms() {
            let _ = self.store.remove_setting(SETTING_NOTICE);
            return;
        }
        if self.pairing.notice.in_flight {
            return;
        }
        self.pairing.notice.in_flight = true;
        self.pairing.notice.tried = Some(std::time::Instant::now());
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let delivered = tokio::time::timeout(NOTICE_TIMEOUT, deliver(&net, &notice))
                .await
                .unwrap_or(false);
            let _ = internal
                .send(PairingInternal::Notified { delivered }.into())
                .await;
        });
    }

    pub(super) fn on_notified(&mut self, delivered: bool) {
        self.pairing.notice.in_flight = false;
        if delivered {
            tracing::info!("the former partner's device was told the pairing ended");
            let _ = self.store.remove_setting(SETTING_NOTICE);
        }
    }

    /// Whether a notice waits for `device`.
    pub(in crate::engine) fn notice_for(&self, device: DeviceId) -> bool {
        self.store
            .setting::<Notice>(SETTING_NOTICE)
            .ok()
            .flatten()
            .is_some_and(|n| n.device == device)
    }

    /// A device opened a sync stream to this one, which is paired with nobody: if
    /// it brings a notice, answer it with the same notice, saying that whatever
    /// pairing it names is over here.
    pub(in crate::engine) fn answer_notice(&mut self, mut stream: hearth_net::FramedStream) {
        let answering = self.pairing.notice.answering.clone();
        if answering.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= ANSWERING {
            answering.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        stream.limit(NOTICE_FRAME);
        self.spawn(async move {
            let _done = Answering(answering);
            let Ok(Ok(bytes)) = tokio::time::timeout(ANSWER_TIMEOUT, stream.recv()).await else {
                return;
            };
            if let Ok(frame @ SyncFrame::Unpair { .. }) = wire::decode_frame(&bytes) {
                let _ = stream.send(&wire::encode_frame(&frame)).await;
                tracing::debug!("answered a notice that a pairing ended");
            }
            let _ = stream.close().await;
        });
    }

    /// Each tick: tries a notice not yet confirmed again, every [`NOTICE_RETRY`].
    pub(super) fn retry_notice(&mut self) {
        if self.partner.is_some()
            || self.pairing.notice.in_flight
            || self
                .pairing
                .notice
                .tried
                .is_some_and(|t| t.elapsed() < NOTICE_RETRY)
        {
            return;
        }
        self.pairing.notice.tried = Some(std::time::Instant::now());
        self.send_notice();
    }

    /// Whether a notice still waits to reach the former partner.
    pub(in crate::engine) fn notice_pending(&self) -> bool {
        self.store
            .setting::<Notice>(SETTING_NOTICE)
            .ok()
            .flatten()
            .is_some_and(|n| n.until_ms >= now_ms())
    }

    /// A new pairing makes an old notice moot.
    pub(super) fn drop_notice(&mut self) {
        let _ = self.store.remove_setting(SETTING_NOTICE);
    }
}

/// How a notice waiting to reach the former partner is being told, and how many
/// streams are being answered: part of the pairing room's state.
#[derive(Default)]
pub(super) struct Telling {
    in_flight: bool,
    tried: Option<std::time::Instant>,
    answering: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a stream being answered until it is done.
struct Answering(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn deliver(net: &Net, notice: &Notice) -> bool {
    if !notice.addrs.is_empty() {
        let _ = net.dial(Some(notice.device), notice.addrs.clone()).await;
    }
    let Ok(mut stream) = net.open(notice.device, Protocol::Sync).await else {
        return false;
    };
    let frame = wire::encode_frame(&SyncFrame::Unpair { tag: notice.tag });
    if stream.send(&frame).await.is_err() {
        return false;
    }
    // Delivered once the other device answers with the same notice: it is paired
    // with nobody now. A device still paired acts on it and restarts its network
    // without answering; the next try, when they meet again, hears the answer.
    let answered = match stream.recv().await {
        Ok(bytes) => matches!(
            wire::decode_frame(&bytes),
            Ok(SyncFrame::Unpair { tag }) if tag == notice.tag
        ),
        Err(_) => false,
    };
    let _ = stream.close().await;
    answered
}
