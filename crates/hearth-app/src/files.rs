//! Files in the window: the picker (sending several files, saving a copy), drag and
//! drop, pasting a picture, attachments drawn in the timeline, the viewer, and
//! Memories.
//!
//! The picker is drawn by the app itself rather than asked of the desktop: a portal
//! or GTK dialog is not there on every desktop (nor under Xvfb), and this one speaks
//! the user's language.

use std::collections::BTreeSet;
use std::path::PathBuf;

use egui::{Align, Layout, RichText, Ui};
use hearth_node::{
    AttachmentView, Author, FileSource, FileState, MessageView, SendOptions, human_size,
};

use crate::app::{HearthApp, Screen, UiResult};
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
    Save { id: String },
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
    pub(crate) error: Option<String>,
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
            Err(e) => self.error = Some(format!("{}: {e}", dir.display())),
        }
    }
}

/// An attachment open in the viewer, and the list it can step through.
pub(crate) struct Viewer {
    /// Message ids to step through with next and previous (Memories), or just one.
    pub(crate) ids: Vec<String>,
    pub(crate) at: usize,
    pub(crate) content: ViewerContent,
}

pub(crate) enum ViewerContent {
    Loading,
    Image(egui::TextureHandle),
    NoPreview,
    Failed(String),
}

impl HearthApp {
    /// Sends files, each as its own message.
    pub(crate) fn send_files(&mut self, sources: Vec<FileSource>, options: SendOptions) {
        for source in sources {
            self.with_node(move |node| async move {
                UiResult::Sent(node.send_file(source, options).await)
            });
        }
        self.scroll_to_bottom = true;
    }

    /// Opens the viewer on `ids[at]`.
    pub(crate) fn open_viewer(&mut self, ids: Vec<String>, at: usize) {
        let Some(id) = ids.get(at).cloned() else {
            return;
        };
        let attachment = self.find_message(&id).and_then(|m| m.attachment.as_ref());
        let previewable = attachment.is_some_and(AttachmentView::is_image);
        let ephemeral = attachment.is_some_and(AttachmentView::is_ephemeral);
        self.viewer = Some(Viewer {
            ids,
            at,
            content: if previewable || ephemeral {
                ViewerContent::Loading
            } else {
                ViewerContent::NoPreview
            },
        });
        if previewable || ephemeral {
            self.with_node(move |node| async move {
                let result = node.open_file(id.clone()).await;
                UiResult::Opened { id, result }
            });
        }
    }

    pub(crate) fn find_message(&self, id: &str) -> Option<&MessageView> {
        self.messages
            .iter()
            .chain(self.memories.iter())
            .find(|m| m.id == id)
    }

    /// A file's bytes came back for the viewer: decode the picture.
    pub(crate) fn show_opened(
        &mut self,
        id: String,
        result: Result<Vec<u8>, hearth_node::NodeError>,
    ) {
        let Some(viewer) = &mut self.viewer else {
            return;
        };
        if viewer.ids.get(viewer.at) != Some(&id) {
            return;
        }
        viewer.content = match result {
            Ok(bytes) => match image::load_from_memory(&bytes) {
                Ok(image) => {
                    let rgba = image.to_rgba8();
                    let size = [rgba.width() as usize, rgba.height() as usize];
                    let color = egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw());
                    ViewerContent::Image(self.ctx.load_texture(
                        format!("view-{id}"),
                        color,
                        egui::TextureOptions::LINEAR,
                    ))
                }
                Err(_) => ViewerContent::NoPreview,
            },
            Err(e) => ViewerContent::Failed(e.to_string()),
        };
    }

    /// The thumbnail of a message as a texture, decoded once.
    pub(crate) fn thumbnail(&self, id: &str, jpeg: &[u8]) -> Option<egui::TextureHandle> {
        if let Some(cached) = self.thumbs.borrow().get(id) {
            return cached.clone();
        }
        let texture = image::load_from_memory(jpeg).ok().map(|image| {
            let rgba = image.to_rgba8();
            let size = [rgba.width() as usize, rgba.height() as usize];
            self.ctx.load_texture(
                format!("thumb-{id}"),
                egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()),
                egui::TextureOptions::LINEAR,
            )
        });
        self.thumbs
            .borrow_mut()
            .insert(id.to_string(), texture.clone());
        texture
    }

    /// Files dropped on the window go to the picker, where the user can make them
    /// view-once before sending; a picture on the clipboard is pasted the same way.
    pub(crate) fn take_dropped_and_pasted(&mut self, ctx: &egui::Context) {
        if !matches!(self.screen, Screen::Chat) {
            return;
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .filter_map(|f| f.path.clone())
                .collect()
        });
        if !dropped.is_empty() {
            let mut picker = Picker::new(PickerMode::Send, String::new());
            if let Some(dir) = dropped[0].parent() {
                picker.go(dir.to_path_buf());
            }
            picker.selected = dropped.into_iter().collect();
            self.picker = Some(picker);
        }
        // Ctrl+V with a picture on the clipboard, where the integration reports the
        // key. egui-winit 0.35 does not: it turns Ctrl+V into a `Paste` event when
        // the clipboard holds text and into nothing otherwise (seen under Xvfb), so
        // the picker has a "Paste a picture" button for the window.
        let paste = ctx.input(|i| {
            i.events.iter().any(|e| {
                matches!(e, egui::Event::Key { key: egui::Key::V, pressed: true, modifiers, .. } if modifiers.command)
            }) && !i.events.iter().any(|e| matches!(e, egui::Event::Paste(text) if !text.is_empty()))
        });
        if paste && let Some(png) = clipboard_png() {
            self.pasted = Some(png);
        }
    }
}

