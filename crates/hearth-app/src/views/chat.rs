//! The chat: the header (who, how connected, their time of day), the composer with
//! its emoji and pasted-picture bar, and the timeline between them.

use std::time::Instant;

use egui::{Align, Key, KeyboardShortcut, Layout, Modifiers, RichText, Ui};
use hearth_node::Connection;

use super::timeline::{timeline, zone};
use super::{Action, icon_button, labelled};
use crate::app::HearthApp;
use crate::theme::palette;

const EMOJI: [&str; 24] = [
    "😀", "😂", "😊", "😍", "😘", "🥰", "😉", "😎", "🤗", "😢", "😭", "😴", "❤", "💕", "💋", "🌹",
    "☀", "🌙", "⭐", "🎉", "👍", "👋", "🙏", "☕",
];

pub(super) fn chat(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    chat_header(app, ui, out);
    match app.status.as_ref().and_then(|s| s.ended.clone()) {
        // Nothing more is written under an ended pairing: it says so instead.
        Some(ended) => ended_bar(app, ui, &ended, out),
        None => composer(app, ui, out),
    }
    timeline(app, ui, out);
}

/// Where the composer was: how the pairing ended, and "pair anew" once it is
/// carried out.
fn ended_bar(app: &HearthApp, ui: &mut Ui, ended: &hearth_node::Ended, out: &mut Vec<Action>) {
    let tr = &app.tr;
    let name = ended.partner_name.as_str();
    let text = match (ended.done, ended.by_partner) {
        (false, false) => tr.t1("ended-by-me-pending", "name", name),
        (false, true) | (true, true) => tr.t1("ended-by-partner", "name", name),
        (true, false) => tr.t("ended-by-me"),
    };
    egui::Panel::bottom("ended").show(ui, |ui| {
        ui.add_space(8.0);
        ui.label(RichText::new(text).strong());
        // The partner's device may never come back: the user can finish it here.
        if !ended.done && !ended.by_partner && ui.button(tr.t("ended-finish-now")).clicked() {
            out.push(Action::Uncouple {
                delete_history: ended.delete_history,
            });
        }
        if ended.done {
            ui.label(RichText::new(tr.t("ended-done")).small());
            if ui.button(tr.t("ended-pair-anew")).clicked() {
                out.push(Action::PairAnew);
            }
        }
        ui.add_space(8.0);
    });
}

