//! Drawing: one function per screen. Each reads the app's state, draws, and changes
//! state only through the app's methods.

use std::time::Instant;

use egui::{Align, Color32, Key, KeyboardShortcut, Layout, Modifiers, RichText, Ui};
use hearth_node::{Author, Connection, MessageView};
use jiff::tz::TimeZone;

use crate::app::{
    HearthApp, PairScreen, PairTab, ROW_ESTIMATE, Screen, SettingsForm, SetupForm, ThemeChoice,
    UiResult,
};
use crate::i18n::Lang;
use crate::theme::palette;

/// How often the Nearby tab asks who is waiting to pair.
const NEARBY_REFRESH: std::time::Duration = std::time::Duration::from_secs(3);

/// Where the timeline remembers its scroll offset between frames.
const TIMELINE_OFFSET: &str = "timeline_offset";

/// Work a view decides on while it borrows the app, done after drawing.
type Deferred = Box<dyn FnOnce(&mut HearthApp)>;

const REACTIONS: [&str; 6] = ["❤", "😂", "😮", "😢", "👍", "🔥"];
const EMOJI: [&str; 24] = [
    "😀", "😂", "😊", "😍", "😘", "🥰", "😉", "😎", "🤗", "😢", "😭", "😴", "❤", "💕", "💋", "🌹",
    "☀", "🌙", "⭐", "🎉", "👍", "👋", "🙏", "☕",
];

pub(crate) fn show(app: &mut HearthApp, ui: &mut Ui) {
    toast(app, ui);
    egui::CentralPanel::default().show(ui, |ui| match &app.screen {
        Screen::Loading => {
            ui.centered_and_justified(|ui| ui.spinner());
        }
        Screen::Welcome => welcome(app, ui),
        Screen::Setup(_) => setup(app, ui),
        Screen::Unlock { .. } => unlock(app, ui),
        Screen::Pair(_) => pair(app, ui),
        Screen::SafetyWords(_) => safety_words(app, ui),
        Screen::Chat => chat(app, ui),
        Screen::Settings(_) => settings(app, ui),
        Screen::Memories => crate::files::memories(app, ui),
    });
}

fn toast(app: &mut HearthApp, ui: &mut Ui) {
    let Some((message, since)) = &app.toast else {
        return;
    };
    if since.elapsed().as_secs() > 6 {
        app.toast = None;
        return;
    }
    let message = message.clone();
    egui::Panel::bottom("toast").show(ui, |ui| {
        ui.colored_label(palette(ui.ctx()).accent, message);
    });
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(1));
}

/// A centred column for the onboarding screens.
fn column(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    let width = ui.available_width().min(380.0);
    ui.vertical_centered(|ui| {
        ui.add_space(32.0);
        ui.allocate_ui_with_layout(egui::vec2(width, 0.0), Layout::top_down(Align::Min), add);
    });
}

fn title(ui: &mut Ui, text: String) {
    ui.label(
        RichText::new(text)
            .heading()
            .color(palette(ui.ctx()).accent),
    );
    ui.add_space(8.0);
}

fn error(ui: &mut Ui, message: &Option<String>) {
    if let Some(message) = message {
        ui.colored_label(palette(ui.ctx()).accent, format!("⚠ {message}"));
    }
}

/// A row of choices, one of them selected; returns the one clicked.
fn choice_row<T: Copy + PartialEq>(ui: &mut Ui, current: T, choices: &[(T, &str)]) -> Option<T> {
    let mut chosen = None;
    ui.horizontal(|ui| {
        for &(choice, label) in choices {
            if ui.selectable_label(current == choice, label).clicked() {
                chosen = Some(choice);
            }
        }
    });
    chosen
}

fn language_picker(app: &mut HearthApp, ui: &mut Ui) -> Option<Lang> {
    let choices = Lang::ALL.map(|lang| (lang, lang.native_name()));
    let chosen = choice_row(ui, app.tr.lang(), &choices);
    if let Some(lang) = chosen {
        app.set_lang(lang);
    }
    chosen
}

fn welcome(app: &mut HearthApp, ui: &mut Ui) {
    column(ui, |ui| {
        ui.label(RichText::new("🏠").size(48.0));
        title(ui, app.tr.t("welcome-title"));
        ui.label(app.tr.t("welcome-body"));
        ui.add_space(12.0);
        language_picker(app, ui);
        ui.add_space(12.0);
        if ui.button(app.tr.t("welcome-start")).clicked() {
            app.screen = Screen::Setup(SetupForm {
                time_zone: crate::app::system_time_zone(),
                ..SetupForm::default()
            });
        }
    });
}

