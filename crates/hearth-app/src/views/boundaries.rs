//! Our boundaries and rhythm: the window that shows what both agreed (each one's
//! quiet hours and ways to reach them, topics to handle with care, photos and
//! media), what waits for an answer, and proposes a change; the couple's
//! check-ins, each on both clocks; the composer's word when the partner is in
//! their quiet hours, and the header's next check-in.

use egui::{RichText, Ui};
use hearth_node::{
    Author, BoundariesView, BoundaryChange, ChangeView, CheckInView, LocalTime, ProposalView,
    QuietView,
};

use super::{Action, error, labelled_edit};
use crate::app::HearthApp;
use crate::i18n::Tr;
use crate::theme::palette;

/// The fields of a change being written, filled from the agreement.
#[derive(Default)]
pub(crate) struct BoundaryForm {
    pub(crate) quiet_start: String,
    pub(crate) quiet_end: String,
    pub(crate) reach: String,
    pub(crate) care: String,
    pub(crate) media: String,
    /// Photos and files view-once unless the sender chooses otherwise.
    pub(crate) view_once: bool,
    /// Why the last proposal or acceptance did not go through.
    pub(crate) error: Option<String>,
    /// The last proposal went out.
    pub(crate) proposed: bool,
    /// A new check-in: its days (Monday first), time and zone.
    pub(crate) checkin_days: [bool; 7],
    pub(crate) checkin_time: String,
    pub(crate) checkin_zone: String,
    /// Why the last change to the check-ins was refused.
    pub(crate) checkin_error: Option<String>,
}

/// The days of the week as the engine names them, Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A day of the week in this language, short.
pub(crate) fn weekday(tr: &Tr, day: &str) -> String {
    match day {
        "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun" => tr.t(&format!("weekday-{day}")),
        other => other.to_string(),
    }
}

fn at(tr: &Tr, time: &LocalTime) -> String {
    format!("{} {}", weekday(tr, &time.weekday), time.time)
}

/// A check-in in words: "Sun 20:00 for you · 14:00 for Ben".
pub(crate) fn checkin_line(tr: &Tr, checkin: &CheckInView, partner: &str) -> String {
    match (&checkin.mine, &checkin.partner) {
        (Some(mine), Some(theirs)) => tr.t2(
            "checkin-both",
            ("mine", at(tr, mine).into()),
            (
                "theirs",
                tr.t2(
                    "checkin-theirs",
                    ("time", at(tr, theirs).into()),
                    ("name", partner.into()),
                )
                .into(),
            ),
        ),
        (Some(mine), None) => at(tr, mine),
        _ => format!("{} {}", checkin.time, checkin.time_zone),
    }
}

/// What a check-in reminder says.
pub(crate) fn checkin_reminder(
    tr: &Tr,
    checkin: &CheckInView,
    missed: bool,
    partner: &str,
) -> String {
    let key = if missed {
        "checkin-missed"
    } else {
        "checkin-now"
    };
    let time = checkin
        .mine
        .as_ref()
        .map_or_else(|| checkin.time.clone(), |m| m.time.clone());
    tr.t2(key, ("name", partner.into()), ("time", time.into()))
}

impl BoundaryForm {
    /// The form as the agreement stands.
    pub(crate) fn of(view: Option<&BoundariesView>) -> BoundaryForm {
        let Some(view) = view else {
            return BoundaryForm::default();
        };
        let mine = &view.agreement.mine;
        BoundaryForm {
            quiet_start: mine
                .quiet
                .as_ref()
                .map(|q| q.start.clone())
                .unwrap_or_default(),
            quiet_end: mine
                .quiet
                .as_ref()
                .map(|q| q.end.clone())
                .unwrap_or_default(),
            reach: mine.reach.clone(),
            care: view.agreement.care.clone(),
            media: view.agreement.media.clone(),
            view_once: view.agreement.view_once,
            error: None,
            proposed: false,
            ..BoundaryForm::default()
        }
    }

    /// The change the form asks for: every field, the engine proposing what differs.
    fn change(&self) -> BoundaryChange {
        let (start, end) = (self.quiet_start.trim(), self.quiet_end.trim());
        BoundaryChange {
            my_quiet: Some(if start.is_empty() && end.is_empty() {
                None
            } else {
                Some((start.to_string(), end.to_string()))
            }),
            my_reach: Some(self.reach.clone()),
            care: Some(self.care.clone()),
            media: Some(self.media.clone()),
            view_once: Some(self.view_once),
        }
    }
}

