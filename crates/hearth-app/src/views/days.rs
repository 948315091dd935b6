//! The couple's days: the line in the chat header ("Together 1270 days · 12 days
//! until Tirana"), the reminder's words, and the section of Settings that sets
//! them.

use egui::{RichText, Ui};
use hearth_node::{DayKindView, DayView, DaysView};

use super::{Action, error, labelled, labelled_edit};
use crate::i18n::Tr;
use crate::views::settings::SettingsForm;

/// What the chat header says of the couple's days, if any is set: how long they
/// have been together and how long until they meet.
pub(super) fn header_line(tr: &Tr, days: &DaysView) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(together) = &days.together_since
        && together.days >= 0
    {
        parts.push(tr.t1("days-together", "days", together.days));
    }
    if let Some(meeting) = &days.meeting {
        match meeting.days {
            0 => parts.push(tr.t("days-meeting-today")),
            n if n > 0 && meeting.title.is_empty() => {
                parts.push(tr.t1("days-until-meeting-unnamed", "days", n));
            }
            n if n > 0 => parts.push(tr.t2(
                "days-until-meeting",
                ("days", n.into()),
                ("place", meeting.title.as_str().into()),
            )),
            // A meeting in the past says nothing until the next is set.
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("  ·  "))
}

/// What a reminder says: the notification's text.
pub(crate) fn day_reminder(tr: &Tr, day: &DayView, partner: &str) -> String {
    let years = day.years.unwrap_or(0);
    match day.kind {
        DayKindView::TogetherSince => tr.t1("reminder-together", "years", years),
        DayKindView::Meeting => tr.t1("reminder-meeting", "name", partner),
        DayKindView::Anniversary => tr.t2(
            "reminder-anniversary",
            ("years", years.into()),
            ("title", day.title.as_str().into()),
        ),
    }
}

impl SettingsForm {
    /// The days' fields as the days are set now; the new date's fields empty.
    pub(crate) fn fill_days(&mut self, days: Option<&DaysView>) {
        let days = days.cloned().unwrap_or_default();
        self.together_since = days.together_since.map(|d| d.date).unwrap_or_default();
        let meeting = days.meeting;
        self.meeting_date = meeting.as_ref().map(|d| d.date.clone()).unwrap_or_default();
        self.meeting_place = meeting.map(|d| d.title).unwrap_or_default();
        self.new_day_date.clear();
        self.new_day_title.clear();
    }
}

/// Settings' "Our days": together since, the next meeting, the dates to remember.
pub(super) fn days_section(
    tr: &Tr,
    ui: &mut Ui,
    form: &mut SettingsForm,
    days: Option<&DaysView>,
    out: &mut Vec<Action>,
) {
    ui.label(RichText::new(tr.t("days-title")).strong());
    ui.label(RichText::new(tr.t("days-hint")).small());
    let set = |kind, date: &str, title: &str| Action::SetDay {
        kind,
        id: None,
        date: date.trim().to_string(),
        title: title.trim().to_string(),
    };
    labelled_edit(
        ui,
        tr.t("days-together-since"),
        &mut form.together_since,
        false,
    );
    labelled_edit(ui, tr.t("days-meeting"), &mut form.meeting_date, false);
    labelled_edit(
        ui,
        tr.t("days-meeting-place"),
        &mut form.meeting_place,
        false,
    );
    if ui.button(tr.t("days-save")).clicked() {
        // Only what changed is written; a field emptied removes its date.
        let fields = [
            (
                DayKindView::TogetherSince,
                "together_since",
                days.and_then(|d| d.together_since.as_ref()),
                form.together_since.trim(),
                "",
            ),
            (
                DayKindView::Meeting,
                "meeting",
                days.and_then(|d| d.meeting.as_ref()),
                form.meeting_date.trim(),
                form.meeting_place.trim(),
            ),
        ];
        for (kind, id, was, date, title) in fields {
            let same = was.is_some_and(|w| w.date == date && w.title == title);
            if date.is_empty() {
                if was.is_some() {
                    out.push(Action::RemoveDay(id.to_string()));
                }
            } else if !same {
                out.push(set(kind, date, title));
            }
        }
    }
    ui.label(RichText::new(tr.t("days-anniversaries")).small());
    let anniversaries = days.map(|d| d.anniversaries.as_slice()).unwrap_or_default();
    if anniversaries.is_empty() {
        ui.label(RichText::new(tr.t("days-none")).small().italics());
    }
    for day in anniversaries {
        ui.horizontal(|ui| {
            let button = ui.small_button(tr.t("days-remove"));
            labelled(
                &button,
                &tr.t1("days-remove-named", "title", day.title.as_str()),
            );
            if button.clicked() {
                out.push(Action::RemoveDay(day.id.clone()));
            }
            ui.label(RichText::new(&day.date).small().monospace());
            ui.label(tr.t2(
                "days-anniversary-in",
                ("days", day.days.into()),
                ("title", day.title.as_str().into()),
            ));
        });
    }
    labelled_edit(ui, tr.t("days-new-date"), &mut form.new_day_date, false);
    labelled_edit(ui, tr.t("days-new-title"), &mut form.new_day_title, false);
    if ui.button(tr.t("days-add")).clicked() && !form.new_day_date.trim().is_empty() {
        out.push(set(
            DayKindView::Anniversary,
            &form.new_day_date,
            &form.new_day_title,
        ));
    }
    // Below the buttons, so they stay where the user is about to click again.
    error(ui, &form.days_error);
}
