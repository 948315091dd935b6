//! Finding the partner: an invite (text and QR code), an invite received, or a
//! six-digit code between devices nearby; then the safety words both compare.

use std::time::Instant;

use egui::{Color32, Key, RichText, Ui};
use hearth_node::InviteInfo;

use super::timeline::{day_of, format_time, zone};
use crate::i18n::Tr;

/// When an invite stops working, as a person says it: "until 21:18", "until
/// tomorrow at 09:05", "until 3 December at 21:18" (and in Albanian).
fn until(tr: &Tr, ms: i64, zone: &jiff::tz::TimeZone) -> String {
    let time = format_time(ms, zone);
    let now = jiff::Timestamp::now().as_millisecond();
    let (Some(then), Some(today)) = (day_of(ms, zone), day_of(now, zone)) else {
        return tr.t1("until-today", "time", time);
    };
    if then == today {
        tr.t1("until-today", "time", time)
    } else if today.tomorrow().ok() == Some(then) {
        tr.t1("until-tomorrow", "time", time)
    } else {
        let month = tr.t(&format!("month-{}", then.month()));
        let mut args = fluent_bundle::FluentArgs::new();
        args.set("time", time);
        args.set("day", i64::from(then.day()));
        args.set("month", month);
        tr.args("until-date", &args)
    }
}
use super::{Action, choice_row, column, error, labelled_edit, title};
use crate::app::{HearthApp, Screen};
use crate::theme::palette;

/// How often the Nearby tab asks who is waiting to pair.
const NEARBY_REFRESH: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairTab {
    Invite,
    HaveInvite,
    Nearby,
}

/// The pairing screen's state.
pub(crate) struct PairScreen {
    pub(crate) tab: PairTab,
    pub(crate) invite: Option<InviteInfo>,
    pub(crate) pasted: String,
    pub(crate) nearby_code: Option<String>,
    pub(crate) typed_code: String,
    /// Names of devices nearby that are waiting to pair, and when they were asked.
    pub(crate) nearby: Vec<String>,
    pub(crate) nearby_asked: Option<Instant>,
    /// Pairing with the partner's code is under way.
    pub(crate) busy: bool,
    /// An invite was asked of the engine.
    pub(crate) invite_requested: bool,
    pub(crate) error: Option<String>,
    pub(crate) copied: bool,
}

impl PairScreen {
    pub(crate) fn new() -> PairScreen {
        PairScreen {
            tab: PairTab::Invite,
            invite: None,
            pasted: String::new(),
            nearby_code: None,
            typed_code: String::new(),
            nearby: Vec::new(),
            nearby_asked: None,
            busy: false,
            invite_requested: false,
            error: None,
            copied: false,
        }
    }
}

