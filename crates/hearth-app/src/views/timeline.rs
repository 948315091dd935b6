//! The timeline: messages as bubbles, with day separators and the "new messages"
//! line, laid out lazily (only the rows in view are drawn) and paged in from the
//! store as the user scrolls up.

use egui::{Align, Layout, RichText, Ui};
use hearth_node::{Author, MessageView};
use jiff::tz::TimeZone;

use super::{Action, icon_button};
use crate::app::{HearthApp, ROW_ESTIMATE};
use crate::theme::palette;

/// Where the timeline remembers its scroll offset between frames.
const TIMELINE_OFFSET: &str = "timeline_offset";

const REACTIONS: [&str; 6] = ["❤", "😂", "😮", "😢", "👍", "🔥"];

impl HearthApp {
    pub(super) fn status_time_zone(&self) -> String {
        self.status
            .as_ref()
            .and_then(|s| s.profile.as_ref())
            .map(|p| p.time_zone.clone())
            .unwrap_or_else(|| "UTC".into())
    }
}

/// A time zone by its IANA name; UTC for a name this computer does not know.
pub(super) fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `HH:MM` of a Unix time in milliseconds, in a time zone.
pub(super) fn format_time(ms: i64, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned(zone.clone()).strftime("%H:%M").to_string(),
        Err(_) => String::new(),
    }
}

pub(super) fn day_of(ms: i64, zone: &TimeZone) -> Option<jiff::civil::Date> {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(|ts| ts.to_zoned(zone.clone()).date())
}

fn day_label(app: &HearthApp, day: jiff::civil::Date, today: jiff::civil::Date) -> String {
    if day == today {
        return app.tr.t("day-today");
    }
    if today.yesterday().ok() == Some(day) {
        return app.tr.t("day-yesterday");
    }
    let month = app.tr.t(&format!("month-{}", day.month()));
    app.tr.t2(
        "day-date",
        ("day", i64::from(day.day()).into()),
        ("month", month.into()),
    )
}

pub(super) fn timeline(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    // Resolved once per frame, not once per row.
    let my_tz = zone(&app.status_time_zone());
    let today = day_of(jiff::Timestamp::now().as_millisecond(), &my_tz);
    let stick = std::mem::take(&mut app.scroll_to_bottom);
    let mut load_older = false;
    egui::CentralPanel::default().show(ui, |ui| {
        if app.messages.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label(
                    RichText::new(app.tr.t1("chat-empty", "name", app.partner_name()))
                        .color(palette(ui.ctx()).muted),
                );
            });
            return;
        }
        let mut area = egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .stick_to_bottom(true);
        let width = ui.available_width();
        if (width - app.row_width).abs() > 1.0 {
            // Text wraps differently at a new width: measure rows again as drawn.
            app.row_width = width;
            app.row_heights.iter_mut().for_each(|h| *h = ROW_ESTIMATE);
        }
        let header = if app.has_older { 32.0 } else { 0.0 };
        if app.prepended > 0 {
            let added: f32 = app.row_heights[..app.prepended].iter().sum();
            let offset = ui
                .ctx()
                .data(|d| d.get_temp::<f32>(egui::Id::new(TIMELINE_OFFSET)));
            area = area.vertical_scroll_offset(offset.unwrap_or(0.0) + added);
            app.prepended = 0;
        }
        let total: f32 = header + app.row_heights.iter().sum::<f32>();
        let output = area.show_viewport(ui, |ui, viewport| {
            // Reserve the whole history's height; draw only the rows in view.
            let (content, _) =
                ui.allocate_exact_size(egui::vec2(width, total), egui::Sense::hover());
            if app.has_older && viewport.min.y < header {
                let rect = egui::Rect::from_min_size(content.min, egui::vec2(width, header));
                let mut row = ui.new_child(
                    egui::UiBuilder::new()
                        .max_rect(rect)
                        .layout(Layout::top_down(Align::Center)),
                );
                if app.loading_older {
                    row.spinner();
                } else if row.small_button(app.tr.t("chat-load-earlier")).clicked() {
                    load_older = true;
                }
            }
            let mut y = header;
            let mut measured = Vec::new();
            for (i, message) in app.messages.iter().enumerate() {
                let height = app.row_heights[i];
                let visible = y + height >= viewport.min.y && y <= viewport.max.y;
                if visible {
                    let rect = egui::Rect::from_min_size(
                        content.min + egui::vec2(0.0, y),
                        egui::vec2(width, height),
                    );
                    let mut row = ui.new_child(
                        egui::UiBuilder::new()
                            .max_rect(rect)
                            .layout(Layout::top_down(Align::Min)),
                    );
                    let day = day_of(message.sent_at, &my_tz);
                    let previous = i
                        .checked_sub(1)
                        .and_then(|p| day_of(app.messages[p].sent_at, &my_tz));
                    if day != previous
                        && let (Some(day), Some(today)) = (day, today)
                    {
                        row.vertical_centered(|ui| {
                            ui.label(
                                RichText::new(day_label(app, day, today))
                                    .small()
                                    .color(palette(ui.ctx()).muted),
                            );
                        });
                    }
                    if app.unread_from == Some(message.id) {
                        row.vertical_centered(|ui| {
                            ui.label(
                                RichText::new(app.tr.t("chat-new-messages"))
                                    .small()
                                    .color(palette(ui.ctx()).accent),
                            );
                        });
                    }
                    bubble(app, &mut row, message, &my_tz, out);
                    let drawn = row.min_rect().height() + row.spacing().item_spacing.y;
                    if (drawn - height).abs() > 0.5 {
                        measured.push((i, drawn));
                    }
                }
                y += height;
            }
            if !measured.is_empty() {
                for (i, drawn) in measured {
                    app.row_heights[i] = drawn;
                }
                ui.ctx().request_repaint();
            }
            if stick {
                ui.scroll_to_rect(
                    egui::Rect::from_min_size(
                        content.max - egui::vec2(width, 1.0),
                        egui::vec2(width, 1.0),
                    ),
                    Some(Align::Max),
                );
            }
        });
        ui.ctx()
            .data_mut(|d| d.insert_temp(egui::Id::new(TIMELINE_OFFSET), output.state.offset.y));
        // Reaching the top pages older history in from the store.
        if output.state.offset.y <= 1.0
            && app.has_older
            && !app.loading_older
            && output.content_size.y > output.inner_rect.height()
        {
            load_older = true;
        }
    });
    if ui.ctx().input(|i| i.focused) {
        app.unread_from = None;
    }
    if load_older {
        out.push(Action::LoadOlder);
    }
}