fn labelled_edit(ui: &mut Ui, label: String, value: &mut String, password: bool) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id)
}

fn setup(app: &mut HearthApp, ui: &mut Ui) {
    let tr_title = app.tr.t("setup-title");
    column(ui, |ui| {
        title(ui, tr_title);
        let labels = [
            app.tr.t("setup-name"),
            app.tr.t("setup-language"),
            app.tr.t("setup-time-zone"),
            app.tr.t("setup-passphrase"),
            app.tr.t("setup-passphrase-repeat"),
            app.tr.t("setup-passphrase-help"),
            app.tr.t("setup-create"),
        ];
        let Screen::Setup(form) = &mut app.screen else {
            return;
        };
        labelled_edit(ui, labels[0].clone(), &mut form.name, false);
        let store_exists = form.store_exists;
        ui.label(labels[1].clone());
        let _ = form;
        language_picker(app, ui);
        let Screen::Setup(form) = &mut app.screen else {
            return;
        };
        labelled_edit(ui, labels[2].clone(), &mut form.time_zone, false);
        if !store_exists {
            labelled_edit(ui, labels[3].clone(), &mut form.passphrase, true);
            if !form.passphrase.is_empty() {
                labelled_edit(ui, labels[4].clone(), &mut form.repeat, true);
            }
            ui.label(
                RichText::new(labels[5].clone())
                    .small()
                    .color(palette(ui.ctx()).muted),
            );
        }
        error(ui, &form.error);
        ui.add_space(8.0);
        let submit = ui.button(labels[6].clone()).clicked()
            || (ui.input(|i| i.key_pressed(Key::Enter)) && !form.name.trim().is_empty());
        if submit {
            app.create_profile();
        }
    });
}

fn unlock(app: &mut HearthApp, ui: &mut Ui) {
    let (t_title, t_pass, t_open) = (
        app.tr.t("unlock-title"),
        app.tr.t("unlock-passphrase"),
        app.tr.t("unlock-open"),
    );
    let mut open = None;
    column(ui, |ui| {
        title(ui, t_title);
        let Screen::Unlock {
            passphrase,
            error: message,
        } = &mut app.screen
        else {
            return;
        };
        let edit = labelled_edit(ui, t_pass, passphrase, true);
        error(ui, message);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if (ui.button(t_open).clicked() || enter) && !passphrase.is_empty() {
            *message = None;
            open = Some(passphrase.clone());
        }
    });
    if let Some(passphrase) = open {
        app.start_engine(Some(passphrase));
    }
}

