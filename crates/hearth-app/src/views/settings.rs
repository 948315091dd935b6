//! Settings: language, name and time zone, theme, notifications, how the two find
//! each other (internet, relays), the passphrase, and the safety words.

use egui::{RichText, Ui};
use hearth_node::Profile;

use super::{Action, choice_row, column, error, labelled, labelled_edit, language_picker, title};
use crate::app::{HearthApp, Screen};
use crate::background::TrayState;
use crate::prefs::ThemeChoice;

/// The settings screen's form.
pub(crate) struct SettingsForm {
    pub(crate) name: String,
    /// A relay address being typed.
    pub(crate) relay: String,
    pub(crate) time_zone: String,
    pub(crate) passphrase: String,
    pub(crate) repeat: String,
    pub(crate) passphrase_saved: bool,
    pub(crate) saved: bool,
    pub(crate) error: Option<String>,
    /// Why the last change to the network (a relay added, say) was refused.
    pub(crate) network_error: Option<String>,
    /// "The words differ" was pressed: asking to confirm.
    pub(crate) confirm_unpair: bool,
    /// "End our pairing" was pressed: asking to confirm.
    pub(crate) confirm_uncouple: bool,
    /// Ending the pairing deletes the shared history too.
    pub(crate) delete_history: bool,
    /// A mailbox invite being pasted.
    pub(crate) mailbox_code: String,
    /// Where to write a backup.
    pub(crate) backup_path: String,
    /// The backup's passphrase, twice.
    pub(crate) backup_passphrase: String,
    pub(crate) backup_repeat: String,
    /// How the last backup went, or how far it is.
    pub(crate) backup_state: Option<String>,
    /// Why joining the mailbox failed.
    pub(crate) mailbox_error: Option<String>,
    /// The couple's days being edited ([`super::days`]).
    pub(crate) together_since: String,
    pub(crate) meeting_date: String,
    pub(crate) meeting_place: String,
    pub(crate) new_day_date: String,
    pub(crate) new_day_title: String,
    /// Why the last change to the days was refused.
    pub(crate) days_error: Option<String>,
}

impl SettingsForm {
    /// The form for a profile as it is now.
    pub(crate) fn new(profile: Profile) -> SettingsForm {
        SettingsForm {
            name: profile.name,
            relay: String::new(),
            time_zone: profile.time_zone,
            passphrase: String::new(),
            repeat: String::new(),
            passphrase_saved: false,
            saved: false,
            error: None,
            confirm_unpair: false,
            confirm_uncouple: false,
            delete_history: false,
            network_error: None,
            mailbox_code: String::new(),
            backup_path: default_backup_path(),
            backup_passphrase: String::new(),
            backup_repeat: String::new(),
            backup_state: None,
            mailbox_error: None,
            together_since: String::new(),
            meeting_date: String::new(),
            meeting_place: String::new(),
            new_day_date: String::new(),
            new_day_title: String::new(),
            days_error: None,
        }
    }
}