fn hours(tr: &Tr, quiet: Option<&QuietView>) -> String {
    match quiet {
        Some(q) => tr.t2(
            "bounds-hours",
            ("start", q.start.as_str().into()),
            ("end", q.end.as_str().into()),
        ),
        None => tr.t("bounds-none"),
    }
}

fn or_none(tr: &Tr, text: &str) -> String {
    if text.is_empty() {
        tr.t("bounds-none")
    } else {
        text.to_string()
    }
}

/// One change of a proposal, in words.
fn change_line(tr: &Tr, change: &ChangeView, partner: &str) -> String {
    let whose = |mine: &str, theirs: &str| match change.whose {
        Some(Author::Me) => tr.t(mine),
        _ => tr.t1(theirs, "name", partner),
    };
    let value = match change.field.as_str() {
        "quiet" => match change.value.split_once('-') {
            Some((start, end)) => {
                tr.t2("bounds-hours", ("start", start.into()), ("end", end.into()))
            }
            None => tr.t("bounds-none"),
        },
        "view_once" if change.value == "true" => tr.t("bounds-yes"),
        "view_once" => tr.t("bounds-no"),
        _ => or_none(tr, &change.value),
    };
    let field = match change.field.as_str() {
        "quiet" => whose("bounds-my-quiet", "bounds-their-quiet"),
        "reach" => whose("bounds-my-reach", "bounds-their-reach"),
        "care" => tr.t("bounds-care"),
        "view_once" => tr.t("bounds-view-once"),
        _ => tr.t("bounds-media"),
    };
    format!("{field}: {value}")
}

fn proposal_lines(tr: &Tr, ui: &mut Ui, proposal: &ProposalView, partner: &str) {
    for change in &proposal.changes {
        ui.label(RichText::new(format!("• {}", change_line(tr, change, partner))).small());
    }
}

/// What the composer says while the partner is in their quiet hours: when they
/// end on the partner's clock, and that what is written waits for them.
pub(super) fn quiet_hint(tr: &Tr, partner: &str, until: &str) -> String {
    tr.t2(
        "bounds-partner-quiet",
        ("name", partner.into()),
        ("until", until.into()),
    )
}

/// When quiet hours end (`HH:MM`) if it is now within them in `zone`.
pub(crate) fn quiet_until(quiet: &QuietView, zone: &str) -> Option<String> {
    let minutes = |t: &str| hearth_core::parse_minutes(t);
    let hours = hearth_core::QuietHours {
        start: minutes(&quiet.start)?,
        end: minutes(&quiet.end)?,
    };
    let now = jiff::Timestamp::now().to_zoned(super::timeline::zone(zone));
    let minute = u16::try_from(now.hour()).ok()? * 60 + u16::try_from(now.minute()).ok()?;
    hours.contains(minute).then(|| quiet.end.clone())
}

/// Whether the couple agreed that photos and files go view-once by default.
pub(crate) fn view_once_agreed(app: &HearthApp) -> bool {
    app.boundaries
        .as_ref()
        .is_some_and(|b| b.agreement.view_once)
}

/// The next instant (ms) at which the clock in `zone` reads `text` (`HH:MM`).
pub(crate) fn next_at_my_time(text: &str, zone: &str) -> Option<i64> {
    let minute = hearth_core::parse_minutes(text)?;
    let zone = super::timeline::zone(zone);
    let now = jiff::Timestamp::now();
    let here = now.to_zoned(zone.clone());
    let time = jiff::civil::Time::new(
        i8::try_from(minute / 60).ok()?,
        i8::try_from(minute % 60).ok()?,
        0,
        0,
    )
    .ok()?;
    [0, 1]
        .into_iter()
        .filter_map(|d| here.date().checked_add(jiff::Span::new().days(d)).ok())
        .filter_map(|date| date.to_datetime(time).to_zoned(zone.clone()).ok())
        .map(|z| z.timestamp())
        .find(|at| *at > now)
        .map(|at| at.as_millisecond())
}