fn chat_header(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let p = palette(ui.ctx());
    let name = app.partner_name();
    let online = app.online();
    let typing = app.partner_typing_until.is_some_and(|t| t > Instant::now());
    // Once a pairing has ended the partner, and their time zone, may be gone:
    // their clock is not shown rather than shown in UTC.
    let ended = app.status.as_ref().is_some_and(|s| s.ended.is_some());
    let partner_tz = app
        .status
        .as_ref()
        .and_then(|s| s.partner.as_ref())
        .map(|p| p.time_zone.clone());
    let show_clock = partner_tz.is_some() && !ended;
    let partner_tz = partner_tz.unwrap_or_else(|| "UTC".into());
    let now = jiff::Timestamp::now().to_zoned(zone(&partner_tz));
    let hour = now.hour();
    let day = (7..20).contains(&hour);
    let tr = &app.tr;
    let their_time = tr.t2(
        "chat-their-time",
        ("time", now.strftime("%H:%M").to_string().into()),
        ("name", name.clone().into()),
    );
    // The mood the partner shared today, by their own calendar.
    let partner_mood = app
        .moods
        .as_ref()
        .filter(|_| !ended)
        .and_then(|m| super::moods::partner_today(m, now.date()))
        .map(|d| d.mood.clone());
    // The partner's agreed quiet hours, if they are in them now.
    let partner_quiet = app
        .boundaries
        .as_ref()
        .filter(|_| show_clock)
        .and_then(|b| b.agreement.partner.quiet.as_ref())
        .and_then(|q| super::boundaries::quiet_until(q, &partner_tz));
    // The next check-in, on both clocks.
    let checkin_line = app
        .checkins
        .as_ref()
        .filter(|_| !ended)
        .and_then(|c| c.checkins.first())
        .map(|c| {
            tr.t1(
                "checkin-next",
                "when",
                super::boundaries::checkin_line(tr, c, &name),
            )
        });
    let days_line = app
        .days
        .as_ref()
        .filter(|_| !ended)
        .and_then(|d| super::days::header_line(tr, d));
    let presence = if ended {
        tr.t("chat-ended")
    } else if typing {
        tr.t1("chat-typing", "name", name.clone())
    } else if online {
        // How the two are connected: a person deciding whether to send a video
        // cares whether it goes through a relay.
        match app.status.as_ref().map(|s| s.connection) {
            Some(Connection::Nearby) => tr.t("chat-nearby"),
            Some(Connection::Direct) => tr.t("chat-direct"),
            Some(Connection::Relay) => tr.t("chat-relay"),
            _ => tr.t("chat-online"),
        }
    } else if app
        .status
        .as_ref()
        .is_some_and(|s| s.mailbox.peer_id.is_some() && s.mailbox.reachable)
    {
        // Apart, but the mailbox carries what is written.
        tr.t("chat-offline-mailbox")
    } else {
        tr.t("chat-offline")
    };
    egui::Panel::top("chat_header").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let dot = if online { p.online } else { p.muted };
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().circle_filled(rect.center(), 4.5, dot);
            ui.label(RichText::new(&name).size(19.0).strong());
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let t_settings = tr.t("chat-settings");
                let button = ui.button("⚙").on_hover_text(&t_settings);
                labelled(&button, &t_settings);
                if button.clicked() {
                    out.push(Action::OpenSettings);
                }
                let t_memories = tr.t("memories-title");
                let button = ui.button("🖼").on_hover_text(&t_memories);
                labelled(&button, &t_memories);
                if button.clicked() {
                    out.push(Action::OpenMemories);
                }
                if !ended {
                    let t_bounds = tr.t("bounds-title");
                    let button = ui.button("🌙").on_hover_text(&t_bounds);
                    labelled(&button, &t_bounds);
                    if button.clicked() {
                        out.push(Action::OpenBoundaries);
                    }
                    let t_mood = tr.t("mood-button");
                    let button = ui.button("☀").on_hover_text(&t_mood);
                    labelled(&button, &t_mood);
                    if button.clicked() {
                        out.push(Action::OpenMoods);
                    }
                }
            });
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(presence).small().color(p.muted));
            if show_clock {
                ui.label(RichText::new("·").small().color(p.muted));
                let cue = if day { "☀" } else { "🌙" };
                ui.label(
                    RichText::new(format!("{cue} {their_time}"))
                        .small()
                        .color(p.muted),
                );
            }
            if let Some(until) = &partner_quiet {
                ui.label(RichText::new("·").small().color(p.muted));
                ui.label(
                    RichText::new(tr.t1("chat-quiet-until", "until", until.as_str()))
                        .small()
                        .color(p.muted),
                );
            }
            if let Some(mood) = &partner_mood {
                ui.label(RichText::new("·").small().color(p.muted));
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().circle_filled(
                    rect.center(),
                    4.5,
                    super::moods::mood_colour(&mood.mood),
                );
                ui.label(
                    RichText::new(tr.t1(
                        "mood-feeling",
                        "mood",
                        super::moods::mood_name(tr, &mood.mood),
                    ))
                    .small()
                    .color(p.muted),
                );
            }
        });
        if let Some(line) = &days_line {
            ui.label(RichText::new(format!("❤ {line}")).small().color(p.accent));
        }
        if let Some(line) = &checkin_line {
            ui.label(RichText::new(line).small().color(p.muted));
        }
        ui.add_space(4.0);
    });
    // The partner's clock moves on: redraw once a minute for it.
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(30));
}

