//! The file picker (choosing files to send, or where to save a copy) and the hint
//! shown while files are dragged over the window.
//!
//! The picker is drawn by the app itself rather than asked of the desktop: a portal
//! or GTK dialog is not there on every desktop (nor under Xvfb), and this one speaks
//! the user's language.

use std::collections::BTreeSet;
use std::path::PathBuf;

use egui::RichText;
use hearth_node::{FileSource, MessageId, SendOptions};

use super::Action;
use crate::app::{HearthApp, Screen};
use crate::i18n::Tr;
use crate::theme::palette;

/// Expiry choices offered when sending, in seconds after opening.
const EXPIRIES: [(Option<u64>, &str); 3] = [
    (None, "file-expire-never"),
    (Some(3600), "file-expire-hour"),
    (Some(24 * 3600), "file-expire-day"),
];

/// What the picker is for.
pub(crate) enum PickerMode {
    /// Choose files to send.
    Send,
    /// Choose where to save a copy of message `id`.
    Save { id: MessageId },
}

/// Why the picker cannot do what was asked, said in the language shown when drawn.
pub(crate) enum PickerError {
    /// A folder that could not be listed.
    Folder {
        path: PathBuf,
        kind: std::io::ErrorKind,
        /// The system's words, shown only when the kind says nothing more useful.
        detail: String,
    },
    /// "Paste a picture" with no picture on the clipboard.
    NoPicture,
}

impl PickerError {
    fn message(&self, tr: &Tr) -> String {
        match self {
            PickerError::Folder { path, kind, detail } => {
                let path = path.display().to_string();
                match kind {
                    std::io::ErrorKind::NotFound => tr.t1("file-folder-missing", "path", path),
                    std::io::ErrorKind::PermissionDenied => {
                        tr.t1("file-folder-denied", "path", path)
                    }
                    _ => tr.t2(
                        "file-folder-failed",
                        ("path", path.into()),
                        ("detail", detail.as_str().into()),
                    ),
                }
            }
            PickerError::NoPicture => tr.t("file-paste-none"),
        }
    }
}

/// The in-app file picker.
pub(crate) struct Picker {
    pub(crate) mode: PickerMode,
    pub(crate) dir: PathBuf,
    pub(crate) dir_text: String,
    entries: Vec<(String, bool)>,
    pub(crate) selected: BTreeSet<PathBuf>,
    pub(crate) name: String,
    pub(crate) view_once: bool,
    pub(crate) expires: Option<u64>,
    pub(crate) error: Option<PickerError>,
}

impl Picker {
    pub(crate) fn new(mode: PickerMode, name: String) -> Picker {
        let dir = directories::UserDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut picker = Picker {
            mode,
            dir_text: String::new(),
            dir: PathBuf::new(),
            entries: Vec::new(),
            selected: BTreeSet::new(),
            name,
            view_once: false,
            expires: None,
            error: None,
        };
        picker.go(dir);
        picker
    }

    /// Opens `dir`, listing folders first, then files, each by name.
    pub(crate) fn go(&mut self, dir: PathBuf) {
        match std::fs::read_dir(&dir) {
            Ok(read) => {
                let mut entries: Vec<(String, bool)> = read
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.file_type().ok()?.is_dir();
                        (!name.starts_with('.')).then_some((name, is_dir))
                    })
                    .collect();
                entries.sort_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
                });
                self.entries = entries;
                self.dir_text = dir.display().to_string();
                self.dir = dir;
                self.error = None;
            }
            Err(e) => {
                self.error = Some(PickerError::Folder {
                    path: dir,
                    kind: e.kind(),
                    detail: e.to_string(),
                })
            }
        }
    }
}