/// A picture on the clipboard, as PNG bytes.
fn clipboard_png() -> Option<Vec<u8>> {
    let mut clipboard = arboard::Clipboard::new()
        .inspect_err(|e| tracing::debug!(error = %e, "no clipboard"))
        .ok()?;
    let image = clipboard
        .get_image()
        .inspect_err(|e| tracing::debug!(error = %e, "no picture on the clipboard"))
        .ok()?;
    let rgba = image::RgbaImage::from_raw(
        u32::try_from(image.width).ok()?,
        u32::try_from(image.height).ok()?,
        image.bytes.into_owned(),
    )?;
    let mut png = Vec::new();
    rgba.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(png)
}

/// "12 s", "3 min", "1 h" — time left in a transfer.
fn short_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h", secs / 3600),
    }
}

/// What the user did to an attachment in the timeline.
pub(crate) enum FileAction {
    Open,
    SaveAs,
    Pause(bool),
}

/// Draws an attachment inside its bubble.
pub(crate) fn attachment(
    app: &HearthApp,
    ui: &mut Ui,
    message: &MessageView,
    a: &AttachmentView,
) -> Option<FileAction> {
    let p = palette(ui.ctx());
    let mine = message.author == Author::Me;
    let mut action = None;
    match a.file {
        FileState::Gone => {
            let key = if a.view_once {
                "file-gone-viewed"
            } else {
                "file-gone-expired"
            };
            ui.label(
                RichText::new(format!("🔥 {}", app.tr.t(key)))
                    .italics()
                    .color(p.muted),
            );
            return None;
        }
        FileState::Missing => {
            ui.label(
                RichText::new(format!("📄 {} · {}", a.name, app.tr.t("file-missing")))
                    .color(p.muted),
            );
            return None;
        }
        _ => {}
    }
    let ready = a.file == FileState::Ready;
    if a.is_ephemeral() {
        // The sender cannot open it either: say what was sent, not "open".
        let key = match (a.view_once, mine) {
            (true, false) => "file-veiled",
            (false, false) => "file-veiled-expiring",
            (true, true) => "file-veiled-sent",
            (false, true) => "file-veiled-expiring-sent",
        };
        let veil = egui::Button::new(RichText::new(format!("🔒 {}", app.tr.t(key))).size(15.0))
            .min_size(egui::vec2(220.0, 120.0));
        let response = ui.add_enabled(ready && !mine, veil);
        if response.clicked() {
            action = Some(FileAction::Open);
        }
        ui.label(
            RichText::new(app.tr.t("file-screenshot-note"))
                .small()
                .color(p.muted),
        );
    } else if let Some((w, h, jpeg)) = &a.thumbnail
        && let Some(texture) = app.thumbnail(&message.id, jpeg)
    {
        let scale = (260.0 / f32::from(*w).max(1.0)).min(1.0);
        let size = egui::vec2(f32::from(*w) * scale, f32::from(*h) * scale);
        let image = egui::Image::new((texture.id(), size))
            .corner_radius(8)
            .sense(egui::Sense::click());
        let response = ui.add(image);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::WidgetType::Button,
                ready,
                format!("{} {}", app.tr.t("file-open"), a.name),
            )
        });
        if response.clicked() && ready {
            action = Some(FileAction::Open);
        }
    } else {
        let icon = match a.mime.split('/').next() {
            Some("image") => "🖼",
            Some("video") => "🎬",
            Some("audio") => "🎵",
            _ => "📄",
        };
        ui.label(
            RichText::new(format!("{icon} {}", a.name))
                .strong()
                .color(p.text),
        );
    }
    ui.label(
        RichText::new(format!("{} · {}", a.name, human_size(a.size)))
            .small()
            .color(p.muted),
    );

    if let FileState::Arriving { done, paused } = a.file {
        let (done, speed) = match app.transfers.get(&message.id) {
            Some((d, _, _)) => (*d.max(&done), app.transfer_speed(&message.id)),
            None => (done, None),
        };
        let fraction = done as f32 / a.size.max(1) as f32;
        ui.add(egui::ProgressBar::new(fraction).desired_width(220.0));
        let mut line = format!("{} / {}", human_size(done), human_size(a.size));
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            let left = ((a.size - done) as f64 / speed) as u64;
            line = format!(
                "{line} · {}/s · {}",
                human_size(speed as u64),
                app.tr.t1("file-left", "time", short_duration(left))
            );
        }
        ui.horizontal(|ui| {
            ui.label(RichText::new(line).small().color(p.muted));
            let (label, pause) = if paused {
                (app.tr.t("file-resume"), false)
            } else {
                (app.tr.t("file-pause"), true)
            };
            if ui.small_button(label).clicked() {
                action = Some(FileAction::Pause(pause));
            }
        });
    } else if mine
        && let Some((done, total, _)) = app.transfers.get(&message.id)
        && done < total
    {
        let fraction = *done as f32 / (*total).max(1) as f32;
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(220.0)
                .text(app.tr.t1("file-sending", "name", app.partner_name())),
        );
    }
    if ready && !a.is_ephemeral() {
        ui.horizontal(|ui| {
            if ui.small_button(app.tr.t("file-open")).clicked() {
                action = Some(FileAction::Open);
            }
            if ui.small_button(app.tr.t("file-save-as")).clicked() {
                action = Some(FileAction::SaveAs);
            }
        });
    }
    action
}

