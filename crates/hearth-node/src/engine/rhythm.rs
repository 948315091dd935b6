//! What the couple's rhythm rooms share: their settings, forgetting them, and
//! folding the logs into them.
//!
//! Each room folds ops as they are announced, and keeps its fold in a setting
//! written after the ops are stored, not in the same batch. So that a crash in
//! between loses nothing, this module keeps how far each author's log has been
//! folded (the `rhythm-folded` setting) and folds the tail past it: every op once
//! at start (a profile from before the rooms existed, or one that crashed), and
//! every second whatever an announce did not reach. Every fold ignores an op it
//! holds already, so folding one twice changes nothing.

use std::collections::BTreeMap;

use hearth_core::{DeviceId, OpBody};

use super::{Engine, boundaries, checkins, days, moods, scheduled};
use crate::types::*;

/// The settings of the couple's rhythm (days, moods, boundaries, check-ins,
/// messages sent for later): forgotten with the shared history.
pub(super) const RHYTHM_SETTINGS: [&str; 9] = [
    days::SETTING_DAYS,
    days::SETTING_REMINDED,
    moods::SETTING_MOODS,
    boundaries::SETTING_BOUNDARIES,
    boundaries::SETTING_HELD,
    checkins::SETTING_CHECKINS,
    checkins::SETTING_STATE,
    scheduled::SETTING_SCHEDULED,
    SETTING_FOLDED,
];

/// How far each author's log is folded into the rhythm rooms.
const SETTING_FOLDED: &str = "rhythm-folded";
/// Ops read at once while folding.
const FOLD_CHUNK: usize = 512;

impl Engine {
    /// The shared history was forgotten: so is the couple's rhythm.
    pub(super) fn forget_rhythm(&mut self) {
        self.forget_days();
        self.forget_moods();
        self.forget_boundaries();
        self.forget_checkins();
        self.forget_scheduled();
    }

    /// Folds the ops past how far each log was folded, at most `chunks` reads of
    /// each author's log. Returns whether any room changed.
    pub(super) fn fold_rhythm_tail(&mut self, chunks: usize) -> bool {
        let mut folded: BTreeMap<DeviceId, u64> =
            super::setting_or_default(&self.store, SETTING_FOLDED);
        let authors = [Some(self.me), self.partner.as_ref().map(|p| p.device)];
        let mut changed = false;
        let mut moved = false;
        for author in authors.into_iter().flatten() {
            let mut after = folded.get(&author).copied().unwrap_or(0);
            for _ in 0..chunks {
                if after >= self.store.held(author) {
                    break;
                }
                let ops = match self.store.ops_after(author, after, FOLD_CHUNK) {
                    Ok(ops) if !ops.is_empty() => ops,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the log to fold the rhythm");
                        break;
                    }
                };
                for op in &ops {
                    changed |= self.days.days.apply(op);
                    changed |= self.moods.apply(op);
                    changed |= self.bounds.boundaries.apply(op);
                    changed |= self.checks.checkins.apply(op);
                    if matches!(op.body, OpBody::Scheduled { .. }) {
                        changed |= self.fold_scheduled(op);
                    }
                }
                after = ops.last().map_or(after, |op| op.id.seq);
                moved = true;
            }
            folded.insert(author, after);
        }
        if changed {
            self.keep_rhythm();
        }
        if moved && let Err(e) = self.store.set_setting(SETTING_FOLDED, &folded) {
            tracing::warn!(error = %e, "could not keep how far the rhythm is folded");
        }
        changed
    }

    fn keep_rhythm(&self) {
        let kept = self
            .store
            .set_setting(days::SETTING_DAYS, &self.days.days)
            .and_then(|()| self.store.set_setting(moods::SETTING_MOODS, &self.moods))
            .and_then(|()| {
                self.store
                    .set_setting(boundaries::SETTING_BOUNDARIES, &self.bounds.boundaries)
            });
        if let Err(e) = kept {
            tracing::warn!(error = %e, "could not keep the couple's rhythm");
        }
        self.keep_checkins();
        self.keep_scheduled();
    }

    /// Every second: what an announce did not fold is folded, and the rooms that
    /// changed say so.
    pub(super) async fn maintain_rhythm(&mut self) {
        if !self.fold_rhythm_tail(1) {
            return;
        }
        self.emit(NodeEvent::Days(self.days_view())).await;
        self.emit(NodeEvent::Moods(self.moods_view(moods::MAX_STRIP_DAYS)))
            .await;
        self.emit(NodeEvent::Boundaries(self.boundaries_view()))
            .await;
        self.emit(NodeEvent::CheckIns(self.checkins_view())).await;
    }
}