fn composer(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let p = palette(ui.ctx());
    let tr = &app.tr;
    // The partner's agreed quiet hours, on their clock: said before writing.
    let partner_quiet = app.boundaries.as_ref().and_then(|b| {
        let zone = app.status.as_ref()?.partner.as_ref()?.time_zone.clone();
        super::boundaries::quiet_until(b.agreement.partner.quiet.as_ref()?, &zone)
    });
    let quiet_line = partner_quiet
        .as_ref()
        .map(|until| super::boundaries::quiet_hint(tr, &app.partner_name(), until));
    let mut urgent = app.urgent;
    let view_once_agreed = super::boundaries::view_once_agreed(app);
    let partner = app.partner_name();
    let partner_has_quiet = app
        .boundaries
        .as_ref()
        .and_then(|b| b.agreement.partner.quiet.as_ref())
        .map(|q| q.end.clone());
    let my_zone = app.status_time_zone();
    let later_time = &mut app.later_time;
    let context = if app.editing.is_some() {
        Some(tr.t("chat-editing"))
    } else {
        app.replying_to.as_ref().and_then(|id| {
            let text = app.messages.iter().find(|m| &m.id == id)?.text.clone()?;
            let short: String = text.chars().take(60).collect();
            Some(tr.t1("chat-replying-to", "text", short))
        })
    };
    let composer = &mut app.composer;
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        if let Some(png) = &app.pasted {
            pasted_bar(tr, ui, png, view_once_agreed, out);
        }
        if let Some(line) = &quiet_line {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("🌙 {line}")).small().color(p.muted));
                if ui.checkbox(&mut urgent, tr.t("bounds-urgent")).changed() {
                    out.push(Action::SetUrgent(urgent));
                }
            });
        }
        if let Some(context) = context {
            ui.horizontal(|ui| {
                ui.label(RichText::new(context).small().color(p.muted));
                if ui.small_button(tr.t("chat-cancel")).clicked() {
                    out.push(Action::CancelCompose);
                }
            });
        }
        ui.horizontal(|ui| {
            let t_emoji = tr.t("chat-emoji");
            let emoji_button = ui
                .menu_button("😊", |ui| {
                    ui.label(RichText::new(&t_emoji).small());
                    egui::Grid::new("emoji").show(ui, |ui| {
                        for (i, emoji) in EMOJI.iter().enumerate() {
                            if ui.button(RichText::new(*emoji).size(20.0)).clicked() {
                                composer.push_str(emoji);
                                ui.close();
                            }
                            if i % 6 == 5 {
                                ui.end_row();
                            }
                        }
                    });
                })
                .response
                .on_hover_text(&t_emoji);
            // The button shows a face; screen readers and tests hear "Emoji".
            labelled(&emoji_button, &t_emoji);
            if icon_button(ui, "📎", &tr.t("file-attach")).clicked() {
                out.push(Action::Attach);
            }
            let has_text = !composer.trim().is_empty();
            let t_later = tr.t("later-title");
            let later_button = ui
                .menu_button("⏰", |ui| {
                    ui.label(RichText::new(&t_later).strong());
                    if !has_text {
                        ui.label(RichText::new(tr.t("later-write-first")).small().italics());
                    }
                    let morning = tr.t1("later-morning", "name", partner.as_str());
                    if ui
                        .add_enabled(has_text, egui::Button::new(morning))
                        .clicked()
                    {
                        out.push(Action::SendLater(hearth_node::SendAt::PartnerMorning));
                        ui.close();
                    }
                    if let Some(end) = &partner_has_quiet {
                        let after = tr.t2(
                            "later-after-quiet",
                            ("name", partner.as_str().into()),
                            ("until", end.as_str().into()),
                        );
                        if ui.add_enabled(has_text, egui::Button::new(after)).clicked() {
                            out.push(Action::SendLater(hearth_node::SendAt::AfterPartnerQuiet));
                            ui.close();
                        }
                    }
                    ui.horizontal(|ui| {
                        super::labelled_edit(ui, tr.t("later-at"), later_time, false);
                    });
                    let at = super::boundaries::next_at_my_time(later_time, &my_zone);
                    if ui
                        .add_enabled(
                            has_text && at.is_some(),
                            egui::Button::new(tr.t("later-schedule")),
                        )
                        .clicked()
                        && let Some(at) = at
                    {
                        out.push(Action::SendLater(hearth_node::SendAt::At(at)));
                        ui.close();
                    }
                })
                .response
                .on_hover_text(&t_later);
            labelled(&later_button, &t_later);
            let send_width = 72.0;
            let t_message = tr.t("chat-composer");
            let edit = egui::TextEdit::multiline(composer)
                .hint_text(&t_message)
                .desired_rows(1)
                .desired_width(ui.available_width() - send_width)
                // Shift+Enter makes a new line; Enter alone sends.
                .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter));
            let response = ui.add(edit);
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::WidgetType::TextEdit, true, &t_message)
            });
            if response.changed() && !composer.trim().is_empty() {
                out.push(Action::Typing);
            }
            let mut send = response.has_focus()
                && ui.input(|i| i.key_pressed(Key::Enter) && !i.modifiers.shift);
            if ui.button(tr.t("chat-send")).clicked() {
                send = true;
            }
            if send {
                response.request_focus();
                out.push(Action::Send);
            }
        });
        ui.add_space(6.0);
    });
}

/// The pasted-picture bar: send it (perhaps view-once) or drop it.
fn pasted_bar(
    tr: &crate::i18n::Tr,
    ui: &mut Ui,
    png: &[u8],
    view_once_agreed: bool,
    out: &mut Vec<Action>,
) {
    let size = tr.size(png.len() as u64);
    // Wrapped: the bar must not widen a narrow window.
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("🖼 {} · {size}", tr.t("file-pasted")));
        // As the two agreed, view-once comes first.
        if view_once_agreed {
            if ui.small_button(tr.t("file-view-once-agreed")).clicked() {
                out.push(Action::SendPasted { view_once: true });
            }
            if ui.small_button(tr.t("file-send-to-keep")).clicked() {
                out.push(Action::SendPasted { view_once: false });
            }
        } else {
            if ui.small_button(tr.t("chat-send")).clicked() {
                out.push(Action::SendPasted { view_once: false });
            }
            if ui.small_button(tr.t("file-view-once")).clicked() {
                out.push(Action::SendPasted { view_once: true });
            }
        }
        if ui.small_button(tr.t("chat-cancel")).clicked() {
            out.push(Action::DropPasted);
        }
    });
}