fn pair(app: &mut HearthApp, ui: &mut Ui) {
    let t = |k: &str| app.tr.t(k);
    let (
        t_title,
        t_invite,
        t_have,
        t_nearby,
        t_copy,
        t_copied,
        t_paste,
        t_join,
        t_show,
        t_help,
        t_type,
        t_working,
    ) = (
        t("pair-title"),
        t("pair-invite"),
        t("pair-have-invite"),
        t("pair-nearby"),
        t("pair-copy"),
        t("pair-copied"),
        t("pair-paste-label"),
        t("pair-join"),
        t("pair-nearby-show"),
        t("pair-nearby-code-help"),
        t("pair-nearby-type"),
        t("pair-working"),
    );
    let expires = match &app.screen {
        Screen::Pair(PairScreen {
            invite: Some(invite),
            ..
        }) => format_time(invite.expires_at, &zone(&app.status_time_zone())),
        _ => String::new(),
    };
    let t_invite_help = app.tr.t1("pair-invite-help", "expires", expires);
    let (t_waiting, t_nobody) = (
        app.tr.t("pair-nearby-waiting"),
        app.tr.t("pair-nearby-nobody"),
    );
    let mut actions: Vec<Deferred> = Vec::new();
    column(ui, |ui| {
        title(ui, t_title);
        let Screen::Pair(pair) = &mut app.screen else {
            return;
        };
        let tabs = [
            (PairTab::Invite, t_invite.as_str()),
            (PairTab::HaveInvite, t_have.as_str()),
            (PairTab::Nearby, t_nearby.as_str()),
        ];
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
                        actions.push(Box::new(|app: &mut HearthApp| {
                            app.with_node(
                                |node| async move { UiResult::Invite(node.invite().await) },
                            );
                        }));
                    }
                }
                Some(invite) => {
                    ui.label(t_invite_help);
                    let mut code = invite.code.clone();
                    ui.add(
                        egui::TextEdit::multiline(&mut code)
                            .desired_rows(3)
                            .desired_width(f32::INFINITY)
                            .font(egui::TextStyle::Monospace),
                    );
                    let label = if pair.copied { &t_copied } else { &t_copy };
                    if ui.button(label.as_str()).clicked() {
                        ui.ctx().copy_text(invite.code.clone());
                        pair.copied = true;
                    }
                    qr_code(ui, &invite.qr_bytes);
                }
            },
            PairTab::HaveInvite => {
                let edit_label = ui.label(t_paste);
                ui.add(
                    egui::TextEdit::multiline(&mut pair.pasted)
                        .desired_rows(4)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(edit_label.id);
                if pair.busy {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(t_working);
                    });
                } else if ui.button(t_join).clicked() && !pair.pasted.trim().is_empty() {
                    pair.busy = true;
                    pair.error = None;
                    let code = pair.pasted.trim().to_string();
                    actions.push(Box::new(move |app: &mut HearthApp| {
                        app.with_node(
                            |node| async move { UiResult::Paired(node.pair(code).await) },
                        );
                    }));
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
                    actions.push(Box::new(|app: &mut HearthApp| {
                        app.with_node(|node| async move {
                            UiResult::NearbyDevices(node.nearby_devices().await.unwrap_or_default())
                        });
                    }));
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
                        ui.label(t_help);
                    }
                    None => {
                        if ui.button(t_show).clicked() {
                            actions.push(Box::new(|app: &mut HearthApp| {
                                app.with_node(|node| async move {
                                    UiResult::NearbyCode(node.nearby_code().await)
                                });
                            }));
                        }
                    }
                }
                ui.separator();
                let edit = labelled_edit(ui, t_type, &mut pair.typed_code, false);
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                if pair.busy {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(t_working);
                    });
                } else if (ui.button(t_join).clicked() || enter)
                    && pair.typed_code.trim().len() == 6
                {
                    pair.busy = true;
                    pair.error = None;
                    let code = pair.typed_code.trim().to_string();
                    actions.push(Box::new(move |app: &mut HearthApp| {
                        app.with_node(
                            |node| async move { UiResult::Paired(node.pair(code).await) },
                        );
                    }));
                }
            }
        }
        if pair.tab == PairTab::Nearby {
            ui.separator();
            if pair.nearby.is_empty() {
                ui.label(
                    RichText::new(&t_nobody)
                        .small()
                        .color(palette(ui.ctx()).muted),
                );
            } else {
                ui.label(RichText::new(&t_waiting).small());
                for name in &pair.nearby {
                    ui.label(RichText::new(format!("• {name}")).strong());
                }
            }
        }
        error(ui, &pair.error);
    });
    for action in actions {
        action(app);
    }
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

fn safety_words(app: &mut HearthApp, ui: &mut Ui) {
    let Screen::SafetyWords(info) = &app.screen else {
        return;
    };
    let t_title = app.tr.t1("safety-title", "name", info.partner.name.clone());
    let words = info.safety_words.join("  ·  ");
    let (t_body, t_continue) = (app.tr.t("safety-body"), app.tr.t("safety-continue"));
    let mut go = false;
    column(ui, |ui| {
        title(ui, t_title);
        ui.label(RichText::new(words).size(22.0).strong());
        ui.add_space(8.0);
        ui.label(t_body);
        ui.add_space(12.0);
        go = ui.button(t_continue).clicked();
    });
    if go {
        app.enter_chat();
    }
}

impl HearthApp {
    fn status_time_zone(&self) -> String {
        self.status
            .as_ref()
            .and_then(|s| s.profile.as_ref())
            .map(|p| p.time_zone.clone())
            .unwrap_or_else(|| "UTC".into())
    }
}

/// A time zone by its IANA name; UTC for a name this computer does not know.
fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `HH:MM` of a Unix time in milliseconds, in a time zone.
fn format_time(ms: i64, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned(zone.clone()).strftime("%H:%M").to_string(),
        Err(_) => String::new(),
    }
}

