//! Uncoupling: either partner ends the pairing, and both devices carry it out.
//!
//! The one who ends it writes an [`OpBody::Uncouple`] op: it travels like any op,
//! directly or as a letter at the couple's mailbox, exactly once and in order. From
//! then on neither device writes under the pairing. The device that wrote it carries
//! it out once the other has it (acknowledged) or it waits at the mailbox; the other
//! carries it out at the tick after it arrived (its acknowledgement goes first).
//! Carrying it out: with `delete_history`, everything shared is forgotten as when
//! the safety words differ; without, the history stays readable here, the partner is
//! forgotten (no more dialling, rendezvous or mailbox) and the device is open to a
//! new pairing, which starts from an empty history. Each device obeys; nothing can
//! erase copies made elsewhere (exports, backups, screenshots).

use hearth_core::{Op, OpBody};
use serde::{Deserialize, Serialize};

use super::{Engine, SETTING_PARTNER, now_ms};
use crate::types::*;

/// Where how the pairing ended is kept, until a new pairing.
pub(in crate::engine) const SETTING_ENDED: &str = "ended";

/// How the pairing ended, and the seq of this device's uncouple op if it wrote one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(in crate::engine) struct EndedState {
    pub(in crate::engine) info: Ended,
    seq: Option<u64>,
}

impl Engine {
    /// This user ends the pairing. Asked again while the partner's device has not
    /// heard yet (it may never come back, or its acknowledgement was lost), the
    /// ending is carried out here now, without waiting.
    pub(super) async fn uncouple(&mut self, delete_history: bool) -> Result<Ended, NodeError> {
        let partner = self.partner.clone().ok_or(NodeError::NotPaired)?;
        match &self.ended {
            Some(state) if !state.info.done && !state.info.by_partner => {
                tracing::info!("ending the pairing now, without waiting for the partner's device");
                self.carry_out_uncouple().await?;
                return self.ended_info().ok_or(NodeError::NotPaired);
            }
            Some(_) => return Err(Refusal::AlreadyEnding.into()),
            None => {}
        }
        let op = self.write(OpBody::Uncouple { delete_history }).await?;
        let state = EndedState {
            info: Ended {
                by_partner: false,
                delete_history,
                at_ms: now_ms(),
                done: false,
                partner_name: partner.profile.name,
            },
            seq: Some(op.id.seq),
        };
        self.store.set_setting(SETTING_ENDED, &state)?;
        self.flush()?;
        tracing::info!(delete_history, "this user ended the pairing");
        let info = state.info.clone();
        self.ended = Some(state);
        self.emit(NodeEvent::Ended(info.clone())).await;
        Ok(info)
    }

    /// The partner's uncouple op arrived.
    pub(in crate::engine) async fn partner_uncoupled(&mut self, op: &Op) {
        let OpBody::Uncouple { delete_history } = op.body else {
            return;
        };
        let Some(partner) = &self.partner else {
            return;
        };
        let state = match self.ended.take() {
            // Both ended it: the one who asked for deleting wins.
            Some(mut mine) => {
                mine.info.delete_history |= delete_history;
                mine
            }
            None => EndedState {
                info: Ended {
                    by_partner: true,
                    delete_history,
                    at_ms: now_ms(),
                    done: false,
                    partner_name: partner.profile.name.clone(),
                },
                seq: None,
            },
        };
        if let Err(e) = self
            .store
            .set_setting(SETTING_ENDED, &state)
            .and_then(|()| self.store.flush())
        {
            tracing::warn!(error = %e, "could not record that the pairing ended");
        }
        tracing::info!(delete_history, "the partner ended the pairing");
        let info = state.info.clone();
        self.ended = Some(state);
        self.emit(NodeEvent::Ended(info)).await;
    }