/// The "our boundaries" window, when open.
pub(super) fn boundaries_window(app: &mut HearthApp, ctx: &egui::Context, out: &mut Vec<Action>) {
    let Some(mut form) = app.boundary_form.take() else {
        return;
    };
    let tr = &app.tr;
    let partner = app.partner_name();
    let mut open = true;
    egui::Window::new(tr.t("bounds-title"))
        .id(egui::Id::new("boundaries"))
        .collapsible(false)
        .resizable(true)
        .default_width(380.0)
        .default_height(560.0)
        .open(&mut open)
        .show(ctx, |ui| {
            let p = palette(ui.ctx());
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.label(RichText::new(tr.t("bounds-about")).small().color(p.muted));
                ui.add_space(4.0);
                let Some(view) = &app.boundaries else {
                    ui.spinner();
                    return;
                };
                let agreed = &view.agreement;
                ui.label(RichText::new(tr.t("bounds-agreed")).strong());
                egui::Grid::new("agreed").num_columns(2).show(ui, |ui| {
                    let rows = [
                        (
                            tr.t("bounds-my-quiet"),
                            hours(tr, agreed.mine.quiet.as_ref()),
                        ),
                        (
                            tr.t1("bounds-their-quiet", "name", partner.as_str()),
                            hours(tr, agreed.partner.quiet.as_ref()),
                        ),
                        (tr.t("bounds-my-reach"), or_none(tr, &agreed.mine.reach)),
                        (
                            tr.t1("bounds-their-reach", "name", partner.as_str()),
                            or_none(tr, &agreed.partner.reach),
                        ),
                        (tr.t("bounds-care"), or_none(tr, &agreed.care)),
                        (tr.t("bounds-media"), or_none(tr, &agreed.media)),
                        (
                            tr.t("bounds-view-once"),
                            tr.t(if agreed.view_once {
                                "bounds-yes"
                            } else {
                                "bounds-no"
                            }),
                        ),
                    ];
                    for (field, value) in rows {
                        ui.label(RichText::new(format!("{field}:")).small().color(p.muted));
                        ui.label(RichText::new(value).small());
                        ui.end_row();
                    }
                });
                if let Some(last) = view.history.last().and_then(|h| h.accepted_at) {
                    let day = super::timeline::day_of(
                        last,
                        &super::timeline::zone(&app.status_time_zone()),
                    )
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                    ui.label(
                        RichText::new(tr.t2(
                            "bounds-history",
                            ("count", view.history.len().into()),
                            ("date", day.into()),
                        ))
                        .small()
                        .color(p.muted),
                    );
                    // Every change both agreed to, newest first.
                    egui::CollapsingHeader::new(
                        RichText::new(tr.t("bounds-history-title")).small(),
                    )
                    .id_salt("boundaries_history")
                    .show(ui, |ui| {
                        let my_zone = super::timeline::zone(&app.status_time_zone());
                        for step in view.history.iter().rev() {
                            let when = step
                                .accepted_at
                                .and_then(|at| super::timeline::day_of(at, &my_zone))
                                .map(|d| d.to_string())
                                .unwrap_or_default();
                            let who = match step.by {
                                Author::Me => tr.t1("bounds-proposed-by-me", "date", when),
                                Author::Partner => tr.t2(
                                    "bounds-proposed-by-them",
                                    ("name", partner.as_str().into()),
                                    ("date", when.into()),
                                ),
                            };
                            ui.label(RichText::new(who).small().strong());
                            proposal_lines(tr, ui, step, &partner);
                        }
                    });
                }
                for proposal in &view.pending {
                    ui.separator();
                    match proposal.by {
                        Author::Partner => {
                            ui.label(
                                RichText::new(tr.t1(
                                    "bounds-they-propose",
                                    "name",
                                    partner.as_str(),
                                ))
                                .strong()
                                .color(p.accent),
                            );
                            proposal_lines(tr, ui, proposal, &partner);
                            if ui.button(tr.t("bounds-accept")).clicked() {
                                form.error = None;
                                out.push(Action::AcceptBoundaries(proposal.id));
                            }
                            ui.label(
                                RichText::new(tr.t("bounds-answer-hint"))
                                    .small()
                                    .color(p.muted),
                            );
                        }
                        Author::Me => {
                            ui.label(
                                RichText::new(tr.t1("bounds-waiting", "name", partner.as_str()))
                                    .strong(),
                            );
                            proposal_lines(tr, ui, proposal, &partner);
                        }
                    }
                }
                ui.separator();
                ui.label(RichText::new(tr.t("bounds-propose-title")).strong());
                ui.horizontal(|ui| {
                    labelled_edit(ui, tr.t("bounds-quiet-from"), &mut form.quiet_start, false);
                });
                ui.horizontal(|ui| {
                    labelled_edit(ui, tr.t("bounds-quiet-to"), &mut form.quiet_end, false);
                });
                labelled_edit(ui, tr.t("bounds-my-reach"), &mut form.reach, false);
                labelled_edit(ui, tr.t("bounds-care"), &mut form.care, false);
                labelled_edit(ui, tr.t("bounds-media"), &mut form.media, false);
                ui.checkbox(&mut form.view_once, tr.t("bounds-view-once"));
                error(ui, &form.error);
                ui.horizontal(|ui| {
                    if ui.button(tr.t("bounds-propose")).clicked() {
                        form.error = None;
                        form.proposed = false;
                        out.push(Action::ProposeBoundaries(form.change()));
                    }
                    if form.proposed {
                        ui.label(
                            RichText::new(tr.t1("bounds-sent", "name", partner.as_str())).small(),
                        );
                    }
                });
                ui.separator();
                checkins_section(app, ui, &mut form, &partner, out);
            });
        });
    if open {
        app.boundary_form = Some(form);
    }
}