impl HearthApp {
    /// Bytes per second of a transfer, from its last two progress reports.
    pub(crate) fn transfer_speed(&self, id: &str) -> Option<f64> {
        let (done, at) = self.transfer_rates.get(id)?;
        let (now_done, _, now_at) = self.transfers.get(id)?;
        let secs = now_at.duration_since(*at).as_secs_f64();
        (secs > 0.05).then(|| now_done.saturating_sub(*done) as f64 / secs)
    }

    /// Does what the user asked of an attachment in the timeline.
    pub(crate) fn file_action(&mut self, id: String, action: FileAction) {
        match action {
            FileAction::Open => self.open_viewer(vec![id], 0),
            FileAction::SaveAs => {
                let name = self
                    .find_message(&id)
                    .and_then(|m| m.attachment.as_ref())
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                self.picker = Some(Picker::new(PickerMode::Save { id }, name));
            }
            FileAction::Pause(paused) => self.with_node(move |node| async move {
                match node.pause_download(id, paused).await {
                    Ok(()) => UiResult::Done,
                    Err(e) => UiResult::Failed(e),
                }
            }),
        }
    }
}

/// Remembers where a transfer was, to tell its speed.
pub(crate) fn note_progress(app: &mut HearthApp, id: &str) {
    if let Some((done, _, at)) = app.transfers.get(id) {
        let keep = app
            .transfer_rates
            .get(id)
            .is_some_and(|(_, since)| at.duration_since(*since).as_secs_f32() < 2.0);
        if !keep {
            app.transfer_rates.insert(id.to_string(), (*done, *at));
        }
    }
}