fn day_of(ms: i64, zone: &TimeZone) -> Option<jiff::civil::Date> {
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

fn chat(app: &mut HearthApp, ui: &mut Ui) {
    chat_header(app, ui);
    composer(app, ui);
    timeline(app, ui);
}

fn chat_header(app: &mut HearthApp, ui: &mut Ui) {
    let p = palette(ui.ctx());
    let name = app.partner_name();
    let online = app.online();
    let typing = app.partner_typing_until.is_some_and(|t| t > Instant::now());
    let partner_tz = app
        .status
        .as_ref()
        .and_then(|s| s.partner.as_ref())
        .map(|p| p.time_zone.clone())
        .unwrap_or_else(|| "UTC".into());
    let now = jiff::Timestamp::now().to_zoned(zone(&partner_tz));
    let hour = now.hour();
    let day = (7..20).contains(&hour);
    let their_time = app.tr.t2(
        "chat-their-time",
        ("time", now.strftime("%H:%M").to_string().into()),
        ("name", name.clone().into()),
    );
    let presence = if typing {
        app.tr.t1("chat-typing", "name", name.clone())
    } else if online {
        // How the two are connected: a person deciding whether to send a video
        // cares whether it goes through a relay.
        match app.status.as_ref().map(|s| s.connection) {
            Some(Connection::Nearby) => app.tr.t("chat-nearby"),
            Some(Connection::Direct) => app.tr.t("chat-direct"),
            Some(Connection::Relay) => app.tr.t("chat-relay"),
            _ => app.tr.t("chat-online"),
        }
    } else {
        app.tr.t("chat-offline")
    };
    let t_settings = app.tr.t("chat-settings");
    let t_memories = app.tr.t("memories-title");
    let mut open_settings = false;
    let mut open_memories = false;
    egui::Panel::top("chat_header").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let dot = if online { p.online } else { p.muted };
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().circle_filled(rect.center(), 4.5, dot);
            ui.label(RichText::new(&name).size(19.0).strong());
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let button = ui.button("⚙").on_hover_text(&t_settings);
                labelled(&button, &t_settings);
                if button.clicked() {
                    open_settings = true;
                }
                let button = ui.button("🖼").on_hover_text(&t_memories);
                labelled(&button, &t_memories);
                if button.clicked() {
                    open_memories = true;
                }
            });
        });
        ui.horizontal(|ui| {
            ui.label(RichText::new(presence).small().color(p.muted));
            ui.label(RichText::new("·").small().color(p.muted));
            let cue = if day { "☀" } else { "🌙" };
            ui.label(
                RichText::new(format!("{cue} {their_time}"))
                    .small()
                    .color(p.muted),
            );
        });
        ui.add_space(4.0);
    });
    // The partner's clock moves on: redraw once a minute for it.
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(30));
    if open_memories {
        crate::files::open_memories(app);
    }
    if open_settings {
        let profile = app
            .status
            .as_ref()
            .and_then(|s| s.profile.clone())
            .unwrap_or_default();
        app.screen = Screen::Settings(SettingsForm {
            name: profile.name,
            relay: String::new(),
            time_zone: profile.time_zone,
            passphrase: String::new(),
            repeat: String::new(),
            passphrase_saved: false,
            saved: false,
            error: None,
        });
    }
}