pub(super) fn settings(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let tr = &app.tr;
    let prefs = &app.prefs;
    let app_start_at_login = app.start_at_login;
    let tray = app.background.tray_state();
    let protection = match app.status.as_ref().map(|s| s.key_protection) {
        Some("passphrase") => tr.t("key-protection-passphrase"),
        _ => tr.t("key-protection-key-file"),
    };
    let words = app
        .status
        .as_ref()
        .map(|s| s.safety_words.join("  ·  "))
        .unwrap_or_default();
    let (internet, relays, dht) = app
        .status
        .as_ref()
        .map(|s| (s.internet, s.relays.clone(), s.dht.clone()))
        .unwrap_or_default();
    let mailbox = app
        .status
        .as_ref()
        .map(|s| s.mailbox.clone())
        .unwrap_or_default();
    let partner = app
        .status
        .as_ref()
        .and_then(|s| s.partner.as_ref())
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let paired_now = app
        .status
        .as_ref()
        .is_some_and(|s| s.paired && s.ended.is_none());
    let days = app.days.clone();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let Screen::Settings(form) = &mut app.screen else {
        return;
    };
    // Taller than a small window: it scrolls.
    egui::ScrollArea::vertical().show(ui, |ui| {
        column(ui, |ui| {
            title(ui, tr.t("settings-title"));
            ui.label(tr.t("setup-language"));
            let lang_changed = language_picker(ui, tr.lang());
            labelled_edit(ui, tr.t("setup-name"), &mut form.name, false);
            labelled_edit(ui, tr.t("setup-time-zone"), &mut form.time_zone, false);
            error(ui, &form.error);
            ui.horizontal(|ui| {
                // The language switches live, and is saved in the profile so the
                // partner sees it.
                if let Some(lang) = lang_changed {
                    out.push(Action::SetLang(lang));
                }
                if ui.button(tr.t("settings-save")).clicked() || lang_changed.is_some() {
                    out.push(Action::SaveProfile {
                        name: form.name.trim().to_string(),
                        time_zone: form.time_zone.trim().to_string(),
                    });
                }
                if form.saved {
                    ui.label(RichText::new(tr.t("settings-saved")).small());
                }
            });
            ui.separator();
            ui.label(tr.t("settings-theme"));
            let themes = [
                (ThemeChoice::Light, tr.t("theme-light")),
                (ThemeChoice::Dark, tr.t("theme-dark")),
                (ThemeChoice::System, tr.t("theme-system")),
            ];
            let themes = themes
                .each_ref()
                .map(|(choice, label)| (*choice, label.as_str()));
            if let Some(choice) = choice_row(ui, prefs.theme, &themes) {
                out.push(Action::SetTheme(choice));
            }
            ui.separator();
            let mut notifications = prefs.notifications;
            if ui
                .checkbox(&mut notifications, tr.t("settings-notifications"))
                .changed()
            {
                out.push(Action::SetNotifications(notifications));
            }
            let mut at_login = app_start_at_login;
            if ui
                .checkbox(&mut at_login, tr.t("settings-start-at-login"))
                .changed()
            {
                out.push(Action::SetStartAtLogin(at_login));
            }
            match tray {
                TrayState::Shown => {
                    let mut keep = prefs.keep_running;
                    if ui
                        .checkbox(&mut keep, tr.t("settings-keep-running"))
                        .changed()
                    {
                        out.push(Action::SetKeepRunning(keep));
                    }
                }
                TrayState::Missing => {
                    ui.label(RichText::new(tr.t("settings-no-tray")).small());
                }
                TrayState::Off | TrayState::Starting => {}
            }
            let mut hide_text = prefs.hide_text;
            if ui
                .checkbox(&mut hide_text, tr.t("settings-hide-text"))
                .changed()
            {
                out.push(Action::SetHideText(hide_text));
            }
            ui.separator();
            ui.label(RichText::new(tr.t("settings-network")).strong());
            let mut wants_internet = internet;
            if ui
                .checkbox(&mut wants_internet, tr.t("settings-internet"))
                .changed()
            {
                out.push(Action::SetNetwork {
                    internet: wants_internet,
                    relays: relays.clone(),
                });
            }
            ui.label(RichText::new(tr.t("settings-relays")).small());
            if relays.is_empty() {
                ui.label(RichText::new(tr.t("settings-no-relays")).small().italics());
            }
            for relay in &relays {
                ui.horizontal(|ui| {
                    let button = ui.small_button(tr.t("settings-remove"));
                    labelled(
                        &button,
                        &tr.t1("settings-remove-named", "relay", relay.as_str()),
                    );
                    if button.clicked() {
                        let kept = relays.iter().filter(|r| *r != relay).cloned().collect();
                        out.push(Action::SetNetwork {
                            internet,
                            relays: kept,
                        });
                    }
                    ui.add(egui::Label::new(RichText::new(relay).small().monospace()).truncate());
                });
            }
            labelled_edit(ui, tr.t("settings-add-relay"), &mut form.relay, false);
            if ui.button(tr.t("settings-add")).clicked() && !form.relay.trim().is_empty() {
                let mut more = relays.clone();
                more.push(form.relay.trim().to_string());
                out.push(Action::SetNetwork {
                    internet,
                    relays: more,
                });
            }
            // Below the button, so the button stays where the user is about to click
            // it again.
            error(ui, &form.network_error);
            if !dht.is_empty() {
                ui.label(RichText::new(tr.t("settings-dht")).small());
                for server in &dht {
                    ui.add(egui::Label::new(RichText::new(server).small().monospace()).truncate());
                }
            }
            ui.separator();
            mailbox_section(tr, ui, form, &mailbox, &partner, now_ms, out);
            ui.separator();
            backup_section(tr, ui, form, out);
            if paired_now {
                ui.separator();
                super::days::days_section(tr, ui, form, days.as_ref(), out);
            }
            ui.separator();
            ui.label(RichText::new(protection).small());
            labelled_edit(
                ui,
                tr.t("settings-new-passphrase"),
                &mut form.passphrase,
                true,
            );
            labelled_edit(ui, tr.t("setup-passphrase-repeat"), &mut form.repeat, true);
            ui.horizontal(|ui| {
                if ui.button(tr.t("settings-change-passphrase")).clicked() {
                    if form.passphrase == form.repeat {
                        form.error = None;
                        let passphrase = std::mem::take(&mut form.passphrase);
                        form.repeat.clear();
                        out.push(Action::ChangePassphrase(
                            (!passphrase.is_empty()).then_some(passphrase),
                        ));
                    } else {
                        form.error = Some(tr.t("error-passphrase-mismatch"));
                    }
                }
                if form.passphrase_saved {
                    ui.label(RichText::new(tr.t("settings-saved")).small());
                }
            });
            ui.add_space(4.0);
            ui.label(RichText::new(tr.t("settings-safety-words")).small());
            ui.label(RichText::new(words).strong());
            // Compared later, on a call: they can still say the words differ, once
            // they confirm that it deletes what they shared.
            if form.confirm_unpair {
                ui.label(RichText::new(tr.t("settings-unpair-confirm")).small());
                ui.horizontal(|ui| {
                    if ui.button(tr.t("settings-unpair")).clicked() {
                        form.confirm_unpair = false;
                        out.push(Action::RejectPairing);
                    }
                    if ui.button(tr.t("settings-cancel")).clicked() {
                        form.confirm_unpair = false;
                    }
                });
            } else if ui.button(tr.t("safety-differ")).clicked() {
                form.confirm_unpair = true;
            }
            if paired_now {
                ui.separator();
                uncouple_section(tr, ui, form, &partner, out);
            }
            ui.add_space(12.0);
            if ui.button(tr.t("settings-back")).clicked() {
                out.push(Action::BackToChat);
            }
        });
    });
}