/// The picker window, when open.
pub(super) fn picker_window(app: &mut HearthApp, ctx: &egui::Context, out: &mut Vec<Action>) {
    let Some(mut picker) = app.picker.take() else {
        return;
    };
    let tr = &app.tr;
    let sending = matches!(picker.mode, PickerMode::Send);
    let title = if sending {
        tr.t("file-pick-title")
    } else {
        tr.t("file-save-title")
    };
    let mut open = true;
    let mut done = false;
    egui::Window::new(title)
        .id(egui::Id::new("file_picker"))
        .collapsible(false)
        .resizable(true)
        .default_size([520.0, 460.0])
        .open(&mut open)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if ui.button(format!("⬆ {}", tr.t("file-up"))).clicked()
                    && let Some(parent) = picker.dir.parent()
                {
                    let parent = parent.to_path_buf();
                    picker.go(parent);
                }
                if ui.button(format!("🏠 {}", tr.t("file-home"))).clicked()
                    && let Some(home) = directories::UserDirs::new()
                {
                    picker.go(home.home_dir().to_path_buf());
                }
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut picker.dir_text)
                        .desired_width(ui.available_width()),
                );
                edit.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::WidgetType::TextEdit, true, tr.t("file-path"))
                });
                if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    let dir = PathBuf::from(picker.dir_text.trim());
                    if dir.is_file() && sending {
                        picker.selected.insert(dir);
                    } else {
                        picker.go(dir);
                    }
                }
            });
            ui.separator();
            let mut go_to = None;
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for (name, is_dir) in &picker.entries {
                        let path = picker.dir.join(name);
                        if *is_dir {
                            if ui.selectable_label(false, format!("📁 {name}")).clicked() {
                                go_to = Some(path);
                            }
                        } else if sending {
                            let mut on = picker.selected.contains(&path);
                            if ui.checkbox(&mut on, format!("📄 {name}")).changed() {
                                if on {
                                    picker.selected.insert(path);
                                } else {
                                    picker.selected.remove(&path);
                                }
                            }
                        } else if ui
                            .selectable_label(picker.name == *name, format!("📄 {name}"))
                            .clicked()
                        {
                            picker.name = name.clone();
                        }
                    }
                });
            if let Some(dir) = go_to {
                picker.go(dir);
            }
            ui.separator();
            if let Some(error) = &picker.error {
                ui.label(RichText::new(error.message(tr)).color(palette(ui.ctx()).accent));
            }
            if sending {
                let outside: Vec<String> = picker
                    .selected
                    .iter()
                    .filter(|p| p.parent() != Some(picker.dir.as_path()))
                    .map(|p| p.display().to_string())
                    .collect();
                for path in outside {
                    ui.label(RichText::new(format!("📄 {path}")).small());
                }
                if ui.button(format!("📋 {}", tr.t("file-paste"))).clicked() {
                    out.push(Action::PastePicture);
                }
                ui.checkbox(&mut picker.view_once, tr.t("file-view-once"));
                ui.horizontal(|ui| {
                    for (secs, key) in EXPIRIES {
                        if ui
                            .selectable_label(
                                picker.expires == secs && !picker.view_once,
                                tr.t(key),
                            )
                            .clicked()
                        {
                            picker.expires = secs;
                            picker.view_once = false;
                        }
                    }
                });
                if picker.view_once || picker.expires.is_some() {
                    ui.label(
                        RichText::new(tr.t("file-screenshot-note"))
                            .small()
                            .color(palette(ui.ctx()).muted),
                    );
                }
                let count = picker.selected.len();
                let send = ui.add_enabled(
                    count > 0,
                    egui::Button::new(tr.t1("file-send", "count", count)),
                );
                if send.clicked() {
                    done = true;
                }
            } else {
                ui.horizontal(|ui| {
                    let edit =
                        ui.add(egui::TextEdit::singleline(&mut picker.name).desired_width(300.0));
                    edit.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::WidgetType::TextEdit,
                            true,
                            tr.t("file-name"),
                        )
                    });
                    if ui
                        .add_enabled(
                            !picker.name.trim().is_empty(),
                            egui::Button::new(tr.t("file-save")),
                        )
                        .clicked()
                    {
                        done = true;
                    }
                });
            }
        });
    if done {
        match &picker.mode {
            PickerMode::Send => {
                let options = SendOptions {
                    view_once: picker.view_once,
                    expires_after_open_secs: if picker.view_once {
                        None
                    } else {
                        picker.expires
                    },
                };
                let sources = picker
                    .selected
                    .iter()
                    .cloned()
                    .map(FileSource::Path)
                    .collect();
                out.push(Action::SendFiles { sources, options });
            }
            PickerMode::Save { id } => out.push(Action::SaveFile {
                id: *id,
                path: picker.dir.join(picker.name.trim()),
            }),
        }
        return;
    }
    if open {
        app.picker = Some(picker);
    }
}

/// A hint over the window while files are dragged over it.
pub(super) fn drop_hint(app: &HearthApp, ctx: &egui::Context) {
    if !matches!(app.screen, Screen::Chat) || ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let rect = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::new("drop_hint"),
    ));
    painter.rect_filled(rect, 0, egui::Color32::from_black_alpha(160));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        app.tr.t1("file-drop", "name", app.partner_name()),
        egui::FontId::proportional(22.0),
        egui::Color32::WHITE,
    );
}
