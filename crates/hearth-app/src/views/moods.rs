//! Moods: "how I feel today". The window that shares one (a mood, a few words)
//! and shows the strip over the last four weeks, one coloured day for each of the
//! two; a mood's row in the timeline; and the word in the chat header.

use egui::{Color32, RichText, Ui};
use hearth_node::{MoodDayView, MoodView, MoodsView};

use super::Action;
use crate::app::HearthApp;
use crate::i18n::Tr;
use crate::theme::palette;

/// How many days the strip shows.
pub(crate) const STRIP_DAYS: usize = 28;

/// The moods the window offers, in its order.
const OFFERED: [&str; 8] = [
    "joy", "loved", "calm", "excited", "missing", "tired", "low", "stressed",
];

/// The "how I feel" window's fields while it is open.
#[derive(Default)]
pub(crate) struct MoodForm {
    /// The mood picked, before it is shared.
    pub(crate) mood: Option<&'static str>,
    pub(crate) note: String,
    /// Why the last share did not go through.
    pub(crate) error: Option<String>,
}

/// Each mood's colour: warm for the bright days, cool for the heavy ones, the
/// same in both themes (they are read against the window, not the bubbles).
pub(crate) fn mood_colour(mood: &str) -> Color32 {
    match mood {
        "joy" => Color32::from_rgb(0xF2, 0xB1, 0x34),
        "loved" => Color32::from_rgb(0xE0, 0x60, 0x7E),
        "calm" => Color32::from_rgb(0x5F, 0xA8, 0xA0),
        "excited" => Color32::from_rgb(0xF0, 0x7F, 0x3C),
        "missing" => Color32::from_rgb(0x8E, 0x7C, 0xC3),
        "tired" => Color32::from_rgb(0x8C, 0x9A, 0xA8),
        "low" => Color32::from_rgb(0x5A, 0x7D, 0xB5),
        "stressed" => Color32::from_rgb(0xB5, 0x53, 0x4A),
        _ => Color32::from_gray(0x9A),
    }
}

/// A mood's name in this language.
pub(crate) fn mood_name(tr: &Tr, mood: &str) -> String {
    match mood {
        "joy" | "loved" | "calm" | "excited" | "missing" | "tired" | "low" | "stressed" => {
            tr.t(&format!("mood-{mood}"))
        }
        _ => tr.t("mood-unknown"),
    }
}

fn dot(ui: &mut Ui, colour: Color32, size: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), size / 2.0 - 0.5, colour);
    response
}

/// A mood's row in a bubble: its colour, "Feeling: Missing you", and the note.
pub(super) fn mood_row(tr: &Tr, ui: &mut Ui, mood: &MoodView) {
    let p = palette(ui.ctx());
    ui.horizontal(|ui| {
        dot(ui, mood_colour(&mood.mood), 14.0);
        ui.label(
            RichText::new(tr.t1("mood-feeling", "mood", mood_name(tr, &mood.mood)))
                .strong()
                .color(p.text),
        );
    });
    if !mood.note.is_empty() {
        ui.label(RichText::new(&mood.note).color(p.text));
    }
}

/// What a notification says of a mood the partner shared.
pub(crate) fn mood_notification(tr: &Tr, mood: &MoodView) -> String {
    let feeling = tr.t1("mood-feeling", "mood", mood_name(tr, &mood.mood));
    if mood.note.is_empty() {
        feeling
    } else {
        format!("{feeling} — {}", mood.note)
    }
}

/// The partner's mood of their today, for the chat header: `None` when they
/// have not shared one today (by their own calendar).
pub(super) fn partner_today(
    moods: &MoodsView,
    partner_today: jiff::civil::Date,
) -> Option<&MoodDayView> {
    let last = moods.partner.last()?;
    (last.mood.day == partner_today.to_string()).then_some(last)
}