fn bubble(
    app: &HearthApp,
    ui: &mut Ui,
    message: &MessageView,
    tz: &TimeZone,
    out: &mut Vec<Action>,
) {
    let p = palette(ui.ctx());
    let mine = message.author == Author::Me;
    let layout = if mine {
        Layout::right_to_left(Align::Min)
    } else {
        Layout::left_to_right(Align::Min)
    };
    let max_width = (ui.available_width() * 0.78).max(160.0);
    let id = || message.id;
    ui.with_layout(layout, |ui| {
        let frame = egui::Frame::new()
            .fill(if mine { p.mine } else { p.theirs })
            .corner_radius(14)
            .inner_margin(egui::Margin::symmetric(12, 8));
        let response = frame
            .show(ui, |ui| {
                ui.set_max_width(max_width);
                ui.with_layout(Layout::top_down(Align::Min), |ui| {
                    if let Some(quoted) = message
                        .reply_to
                        .as_ref()
                        .and_then(|id| app.messages.iter().find(|m| &m.id == id))
                    {
                        let text: String = quoted
                            .text
                            .clone()
                            .unwrap_or_default()
                            .chars()
                            .take(80)
                            .collect();
                        ui.label(
                            RichText::new(format!("“{text}”"))
                                .small()
                                .italics()
                                .color(p.muted),
                        );
                    }
                    if let Some(mood) = &message.mood {
                        super::moods::mood_row(&app.tr, ui, mood);
                    } else if let Some(attachment) = &message.attachment {
                        if let Some(action) =
                            super::attachment::attachment(app, ui, message, attachment)
                        {
                            out.push(Action::File { id: id(), action });
                        }
                    } else {
                        match &message.text {
                            Some(text) => {
                                ui.label(RichText::new(text).color(p.text));
                            }
                            None => {
                                ui.label(
                                    RichText::new(app.tr.t("chat-deleted"))
                                        .italics()
                                        .color(p.muted),
                                );
                            }
                        }
                    }
                    if !message.reactions.is_empty() {
                        ui.horizontal_wrapped(|ui| {
                            for reaction in &message.reactions {
                                ui.label(RichText::new(&reaction.emoji).size(16.0));
                            }
                        });
                    }
                    let mut meta = format_time(message.sent_at, tz);
                    if message.edited {
                        meta = format!("{meta} · {}", app.tr.t("chat-edited"));
                    }
                    if let Some(delivery) = message.delivery {
                        meta = format!("{meta} · {}", app.delivery_label(delivery));
                    }
                    if let Some(at) = message.scheduled_for {
                        let theirs = app
                            .status
                            .as_ref()
                            .and_then(|s| s.partner.as_ref())
                            .map(|p| zone(&p.time_zone))
                            .unwrap_or_else(|| tz.clone());
                        // When it shows, not when it was written; then how far it got.
                        let delivery = message
                            .delivery
                            .map(|d| format!(" · {}", app.delivery_label(d)))
                            .unwrap_or_default();
                        meta = format!(
                            "⏰ {}{delivery}",
                            app.tr.t2(
                                "later-scheduled",
                                ("time", format_time(at, tz).into()),
                                ("theirs", format_time(at, &theirs).into()),
                            )
                        );
                    }
                    ui.label(RichText::new(meta).small().color(p.muted));
                });
            })
            .response;
        if message.deleted {
            return;
        }
        let hovered = ui.rect_contains_pointer(response.rect.expand(4.0));
        if hovered {
            ui.horizontal(|ui| {
                for emoji in REACTIONS.iter().take(3) {
                    let label = app.tr.t1("chat-react-with", "emoji", *emoji);
                    if icon_button(ui, emoji, &label).clicked() {
                        out.push(Action::React {
                            id: id(),
                            emoji: emoji.to_string(),
                        });
                    }
                }
                if icon_button(ui, "↩", &app.tr.t("chat-reply")).clicked() {
                    out.push(Action::Reply(id()));
                }
                if mine {
                    if message.attachment.is_none()
                        && message.mood.is_none()
                        && icon_button(ui, "✏", &app.tr.t("chat-edit")).clicked()
                    {
                        out.push(Action::Edit {
                            id: id(),
                            text: message.text.clone().unwrap_or_default(),
                        });
                    }
                    if message.scheduled_for.is_some() {
                        if icon_button(ui, "✖", &app.tr.t("later-cancel")).clicked() {
                            out.push(Action::CancelScheduled(id()));
                        }
                    } else if icon_button(ui, "🗑", &app.tr.t("chat-delete")).clicked() {
                        out.push(Action::Delete(id()));
                    }
                }
            });
        }
    });
    ui.add_space(2.0);
}