/// The picker window, when open.
pub(crate) fn picker_window(app: &mut HearthApp, ctx: &egui::Context) {
    let Some(mut picker) = app.picker.take() else {
        return;
    };
    let sending = matches!(picker.mode, PickerMode::Send);
    let title = if sending {
        app.tr.t("file-pick-title")
    } else {
        app.tr.t("file-save-title")
    };
    let mut open = true;
    let mut done = false;
    let mut paste = false;
    egui::Window::new(title)
        .id(egui::Id::new("file_picker"))
        .collapsible(false)
        .resizable(true)
        .default_size([520.0, 460.0])
        .open(&mut open)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if ui.button(format!("⬆ {}", app.tr.t("file-up"))).clicked()
                    && let Some(parent) = picker.dir.parent()
                {
                    let parent = parent.to_path_buf();
                    picker.go(parent);
                }
                if ui.button(format!("🏠 {}", app.tr.t("file-home"))).clicked()
                    && let Some(home) = directories::UserDirs::new()
                {
                    picker.go(home.home_dir().to_path_buf());
                }
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut picker.dir_text)
                        .desired_width(ui.available_width()),
                );
                edit.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::WidgetType::TextEdit,
                        true,
                        app.tr.t("file-path"),
                    )
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
                ui.label(RichText::new(error).color(palette(ui.ctx()).accent));
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
                paste = ui
                    .button(format!("📋 {}", app.tr.t("file-paste")))
                    .clicked();
                ui.checkbox(&mut picker.view_once, app.tr.t("file-view-once"));
                ui.horizontal(|ui| {
                    for (secs, key) in EXPIRIES {
                        if ui
                            .selectable_label(
                                picker.expires == secs && !picker.view_once,
                                app.tr.t(key),
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
                        RichText::new(app.tr.t("file-screenshot-note"))
                            .small()
                            .color(palette(ui.ctx()).muted),
                    );
                }
                let count = picker.selected.len();
                let send = ui.add_enabled(
                    count > 0,
                    egui::Button::new(app.tr.t1("file-send", "count", count)),
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
                            app.tr.t("file-name"),
                        )
                    });
                    if ui
                        .add_enabled(
                            !picker.name.trim().is_empty(),
                            egui::Button::new(app.tr.t("file-save")),
                        )
                        .clicked()
                    {
                        done = true;
                    }
                });
            }
        });
    if paste {
        match clipboard_png() {
            Some(png) => {
                app.pasted = Some(png);
                return;
            }
            None => picker.error = Some(app.tr.t("file-paste-none")),
        }
    }
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
                app.send_files(sources, options);
            }
            PickerMode::Save { id } => {
                let path = picker.dir.join(picker.name.trim());
                let id = id.clone();
                app.with_node(move |node| async move {
                    UiResult::Saved(node.save_file(id, path.clone()).await.map(|()| path))
                });
            }
        }
        return;
    }
    if open {
        app.picker = Some(picker);
    }
}

/// The pasted-picture bar: send it (perhaps view-once) or drop it.
pub(crate) fn pasted_bar(app: &mut HearthApp, ui: &mut Ui) {
    let Some(png) = &app.pasted else {
        return;
    };
    let size = human_size(png.len() as u64);
    let mut send = None;
    let mut cancel = false;
    // Wrapped: the bar must not widen a narrow window.
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("🖼 {} · {size}", app.tr.t("file-pasted")));
        if ui.small_button(app.tr.t("chat-send")).clicked() {
            send = Some(false);
        }
        if ui.small_button(app.tr.t("file-view-once")).clicked() {
            send = Some(true);
        }
        if ui.small_button(app.tr.t("chat-cancel")).clicked() {
            cancel = true;
        }
    });
    if let Some(view_once) = send
        && let Some(bytes) = app.pasted.take()
    {
        let name = format!(
            "pasted-{}.png",
            jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S")
        );
        app.send_files(
            vec![FileSource::Bytes { name, bytes }],
            SendOptions {
                view_once,
                expires_after_open_secs: None,
            },
        );
    }
    if cancel {
        app.pasted = None;
    }
}