/// The strip: one row for each of the two, a day a square, oldest on the left,
/// today (by this user's calendar) on the right.
fn strip(app: &HearthApp, ui: &mut Ui, moods: &MoodsView, today: jiff::civil::Date) {
    let tr = &app.tr;
    let p = palette(ui.ctx());
    let rows = [
        (tr.t("mood-strip-me"), &moods.mine),
        (app.partner_name(), &moods.partner),
    ];
    egui::Grid::new("mood_strip")
        .spacing([2.0, 4.0])
        .show(ui, |ui| {
            for (who, days) in rows {
                ui.label(RichText::new(who).small().color(p.muted));
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 2.0;
                    for back in (0..STRIP_DAYS).rev() {
                        let day = today
                            .checked_sub(jiff::Span::new().days(back as i64))
                            .unwrap_or(today);
                        let key = day.to_string();
                        let entry = days.iter().find(|d| d.mood.day == key);
                        let (rect, response) =
                            ui.allocate_exact_size(egui::vec2(9.0, 16.0), egui::Sense::hover());
                        let colour = entry
                            .map(|d| mood_colour(&d.mood.mood))
                            .unwrap_or_else(|| p.muted.gamma_multiply(0.25));
                        ui.painter().rect_filled(rect, 2.0, colour);
                        let hint = match entry {
                            Some(d) if d.mood.note.is_empty() => {
                                format!("{key} · {}", mood_name(tr, &d.mood.mood))
                            }
                            Some(d) => {
                                format!("{key} · {} — {}", mood_name(tr, &d.mood.mood), d.mood.note)
                            }
                            None => key,
                        };
                        response.on_hover_text(hint);
                    }
                });
                ui.end_row();
            }
        });
}

/// The "how I feel today" window, when open.
pub(super) fn moods_window(app: &mut HearthApp, ctx: &egui::Context, out: &mut Vec<Action>) {
    let Some(mut form) = app.mood_form.take() else {
        return;
    };
    let my_tz = super::timeline::zone(&app.status_time_zone());
    let today = jiff::Timestamp::now().to_zoned(my_tz).date();
    let tr = &app.tr;
    let mut open = true;
    egui::Window::new(tr.t("mood-title"))
        .id(egui::Id::new("moods"))
        .collapsible(false)
        .resizable(false)
        .default_width(340.0)
        .open(&mut open)
        .show(ctx, |ui| {
            let p = palette(ui.ctx());
            ui.label(RichText::new(tr.t("mood-about")).small().color(p.muted));
            ui.add_space(4.0);
            egui::Grid::new("mood_choices")
                .spacing([6.0, 6.0])
                .show(ui, |ui| {
                    for (i, mood) in OFFERED.iter().enumerate() {
                        let name = mood_name(tr, mood);
                        let picked = form.mood == Some(*mood);
                        ui.horizontal(|ui| {
                            dot(ui, mood_colour(mood), 12.0);
                            let button = egui::Button::selectable(
                                picked,
                                RichText::new(&name).color(mood_colour(mood)),
                            );
                            let response = ui.add(button);
                            response.widget_info(|| {
                                egui::WidgetInfo::selected(
                                    egui::WidgetType::Button,
                                    true,
                                    picked,
                                    &name,
                                )
                            });
                            if response.clicked() {
                                form.mood = Some(mood);
                            }
                        });
                        if i % 2 == 1 {
                            ui.end_row();
                        }
                    }
                });
            ui.add_space(4.0);
            super::labelled_edit(ui, tr.t("mood-note"), &mut form.note, false);
            super::error(ui, &form.error);
            ui.horizontal(|ui| {
                let share =
                    ui.add_enabled(form.mood.is_some(), egui::Button::new(tr.t("mood-share")));
                if share.clicked()
                    && let Some(mood) = form.mood
                {
                    form.error = None;
                    out.push(Action::ShareMood {
                        mood: mood.to_string(),
                        note: form.note.trim().to_string(),
                    });
                }
            });
            ui.separator();
            ui.label(RichText::new(tr.t("mood-strip")).small().strong());
            match &app.moods {
                Some(moods) => strip(app, ui, moods, today),
                None => {
                    ui.spinner();
                }
            }
        });
    if open {
        app.mood_form = Some(form);
    }
}