fn composer(app: &mut HearthApp, ui: &mut Ui) {
    let p = palette(ui.ctx());
    let t_message = app.tr.t("chat-composer");
    let t_send = app.tr.t("chat-send");
    let t_emoji = app.tr.t("chat-emoji");
    let t_cancel = app.tr.t("chat-cancel");
    let t_attach = app.tr.t("file-attach");
    let mut attach = false;
    let context = if app.editing.is_some() {
        Some(app.tr.t("chat-editing"))
    } else {
        app.replying_to.as_ref().and_then(|id| {
            let text = app.messages.iter().find(|m| &m.id == id)?.text.clone()?;
            let short: String = text.chars().take(60).collect();
            Some(app.tr.t1("chat-replying-to", "text", short))
        })
    };
    let mut send = false;
    let mut cancel = false;
    let mut typed = false;
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        crate::files::pasted_bar(app, ui);
        if let Some(context) = context {
            ui.horizontal(|ui| {
                ui.label(RichText::new(context).small().color(p.muted));
                if ui.small_button(&t_cancel).clicked() {
                    cancel = true;
                }
            });
        }
        ui.horizontal(|ui| {
            let emoji_button = ui
                .menu_button("😊", |ui| {
                    ui.label(RichText::new(&t_emoji).small());
                    egui::Grid::new("emoji").show(ui, |ui| {
                        for (i, emoji) in EMOJI.iter().enumerate() {
                            if ui.button(RichText::new(*emoji).size(20.0)).clicked() {
                                app.composer.push_str(emoji);
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
            if icon_button(ui, "📎", &t_attach).clicked() {
                attach = true;
            }
            let send_width = 72.0;
            let edit = egui::TextEdit::multiline(&mut app.composer)
                .hint_text(&t_message)
                .desired_rows(1)
                .desired_width(ui.available_width() - send_width)
                // Shift+Enter makes a new line; Enter alone sends.
                .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter));
            let response = ui.add(edit);
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::WidgetType::TextEdit, true, &t_message)
            });
            if response.changed() {
                typed = true;
            }
            if response.has_focus() && ui.input(|i| i.key_pressed(Key::Enter) && !i.modifiers.shift)
            {
                send = true;
            }
            if ui.button(&t_send).clicked() {
                send = true;
            }
            if send {
                response.request_focus();
            }
        });
        ui.add_space(6.0);
    });
    if cancel {
        app.replying_to = None;
        if app.editing.take().is_some() {
            app.composer.clear();
        }
    }
    if attach {
        app.picker = Some(crate::files::Picker::new(
            crate::files::PickerMode::Send,
            String::new(),
        ));
    }
    if typed && !app.composer.trim().is_empty() {
        app.typing();
    }
    if send {
        app.send_composer();
    }
}

fn timeline(app: &mut HearthApp, ui: &mut Ui) {
    // Resolved once per frame, not once per row.
    let my_tz = zone(&app.status_time_zone());
    let today = day_of(jiff::Timestamp::now().as_millisecond(), &my_tz);
    let stick = std::mem::take(&mut app.scroll_to_bottom);
    let mut load_older = false;
    let mut act: Option<(String, MessageAction)> = None;
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
                    if app.unread_from.as_deref() == Some(message.id.as_str()) {
                        row.vertical_centered(|ui| {
                            ui.label(
                                RichText::new(app.tr.t("chat-new-messages"))
                                    .small()
                                    .color(palette(ui.ctx()).accent),
                            );
                        });
                    }
                    if let Some(action) = bubble(app, &mut row, message, &my_tz) {
                        act = Some((message.id.clone(), action));
                    }
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
        app.load_history(true);
    }
    if let Some((id, action)) = act {
        match action {
            MessageAction::React(emoji) => app.with_node(move |node| async move {
                match node.react(id, emoji).await {
                    Ok(()) => UiResult::Done,
                    Err(e) => UiResult::Failed(e),
                }
            }),
            MessageAction::Reply => app.replying_to = Some(id),
            MessageAction::File(action) => app.file_action(id, action),
            MessageAction::Edit(text) => {
                app.editing = Some(id);
                app.composer = text;
            }
            MessageAction::Delete => app.with_node(move |node| async move {
                match node.delete(id).await {
                    Ok(()) => UiResult::Done,
                    Err(e) => UiResult::Failed(e),
                }
            }),
        }
    }
}

enum MessageAction {
    File(crate::files::FileAction),
    React(String),
    Reply,
    Edit(String),
    Delete,
}

fn bubble(
    app: &HearthApp,
    ui: &mut Ui,
    message: &MessageView,
    tz: &TimeZone,
) -> Option<MessageAction> {
    let p = palette(ui.ctx());
    let mine = message.author == Author::Me;
    let layout = if mine {
        Layout::right_to_left(Align::Min)
    } else {
        Layout::left_to_right(Align::Min)
    };
    let max_width = (ui.available_width() * 0.78).max(160.0);
    let mut action = None;
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
                    if let Some(attachment) = &message.attachment {
                        if let Some(file) = crate::files::attachment(app, ui, message, attachment) {
                            action = Some(MessageAction::File(file));
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
                    let label = format!("{} {emoji}", app.tr.t("chat-react"));
                    if icon_button(ui, emoji, &label).clicked() {
                        action = Some(MessageAction::React(emoji.to_string()));
                    }
                }
                if icon_button(ui, "↩", &app.tr.t("chat-reply")).clicked() {
                    action = Some(MessageAction::Reply);
                }
                if mine {
                    if message.attachment.is_none()
                        && icon_button(ui, "✏", &app.tr.t("chat-edit")).clicked()
                    {
                        action = Some(MessageAction::Edit(
                            message.text.clone().unwrap_or_default(),
                        ));
                    }
                    if icon_button(ui, "🗑", &app.tr.t("chat-delete")).clicked() {
                        action = Some(MessageAction::Delete);
                    }
                }
            });
        }
    });
    ui.add_space(2.0);
    action
}

