//! Drawing: one module per screen, and the windows over them (picker, viewer).
//!
//! A view reads the app's state and draws it. It may change what belongs to its own
//! screen as the user types or picks (form fields, a tab, the composer's text), but
//! anything that does work (the engine, another screen, a stored choice) it returns as
//! an [`Action`], which [`HearthApp::apply`] carries out after the frame is drawn.
//! No view touches the engine.

use std::path::PathBuf;

use egui::{Align, Layout, RichText, Ui};
use hearth_node::{FileSource, MessageId, SendOptions};

use crate::app::{HearthApp, Screen};
use crate::files::FileAction;
use crate::i18n::Lang;
use crate::prefs::ThemeChoice;
use crate::theme::palette;

mod attachment;
pub(crate) mod boundaries;
mod chat;
mod days;
mod memories;
pub(crate) mod moods;
pub(crate) mod pairing;
pub(crate) mod picker;
pub(crate) mod settings;
mod timeline;
pub(crate) mod viewer;
pub(crate) mod welcome;

pub(crate) use days::day_reminder;

/// What a view asks of the app.
pub(crate) enum Action {
    /// Speak this language from now on.
    SetLang(Lang),
    /// From the welcome to the "about you" form.
    BeginSetup,
    /// Create the profile the "about you" form describes.
    CreateProfile,
    /// Open a profile with its passphrase.
    Unlock(String),
    /// Make an invite to show.
    RequestInvite,
    /// Make a six-digit code to show nearby.
    RequestNearbyCode,
    /// Ask again who is waiting to pair on this network.
    RefreshNearby,
    /// Pair with an invite or a code from the partner's screen.
    Pair(String),
    /// Into the chat, once the safety words match.
    EnterChat,
    /// The safety words differ: end the pairing on both devices.
    RejectPairing,
    /// End the pairing on both devices, perhaps deleting the shared history.
    Uncouple {
        delete_history: bool,
    },
    /// Leave a pairing that ended, to pair anew.
    PairAnew,
    OpenSettings,
    OpenMemories,
    /// Back to the chat from Settings or Memories.
    BackToChat,
    /// Send the composer's text, or save it as the edit of a message.
    Send,
    /// The user typed in the composer (the partner sees "typing…").
    Typing,
    /// Stop replying or editing.
    CancelCompose,
    /// Open the picker to send files.
    Attach,
    /// Page older messages in.
    LoadOlder,
    React {
        id: MessageId,
        emoji: String,
    },
    Reply(MessageId),
    /// Put a message of mine in the composer to edit.
    Edit {
        id: MessageId,
        text: String,
    },
    Delete(MessageId),
    /// Something done to a message's attachment.
    File {
        id: MessageId,
        action: FileAction,
    },
    /// Send these files, each as its own message.
    SendFiles {
        sources: Vec<FileSource>,
        options: SendOptions,
    },
    /// Save a copy of an attachment at `path`.
    SaveFile {
        id: MessageId,
        path: PathBuf,
    },
    /// Take a picture from the clipboard to send.
    PastePicture,
    /// Send the pasted picture.
    SendPasted {
        view_once: bool,
    },
    /// Forget the pasted picture.
    DropPasted,
    /// Show attachment `ids[at]`, able to step through `ids`.
    OpenViewer {
        ids: Vec<MessageId>,
        at: usize,
    },
    CloseViewer,
    /// Save my profile (and with it the language shown now).
    SaveProfile {
        name: String,
        time_zone: String,
    },
    /// Set one of the couple's days (`id`: the anniversary to change).
    SetDay {
        kind: hearth_node::DayKindView,
        id: Option<String>,
        date: String,
        title: String,
    },
    /// Remove one of the couple's days, by its id.
    RemoveDay(String),
    /// Open the "how I feel today" window.
    OpenMoods,
    /// Open the "our boundaries" window.
    OpenBoundaries,
    /// Propose what of this change differs from the agreement.
    ProposeBoundaries(hearth_node::BoundaryChange),
    /// Accept the partner's proposal.
    AcceptBoundaries(MessageId),
    /// Mark the next message urgent, or not.
    SetUrgent(bool),
    /// Add a recurring check-in.
    AddCheckIn {
        weekdays: Vec<String>,
        time: String,
        time_zone: String,
    },
    /// Remove a check-in on both devices.
    RemoveCheckIn(MessageId),
    /// Send the composer's text to show on the partner's device later.
    SendLater(hearth_node::SendAt),
    /// Cancel my message scheduled for later.
    CancelScheduled(MessageId),
    /// Share how I feel today.
    ShareMood {
        mood: String,
        note: String,
    },
    /// Look for the partner across the internet or not, through these relays.
    SetNetwork {
        internet: bool,
        relays: Vec<String>,
    },
    /// Join the couple's mailbox with its invite.
    JoinMailbox(String),
    /// Stop using the mailbox.
    LeaveMailbox,
    /// Set, change or (with `None`) remove the passphrase.
    ChangePassphrase(Option<String>),
    SetTheme(ThemeChoice),
    SetNotifications(bool),
    SetHideText(bool),
    SetKeepRunning(bool),
    /// Start Hearth when this user logs in, or not.
    SetStartAtLogin(bool),
    /// Write a backup to this file under this passphrase.
    Backup {
        path: String,
        passphrase: String,
    },
}

/// Draws the frame and returns what the user asked for, in order.
pub(crate) fn show(app: &mut HearthApp, ui: &mut Ui) -> Vec<Action> {
    let mut actions = Vec::new();
    let out = &mut actions;
    toast(app, ui);
    egui::CentralPanel::default().show(ui, |ui| match &app.screen {
        Screen::Loading => {
            ui.centered_and_justified(|ui| ui.spinner());
        }
        Screen::Welcome => welcome::welcome(app, ui, out),
        Screen::Setup(_) => welcome::setup(app, ui, out),
        Screen::Unlock { .. } => welcome::unlock(app, ui, out),
        Screen::Pair(_) => pairing::pair(app, ui, out),
        Screen::SafetyWords(_) => pairing::safety_words(app, ui, out),
        Screen::Chat => chat::chat(app, ui, out),
        Screen::Settings(_) => settings::settings(app, ui, out),
        Screen::Memories => memories::memories(app, ui, out),
    });
    let ctx = ui.ctx().clone();
    picker::picker_window(app, &ctx, &mut actions);
    viewer::viewer_window(app, &ctx, &mut actions);
    if matches!(app.screen, Screen::Chat) {
        moods::moods_window(app, &ctx, &mut actions);
        boundaries::boundaries_window(app, &ctx, &mut actions);
    }
    picker::drop_hint(app, &ctx);
    actions
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

/// The languages, each by its own name; returns the one clicked.
fn language_picker(ui: &mut Ui, current: Lang) -> Option<Lang> {
    let choices = Lang::ALL.map(|lang| (lang, lang.native_name()));
    choice_row(ui, current, &choices)
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