pub(super) fn pair(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let my_zone = zone(&app.status_time_zone());
    // How this device shows in the partner's Nearby list: the end of its id, as
    // the engine lists devices there (no names before the handshake).
    let this_device = app
        .status
        .as_ref()
        .map(|s| hearth_node::device_label(&s.peer_id));
    let tr = &app.tr;
    let Screen::Pair(pair) = &mut app.screen else {
        return;
    };
    column(ui, |ui| {
        title(ui, tr.t("pair-title"));
        let tabs = [
            (PairTab::Invite, tr.t("pair-invite")),
            (PairTab::HaveInvite, tr.t("pair-have-invite")),
            (PairTab::Nearby, tr.t("pair-nearby")),
        ];
        let tabs = tabs.each_ref().map(|(tab, label)| (*tab, label.as_str()));
        if let Some(tab) = choice_row(ui, pair.tab, &tabs) {
            pair.tab = tab;
            pair.error = None;
        }
        ui.separator();
        match pair.tab {
            PairTab::Invite => match &pair.invite {
                None => {
                    ui.spinner();
                    if !pair.invite_requested {
                        pair.invite_requested = true;
                        out.push(Action::RequestInvite);
                    }
                }
                Some(invite) => {
                    let until = until(tr, invite.expires_at, &my_zone);
                    ui.label(tr.t1("pair-invite-help", "until", until));
                    let mut code = invite.code.clone();
                    ui.add(
                        egui::TextEdit::multiline(&mut code)
                            .desired_rows(3)
                            .desired_width(f32::INFINITY)
                            .font(egui::TextStyle::Monospace),
                    );
                    let label = tr.t(if pair.copied {
                        "pair-copied"
                    } else {
                        "pair-copy"
                    });
                    if ui.button(label).clicked() {
                        ui.ctx().copy_text(invite.code.clone());
                        pair.copied = true;
                    }
                    qr_code(ui, &invite.qr_bytes);
                }
            },
            PairTab::HaveInvite => {
                let edit_label = ui.label(tr.t("pair-paste-label"));
                ui.add(
                    egui::TextEdit::multiline(&mut pair.pasted)
                        .desired_rows(4)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(edit_label.id);
                if pair.busy {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(tr.t("pair-working"));
                    });
                } else if ui.button(tr.t("pair-join")).clicked() && !pair.pasted.trim().is_empty() {
                    pair.busy = true;
                    pair.error = None;
                    out.push(Action::Pair(pair.pasted.trim().to_string()));
                }
            }
            PairTab::Nearby => {
                // Who is waiting to pair on this network, asked again every few seconds.
                if pair
                    .nearby_asked
                    .is_none_or(|t| t.elapsed() > NEARBY_REFRESH)
                    && !pair.busy
                {
                    pair.nearby_asked = Some(Instant::now());
                    out.push(Action::RefreshNearby);
                }
                ui.ctx().request_repaint_after(NEARBY_REFRESH);
                ui.separator();
                match &pair.nearby_code {
                    Some(code) => {
                        ui.label(
                            RichText::new(code)
                                .size(40.0)
                                .monospace()
                                .color(palette(ui.ctx()).accent),
                        );
                        ui.label(tr.t("pair-nearby-code-help"));
                        if let Some(id) = &this_device {
                            ui.label(
                                RichText::new(tr.t1("pair-nearby-this-device", "id", id.as_str()))
                                    .small()
                                    .color(palette(ui.ctx()).muted),
                            );
                        }
                    }
                    None => {
                        if ui.button(tr.t("pair-nearby-show")).clicked() {
                            out.push(Action::RequestNearbyCode);
                        }
                    }
                }
                ui.separator();
                let edit = labelled_edit(ui, tr.t("pair-nearby-type"), &mut pair.typed_code, false);
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                if pair.busy {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(tr.t("pair-working"));
                    });
                } else if (ui.button(tr.t("pair-join")).clicked() || enter)
                    && pair.typed_code.trim().len() == 6
                {
                    pair.busy = true;
                    pair.error = None;
                    out.push(Action::Pair(pair.typed_code.trim().to_string()));
                }
            }
        }
        if pair.tab == PairTab::Nearby {
            ui.separator();
            if pair.nearby.is_empty() {
                ui.label(
                    RichText::new(tr.t("pair-nearby-nobody"))
                        .small()
                        .color(palette(ui.ctx()).muted),
                );
            } else {
                ui.label(RichText::new(tr.t("pair-nearby-waiting")).small());
                for id in &pair.nearby {
                    let device = tr.t1("pair-nearby-device", "id", id.as_str());
                    ui.label(RichText::new(format!("• {device}")).strong());
                }
            }
        }
        error(ui, &pair.error);
    });
}

fn qr_code(ui: &mut Ui, bytes: &[u8]) {
    let Ok(code) = qrcode::QrCode::new(bytes) else {
        return;
    };
    let width = code.width();
    let modules = code.to_colors();
    let cell = 4.0;
    let quiet = 2.0 * cell;
    let size = egui::vec2(
        width as f32 * cell + 2.0 * quiet,
        width as f32 * cell + 2.0 * quiet,
    );
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, Color32::WHITE);
    for (i, color) in modules.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = ((i % width) as f32, (i / width) as f32);
            let min = rect.min + egui::vec2(quiet + x * cell, quiet + y * cell);
            painter.rect_filled(
                egui::Rect::from_min_size(min, egui::vec2(cell, cell)),
                0.0,
                Color32::BLACK,
            );
        }
    }
}

pub(super) fn safety_words(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let Screen::SafetyWords(info) = &app.screen else {
        return;
    };
    let tr = &app.tr;
    column(ui, |ui| {
        title(ui, tr.t1("safety-title", "name", info.partner.name.clone()));
        ui.label(
            RichText::new(info.safety_words.join("  ·  "))
                .size(22.0)
                .strong(),
        );
        ui.add_space(8.0);
        ui.label(tr.t("safety-body"));
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            if ui.button(tr.t("safety-continue")).clicked() {
                out.push(Action::EnterChat);
            }
            if ui.button(tr.t("safety-differ")).clicked() {
                out.push(Action::RejectPairing);
            }
        });
        ui.label(
            RichText::new(tr.t("safety-differ-note"))
                .small()
                .color(palette(ui.ctx()).muted),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::until;
    use crate::i18n::{Lang, Tr};

    /// An invite made now works for a day: "until tomorrow", not a bare time that
    /// reads as today.
    #[test]
    fn an_invite_says_it_works_until_tomorrow() {
        let zone = jiff::tz::TimeZone::UTC;
        let now = jiff::Timestamp::now();
        let tomorrow = now.as_millisecond() + 24 * 3600 * 1000;
        let time = super::format_time(tomorrow, &zone);
        assert_eq!(
            until(&Tr::new(Lang::En), tomorrow, &zone),
            format!("until tomorrow at {time}")
        );
        assert_eq!(
            until(&Tr::new(Lang::Sq), tomorrow, &zone),
            format!("deri nesër në {time}")
        );
        let today = super::format_time(now.as_millisecond(), &zone);
        assert_eq!(
            until(&Tr::new(Lang::En), now.as_millisecond(), &zone),
            format!("until {today}")
        );
    }
}