/// The couple's mailbox: what it is for, its state, joining and leaving it.
fn mailbox_section(
    tr: &crate::i18n::Tr,
    ui: &mut Ui,
    form: &mut SettingsForm,
    mailbox: &hearth_node::MailboxStatus,
    partner: &str,
    now_ms: i64,
    out: &mut Vec<Action>,
) {
    ui.label(RichText::new(tr.t("mailbox-title")).strong());
    ui.label(RichText::new(tr.t("mailbox-about")).small());
    let Some(peer_id) = &mailbox.peer_id else {
        labelled_edit(ui, tr.t("mailbox-invite"), &mut form.mailbox_code, false);
        if ui.button(tr.t("mailbox-join")).clicked() && !form.mailbox_code.trim().is_empty() {
            out.push(Action::JoinMailbox(form.mailbox_code.trim().to_string()));
        }
        error(ui, &form.mailbox_error);
        return;
    };
    ui.add(
        egui::Label::new(
            RichText::new(hearth_node::device_label(peer_id))
                .small()
                .monospace(),
        )
        .truncate(),
    );
    let state = match (&mailbox.error, mailbox.last_contact_ms) {
        (Some(why), _) => tr.t1("mailbox-unreachable", "detail", why.as_str()),
        (None, Some(at)) => tr.t1(
            "mailbox-reached",
            "minutes",
            ((now_ms - at).max(0) / 60_000) as u64,
        ),
        (None, None) => tr.t("mailbox-not-reached"),
    };
    ui.label(RichText::new(state).small());
    if mailbox.to_leave > 0 {
        ui.label(RichText::new(tr.t1("mailbox-to-leave", "count", mailbox.to_leave)).small());
    }
    if mailbox.waiting_for_partner > 0 {
        ui.label(
            RichText::new(tr.t2(
                "mailbox-waiting",
                ("count", mailbox.waiting_for_partner.into()),
                ("partner", partner.into()),
            ))
            .small(),
        );
    }
    if ui.button(tr.t("mailbox-leave")).clicked() {
        out.push(Action::LeaveMailbox);
    }
    error(ui, &form.mailbox_error);
}