/// The viewer window, when open.
pub(crate) fn viewer_window(app: &mut HearthApp, ctx: &egui::Context) {
    let Some(viewer) = &app.viewer else {
        return;
    };
    let id = viewer.ids.get(viewer.at).cloned().unwrap_or_default();
    let (count, at) = (viewer.ids.len(), viewer.at);
    let attachment = app.find_message(&id).and_then(|m| m.attachment.clone());
    let title = attachment
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let mut open = true;
    let mut step: Option<usize> = None;
    let mut save = false;
    let screen = ctx.content_rect();
    egui::Window::new(title.clone())
        .id(egui::Id::new("viewer"))
        .collapsible(false)
        .resizable(true)
        .default_size(screen.size() * 0.8)
        .open(&mut open)
        .show(ctx, |ui| {
            let p = palette(ui.ctx());
            if attachment
                .as_ref()
                .is_some_and(AttachmentView::is_ephemeral)
            {
                ui.label(
                    RichText::new(app.tr.t("file-screenshot-note"))
                        .small()
                        .color(p.muted),
                );
            }
            let room = ui.available_size() - egui::vec2(0.0, 40.0);
            match &app.viewer.as_ref().map(|v| &v.content) {
                Some(ViewerContent::Loading) => {
                    ui.spinner();
                }
                Some(ViewerContent::Image(texture)) => {
                    let size = texture.size_vec2();
                    let scale = (room.x / size.x).min(room.y / size.y).min(1.0);
                    let label = format!("{title} ({}×{})", size.x, size.y);
                    ui.vertical_centered(|ui| {
                        let shown = ui.add(egui::Image::new((texture.id(), size * scale)));
                        shown.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::WidgetType::Label, true, &label)
                        });
                    });
                }
                Some(ViewerContent::NoPreview) => {
                    ui.label(app.tr.t("file-no-preview"));
                }
                Some(ViewerContent::Failed(why)) => {
                    ui.label(RichText::new(why).color(p.accent));
                }
                None => {}
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                if count > 1 {
                    if ui
                        .add_enabled(
                            at > 0,
                            egui::Button::new(format!("◀ {}", app.tr.t("file-previous"))),
                        )
                        .clicked()
                    {
                        step = Some(at - 1);
                    }
                    if ui
                        .add_enabled(
                            at + 1 < count,
                            egui::Button::new(format!("{} ▶", app.tr.t("file-next"))),
                        )
                        .clicked()
                    {
                        step = Some(at + 1);
                    }
                }
                if attachment
                    .as_ref()
                    .is_some_and(|a| !a.is_ephemeral() && a.file == FileState::Ready)
                    && ui.button(app.tr.t("file-save-as")).clicked()
                {
                    save = true;
                }
            });
            if ui.input(|i| i.key_pressed(egui::Key::ArrowRight)) && at + 1 < count {
                step = Some(at + 1);
            }
            if ui.input(|i| i.key_pressed(egui::Key::ArrowLeft)) && at > 0 {
                step = Some(at - 1);
            }
        });
    if !open || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        app.viewer = None;
        return;
    }
    if let Some(next) = step {
        let ids = app.viewer.take().map(|v| v.ids).unwrap_or_default();
        app.open_viewer(ids, next);
    }
    if save {
        app.file_action(id, FileAction::SaveAs);
    }
}

/// Memories: everything the two have shared, newest first.
pub(crate) fn memories(app: &mut HearthApp, ui: &mut Ui) {
    let p = palette(ui.ctx());
    let mut back = false;
    let mut open = None;
    egui::Panel::top("memories_header").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui
                .button(format!("← {}", app.tr.t("memories-back")))
                .clicked()
            {
                back = true;
            }
            ui.label(
                RichText::new(app.tr.t("memories-title"))
                    .size(19.0)
                    .strong(),
            );
        });
        ui.add_space(4.0);
    });
    egui::CentralPanel::default().show(ui, |ui| {
        if app.memories.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label(RichText::new(app.tr.t("memories-empty")).color(p.muted));
            });
            return;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    // Newest first.
                    let list: Vec<MessageView> = app.memories.iter().rev().cloned().collect();
                    for (i, message) in list.iter().enumerate() {
                        let Some(a) = &message.attachment else {
                            continue;
                        };
                        let tile = egui::vec2(150.0, 150.0);
                        let response = match &a.thumbnail {
                            Some((w, h, jpeg)) => match app.thumbnail(&message.id, jpeg) {
                                Some(texture) => {
                                    let scale = (tile.x / f32::from(*w).max(1.0))
                                        .min(tile.y / f32::from(*h).max(1.0));
                                    let size = egui::vec2(f32::from(*w), f32::from(*h)) * scale;
                                    ui.add(
                                        egui::Image::new((texture.id(), size))
                                            .corner_radius(6)
                                            .sense(egui::Sense::click()),
                                    )
                                }
                                None => {
                                    ui.add_sized(tile, egui::Button::new(format!("🖼\n{}", a.name)))
                                }
                            },
                            None => {
                                let icon = if a.mime.starts_with("video/") {
                                    "🎬"
                                } else if a.mime.starts_with("audio/") {
                                    "🎵"
                                } else {
                                    "📄"
                                };
                                ui.add_sized(tile, egui::Button::new(format!("{icon}\n{}", a.name)))
                            }
                        };
                        response.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::WidgetType::Button, true, &a.name)
                        });
                        if response.clicked() {
                            open = Some((list.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), i));
                        }
                    }
                });
            });
    });
    if back {
        app.screen = Screen::Chat;
    }
    if let Some((ids, at)) = open {
        app.open_viewer(ids, at);
    }
}

/// Opens Memories and loads it.
pub(crate) fn open_memories(app: &mut HearthApp) {
    app.screen = Screen::Memories;
    app.with_node(|node| async move { UiResult::Memories(node.memories(500, None).await) });
}

/// A hint over the window while files are dragged over it.
pub(crate) fn drop_hint(app: &HearthApp, ctx: &egui::Context) {
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