/// The couple's check-ins: each on both clocks, with a way to remove it, and a
/// new one's days, time and zone.
fn checkins_section(
    app: &HearthApp,
    ui: &mut Ui,
    form: &mut BoundaryForm,
    partner: &str,
    out: &mut Vec<Action>,
) {
    let tr = &app.tr;
    let p = palette(ui.ctx());
    ui.label(RichText::new(tr.t("checkin-title")).strong());
    ui.label(RichText::new(tr.t("checkin-about")).small().color(p.muted));
    let checkins = app
        .checkins
        .as_ref()
        .map(|c| c.checkins.as_slice())
        .unwrap_or_default();
    if checkins.is_empty() {
        ui.label(RichText::new(tr.t("checkin-none")).small().italics());
    }
    for checkin in checkins {
        let days: Vec<String> = checkin.weekdays.iter().map(|d| weekday(tr, d)).collect();
        let what = tr.t2(
            "checkin-every",
            ("days", days.join(", ").into()),
            (
                "time",
                format!("{} ({})", checkin.time, checkin.time_zone).into(),
            ),
        );
        ui.horizontal_wrapped(|ui| {
            let button = ui.small_button(tr.t("days-remove"));
            super::labelled(&button, &tr.t1("checkin-remove", "what", what.as_str()));
            if button.clicked() {
                out.push(Action::RemoveCheckIn(checkin.id));
            }
            ui.label(RichText::new(&what).small());
        });
        ui.label(
            RichText::new(tr.t1("checkin-next", "when", checkin_line(tr, checkin, partner)))
                .small()
                .color(p.muted),
        );
    }
    ui.add_space(4.0);
    ui.label(RichText::new(tr.t("checkin-new")).small().strong());
    ui.horizontal_wrapped(|ui| {
        for (i, day) in WEEKDAYS.iter().enumerate() {
            ui.toggle_value(&mut form.checkin_days[i], weekday(tr, day));
        }
    });
    if form.checkin_zone.is_empty() {
        form.checkin_zone = app.status_time_zone();
    }
    labelled_edit(ui, tr.t("checkin-time"), &mut form.checkin_time, false);
    labelled_edit(ui, tr.t("checkin-zone"), &mut form.checkin_zone, false);
    error(ui, &form.checkin_error);
    if ui.button(tr.t("checkin-add")).clicked() {
        form.checkin_error = None;
        let weekdays = WEEKDAYS
            .iter()
            .zip(form.checkin_days)
            .filter(|(_, on)| *on)
            .map(|(d, _)| d.to_string())
            .collect();
        out.push(Action::AddCheckIn {
            weekdays,
            time: form.checkin_time.trim().to_string(),
            time_zone: form.checkin_zone.trim().to_string(),
        });
    }
}