/// Ending the pairing by choice: on both devices, perhaps with the history.
fn uncouple_section(
    tr: &crate::i18n::Tr,
    ui: &mut Ui,
    form: &mut SettingsForm,
    partner: &str,
    out: &mut Vec<Action>,
) {
    ui.label(RichText::new(tr.t("uncouple-title")).strong());
    ui.label(RichText::new(tr.t1("uncouple-about", "name", partner)).small());
    ui.checkbox(&mut form.delete_history, tr.t("uncouple-delete"));
    ui.label(RichText::new(tr.t("uncouple-honest")).small().italics());
    if form.confirm_uncouple {
        ui.horizontal(|ui| {
            if ui.button(tr.t("uncouple-confirm")).clicked() {
                form.confirm_uncouple = false;
                out.push(Action::Uncouple {
                    delete_history: form.delete_history,
                });
            }
            if ui.button(tr.t("settings-cancel")).clicked() {
                form.confirm_uncouple = false;
            }
        });
    } else if ui.button(tr.t("uncouple-button")).clicked() {
        form.confirm_uncouple = true;
    }
}

/// `~/hearth-backup-<date>.hearth`, where a person looks for it.
fn default_backup_path() -> String {
    let date = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let home = std::env::var("HOME").unwrap_or_default();
    format!("{home}/hearth-backup-{date}.hearth")
}

/// A backup of everything shared, in one encrypted file the user keeps.
fn backup_section(
    tr: &crate::i18n::Tr,
    ui: &mut Ui,
    form: &mut SettingsForm,
    out: &mut Vec<Action>,
) {
    ui.label(RichText::new(tr.t("backup-title")).strong());
    ui.label(RichText::new(tr.t("backup-about")).small());
    labelled_edit(ui, tr.t("backup-path"), &mut form.backup_path, false);
    labelled_edit(
        ui,
        tr.t("backup-passphrase"),
        &mut form.backup_passphrase,
        true,
    );
    labelled_edit(
        ui,
        tr.t("backup-passphrase-repeat"),
        &mut form.backup_repeat,
        true,
    );
    if ui.button(tr.t("backup-button")).clicked() {
        if form.backup_passphrase != form.backup_repeat {
            form.backup_state = Some(tr.t("error-passphrase-mismatch"));
        } else {
            form.backup_state = Some(tr.t("backup-started"));
            out.push(Action::Backup {
                path: form.backup_path.trim().to_string(),
                passphrase: std::mem::take(&mut form.backup_passphrase),
            });
            form.backup_repeat.clear();
        }
    }
    if let Some(state) = &form.backup_state {
        ui.label(RichText::new(state).small());
    }
}