fn settings(app: &mut HearthApp, ui: &mut Ui) {
    let t = |k: &str| app.tr.t(k);
    let (
        t_title,
        t_name,
        t_lang,
        t_tz,
        t_theme,
        t_light,
        t_dark,
        t_system,
        t_words,
        t_notify,
        t_hide,
        t_save,
        t_saved,
        t_back,
    ) = (
        t("settings-title"),
        t("setup-name"),
        t("setup-language"),
        t("setup-time-zone"),
        t("settings-theme"),
        t("theme-light"),
        t("theme-dark"),
        t("theme-system"),
        t("settings-safety-words"),
        t("settings-notifications"),
        t("settings-hide-text"),
        t("settings-save"),
        t("settings-saved"),
        t("settings-back"),
    );
    let protection = match app.status.as_ref().map(|s| s.key_protection) {
        Some("passphrase") => t("key-protection-passphrase"),
        _ => t("key-protection-key-file"),
    };
    let words = app
        .status
        .as_ref()
        .map(|s| s.safety_words.join("  ·  "))
        .unwrap_or_default();
    let (t_new_pass, t_repeat_pass, t_change_pass, t_mismatch) = (
        app.tr.t("settings-new-passphrase"),
        app.tr.t("setup-passphrase-repeat"),
        app.tr.t("settings-change-passphrase"),
        app.tr.t("error-passphrase-mismatch"),
    );
    let mut change_pass: Option<String> = None;
    let mut network: Option<(bool, Vec<String>)> = None;
    let (internet, relays, dht) = app
        .status
        .as_ref()
        .map(|s| (s.internet, s.relays.clone(), s.dht.clone()))
        .unwrap_or_default();
    let (t_network, t_internet, t_relays, t_no_relays, t_add_relay, t_add, t_remove, t_dht) = (
        app.tr.t("settings-network"),
        app.tr.t("settings-internet"),
        app.tr.t("settings-relays"),
        app.tr.t("settings-no-relays"),
        app.tr.t("settings-add-relay"),
        app.tr.t("settings-add"),
        app.tr.t("settings-remove"),
        app.tr.t("settings-dht"),
    );
    let mut back = false;
    let mut save = None;
    let mut lang_changed = None;
    let mut theme_changed = None;
    let (mut notifications, mut hide_text) = (app.notifications, app.hide_text);
    // Taller than a small window: it scrolls.
    egui::ScrollArea::vertical().show(ui, |ui| {
        column(ui, |ui| {
            title(ui, t_title);
            ui.label(t_lang);
            lang_changed = language_picker(app, ui);
            let Screen::Settings(form) = &mut app.screen else {
                return;
            };
            labelled_edit(ui, t_name, &mut form.name, false);
            labelled_edit(ui, t_tz, &mut form.time_zone, false);
            error(ui, &form.error);
            ui.horizontal(|ui| {
                if ui.button(&t_save).clicked() {
                    save = Some((
                        form.name.trim().to_string(),
                        form.time_zone.trim().to_string(),
                    ));
                }
                if form.saved {
                    ui.label(RichText::new(&t_saved).small());
                }
            });
            ui.separator();
            ui.label(t_theme);
            let themes = [
                (ThemeChoice::Light, t_light.as_str()),
                (ThemeChoice::Dark, t_dark.as_str()),
                (ThemeChoice::System, t_system.as_str()),
            ];
            theme_changed = choice_row(ui, app.theme, &themes);
            ui.separator();
            ui.checkbox(&mut notifications, t_notify);
            ui.checkbox(&mut hide_text, t_hide);
            ui.separator();
            ui.label(RichText::new(t_network).strong());
            let mut wants_internet = internet;
            if ui.checkbox(&mut wants_internet, t_internet).changed() {
                network = Some((wants_internet, relays.clone()));
            }
            ui.label(RichText::new(t_relays).small());
            if relays.is_empty() {
                ui.label(RichText::new(t_no_relays).small().italics());
            }
            for relay in &relays {
                ui.horizontal(|ui| {
                    let button = ui.small_button(&t_remove);
                    labelled(&button, &format!("{t_remove} {relay}"));
                    if button.clicked() {
                        let kept = relays.iter().filter(|r| *r != relay).cloned().collect();
                        network = Some((internet, kept));
                    }
                    ui.add(egui::Label::new(RichText::new(relay).small().monospace()).truncate());
                });
            }
            labelled_edit(ui, t_add_relay, &mut form.relay, false);
            if ui.button(&t_add).clicked() && !form.relay.trim().is_empty() {
                let mut more = relays.clone();
                more.push(form.relay.trim().to_string());
                network = Some((internet, more));
            }
            if !dht.is_empty() {
                ui.label(RichText::new(t_dht).small());
                for server in &dht {
                    ui.add(egui::Label::new(RichText::new(server).small().monospace()).truncate());
                }
            }
            ui.separator();
            ui.label(RichText::new(protection).small());
            labelled_edit(ui, t_new_pass, &mut form.passphrase, true);
            labelled_edit(ui, t_repeat_pass, &mut form.repeat, true);
            ui.horizontal(|ui| {
                if ui.button(&t_change_pass).clicked() {
                    if form.passphrase == form.repeat {
                        form.error = None;
                        change_pass = Some(form.passphrase.clone());
                        form.passphrase.clear();
                        form.repeat.clear();
                    } else {
                        form.error = Some(t_mismatch.clone());
                    }
                }
                if form.passphrase_saved {
                    ui.label(RichText::new(&t_saved).small());
                }
            });
            ui.add_space(4.0);
            ui.label(RichText::new(t_words).small());
            ui.label(RichText::new(words).strong());
            ui.add_space(12.0);
            back = ui.button(t_back).clicked();
        });
    });
    if notifications != app.notifications {
        app.notifications = notifications;
        app.save_setting(
            "notifications",
            if notifications { "on" } else { "off" }.into(),
        );
    }
    if hide_text != app.hide_text {
        app.hide_text = hide_text;
        app.save_setting("hide_text", if hide_text { "on" } else { "off" }.into());
    }
    if let Some(choice) = theme_changed {
        app.set_theme(choice);
        app.save_setting("theme", choice.code().into());
    }
    // Language switches live, and is saved in the profile so the partner sees it.
    if lang_changed.is_some()
        && save.is_none()
        && let Screen::Settings(form) = &app.screen
    {
        save = Some((
            form.name.trim().to_string(),
            form.time_zone.trim().to_string(),
        ));
    }
    if let Some((name, time_zone)) = save {
        let language = app.tr.lang().code().to_string();
        if let Screen::Settings(form) = &mut app.screen {
            form.saved = true;
        }
        app.with_node(move |node| async move {
            UiResult::Status(
                node.init(hearth_node::Profile {
                    name,
                    language,
                    time_zone,
                })
                .await,
            )
        });
    }
    if let Some((internet, relays)) = network {
        app.with_node(move |node| async move {
            UiResult::Status(node.set_network(internet, relays).await)
        });
    }
    if let Some(passphrase) = change_pass {
        if let Screen::Settings(form) = &mut app.screen {
            form.passphrase_saved = true;
        }
        let passphrase = (!passphrase.is_empty()).then_some(passphrase);
        app.with_node(move |node| async move {
            UiResult::Status(node.change_passphrase(passphrase).await)
        });
    }
    if back {
        app.screen = Screen::Chat;
        app.scroll_to_bottom = true;
    }
}

/// A small button that shows an icon and is announced, and found by tests, by `label`.
fn icon_button(ui: &mut Ui, icon: &str, label: &str) -> egui::Response {
    let response = ui.small_button(icon).on_hover_text(label);
    labelled(&response, label);
    response
}

/// Gives an icon-only button the accessible name `label`.
fn labelled(response: &egui::Response, label: &str) {
    response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Button, true, label));
}