    /// Each tick: carries out an ending the other device now knows of.
    pub(in crate::engine) async fn maintain_uncouple(&mut self) {
        let Some(state) = &self.ended else {
            return;
        };
        if state.info.done {
            return;
        }
        let told = match state.seq {
            Some(seq) => self.store.acked(self.me) >= seq || self.mailbox.deposited >= seq,
            None => true,
        };
        if told && let Err(e) = self.carry_out_uncouple().await {
            tracing::warn!(error = %e, "could not carry out the end of the pairing");
        }
    }

    async fn carry_out_uncouple(&mut self) -> Result<(), NodeError> {
        let Some(mut state) = self.ended.clone() else {
            return Ok(());
        };
        state.info.done = true;
        self.leave_mailbox_now().await;
        if state.info.delete_history {
            // Everything shared goes, as when the safety words differ.
            self.unpair().await?;
        } else {
            // The partner goes; the history stays, readable, until a new pairing.
            self.store.remove_setting(SETTING_PARTNER)?;
            for name in super::super::mailbox::SETTINGS {
                self.store.remove_setting(name)?;
            }
            self.flush()?;
            self.partner = None;
            // Files still on their way from the former partner will not come.
            self.files.stop_downloads();
            self.mailbox.set_partner(&self.static_key, None);
            self.sync = super::super::sync::SyncRoom::new(self.me, None);
            self.internet.forget_partner();
            // Open to a new pairing, shut to the former partner.
            self.restart_net().await?;
        }
        self.store.set_setting(SETTING_ENDED, &state)?;
        self.flush()?;
        tracing::info!(
            delete_history = state.info.delete_history,
            "the end of the pairing is carried out"
        );
        let info = state.info.clone();
        self.ended = Some(state);
        // Said before "unpaired", so the window knows why.
        self.emit(NodeEvent::Ended(info.clone())).await;
        if info.delete_history {
            self.emit(NodeEvent::Unpaired {
                by_partner: info.by_partner,
            })
            .await;
        }
        Ok(())
    }

    /// A new pairing starts from nothing: the history an ended pairing left is
    /// forgotten first.
    pub(super) async fn forget_ended_pairing(&mut self) -> Result<(), NodeError> {
        if self.ended.take().is_none() {
            return Ok(());
        }
        self.files.stop_sealing().await;
        for task in self.files.running.values() {
            task.abort();
        }
        self.files = super::super::files::Files::new(self.store.blobs(), &self.config.faults());
        let mut settings = vec![SETTING_ENDED, super::super::files::SETTING_STAGING];
        settings.extend(super::super::rhythm::RHYTHM_SETTINGS);
        self.store.forget_history(&settings)?;
        self.flush()?;
        self.forget_rhythm();
        Ok(())
    }

    /// At start: an uncouple op that is the last of either log, with no ending
    /// recorded (a crash between writing one and recording it), is taken up again.
    pub(in crate::engine) fn recover_uncouple(&mut self) {
        if self.ended.is_some() {
            return;
        }
        let Some(partner) = self.partner.clone() else {
            return;
        };
        for (author, by_partner) in [(self.me, false), (partner.device, true)] {
            let held = self.store.held(author);
            let last = match held {
                0 => continue,
                held => self.store.ops_after(author, held - 1, 1),
            };
            let Ok(Some(op)) = last.map(|ops| ops.into_iter().next()) else {
                continue;
            };
            let OpBody::Uncouple { delete_history } = op.body else {
                continue;
            };
            let state = EndedState {
                info: Ended {
                    by_partner,
                    delete_history,
                    at_ms: op.wall_ms,
                    done: false,
                    partner_name: partner.profile.name.clone(),
                },
                seq: (!by_partner).then_some(op.id.seq),
            };
            if let Err(e) = self.store.set_setting(SETTING_ENDED, &state) {
                tracing::warn!(error = %e, "could not record that the pairing ended");
            }
            tracing::info!("an ending of the pairing was found in the log; carrying it on");
            self.ended = Some(state);
            return;
        }
    }

    /// The ended state the status reports.
    pub(in crate::engine) fn ended_info(&self) -> Option<Ended> {
        self.ended.as_ref().map(|s| s.info.clone())
    }
}
