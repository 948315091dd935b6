//! The first screens: the welcome, "about you" (the profile), and the unlock screen
//! of a profile protected by a passphrase.

use egui::{Key, RichText, Ui};

use super::{Action, column, error, labelled_edit, language_picker, title};
use crate::app::{HearthApp, Screen};
use crate::theme::palette;

/// The "about you" form.
#[derive(Default)]
pub(crate) struct SetupForm {
    pub(crate) name: String,
    pub(crate) time_zone: String,
    pub(crate) passphrase: String,
    pub(crate) repeat: String,
    pub(crate) error: Option<String>,
    /// The profile store exists already (created earlier, never set up).
    pub(crate) store_exists: bool,
}

pub(super) fn welcome(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let tr = &app.tr;
    column(ui, |ui| {
        ui.label(RichText::new("🏠").size(48.0));
        title(ui, tr.t("welcome-title"));
        ui.label(tr.t("welcome-body"));
        ui.add_space(12.0);
        if let Some(lang) = language_picker(ui, tr.lang()) {
            out.push(Action::SetLang(lang));
        }
        ui.add_space(12.0);
        if ui.button(tr.t("welcome-start")).clicked() {
            out.push(Action::BeginSetup);
        }
    });
}

pub(super) fn setup(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let tr = &app.tr;
    let Screen::Setup(form) = &mut app.screen else {
        return;
    };
    column(ui, |ui| {
        title(ui, tr.t("setup-title"));
        labelled_edit(ui, tr.t("setup-name"), &mut form.name, false);
        ui.label(tr.t("setup-language"));
        if let Some(lang) = language_picker(ui, tr.lang()) {
            out.push(Action::SetLang(lang));
        }
        labelled_edit(ui, tr.t("setup-time-zone"), &mut form.time_zone, false);
        if !form.store_exists {
            labelled_edit(ui, tr.t("setup-passphrase"), &mut form.passphrase, true);
            if !form.passphrase.is_empty() {
                labelled_edit(ui, tr.t("setup-passphrase-repeat"), &mut form.repeat, true);
            }
            ui.label(
                RichText::new(tr.t("setup-passphrase-help"))
                    .small()
                    .color(palette(ui.ctx()).muted),
            );
        }
        error(ui, &form.error);
        ui.add_space(8.0);
        let submit = ui.button(tr.t("setup-create")).clicked()
            || (ui.input(|i| i.key_pressed(Key::Enter)) && !form.name.trim().is_empty());
        if submit {
            out.push(Action::CreateProfile);
        }
    });
}

pub(super) fn unlock(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let tr = &app.tr;
    let Screen::Unlock {
        passphrase,
        error: message,
    } = &mut app.screen
    else {
        return;
    };
    column(ui, |ui| {
        title(ui, tr.t("unlock-title"));
        let edit = labelled_edit(ui, tr.t("unlock-passphrase"), passphrase, true);
        error(ui, message);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if (ui.button(tr.t("unlock-open")).clicked() || enter) && !passphrase.is_empty() {
            *message = None;
            out.push(Action::Unlock(passphrase.clone()));
        }
    });
}
