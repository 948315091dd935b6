//! Files, on the app's side: sending (picked, dropped or pasted), opening in the
//! viewer, thumbnails as textures, and how fast a transfer goes. Drawing them is in
//! `views` (the attachment in its bubble, the picker, the viewer, Memories).

use std::path::PathBuf;

use hearth_node::{AttachmentView, FileSource, MessageId, MessageView, SendOptions, Thumbnail};

use crate::app::{Attempt, HearthApp, Screen, UiResult};
use crate::views::picker::{Picker, PickerMode};
use crate::views::viewer::{Viewer, ViewerContent};

/// A thumbnail, as far as the window has it.
#[derive(Clone)]
pub(crate) enum Thumb {
    /// Being decoded.
    Pending,
    /// Decoded, and the size it declared.
    Ready(egui::TextureHandle),
    /// Not a picture, or not what it claimed to be: the file's icon is shown.
    Bad,
}

fn color_image(rgba: &image::RgbaImage) -> egui::ColorImage {
    let size = [rgba.width() as usize, rgba.height() as usize];
    egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw())
}

/// A picture for the viewer: decoded within limits, scaled down to the renderer's
/// largest texture, with its real size. `None` if it is not one Hearth can show.
/// The file's bytes are wiped once decoded.
fn viewable(mut bytes: Vec<u8>, max_side: u32) -> Option<(egui::ColorImage, [u32; 2])> {
    let decoded = hearth_node::pictures::decode(&bytes);
    bytes.fill(0);
    let image = decoded.ok()?;
    let original = [image.width(), image.height()];
    let fitted = hearth_node::pictures::fit(image, max_side).to_rgba8();
    Some((color_image(&fitted), original))
}

impl HearthApp {
    /// Sends files, each as its own message.
    pub(crate) fn send_files(&mut self, sources: Vec<FileSource>, options: SendOptions) {
        for source in sources {
            self.with_node(move |node| async move {
                let result = node.send_file(source, options).await;
                UiResult::or_failed(Attempt::Send, result, UiResult::Sent)
            });
        }
        self.scroll_to_bottom = true;
    }

    /// Sends the pasted picture, named for when it was pasted.
    pub(crate) fn send_pasted(&mut self, view_once: bool) {
        let Some(bytes) = self.pasted.take() else {
            return;
        };
        let name = format!(
            "pasted-{}.png",
            jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S")
        );
        self.send_files(
            vec![FileSource::Bytes { name, bytes }],
            SendOptions {
                view_once,
                expires_after_open_secs: None,
            },
        );
    }

    /// Opens the viewer on `ids[at]`.
    pub(crate) fn open_viewer(&mut self, ids: Vec<MessageId>, at: usize) {
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
            // The renderer's largest texture: a bigger picture is scaled down to it.
            let max_side = self.ctx.input(|i| i.max_texture_side);
            let max_side = u32::try_from(max_side).unwrap_or(u32::MAX);
            self.with_node(move |node| async move {
                let result = match node.open_file(id).await {
                    Ok(bytes) => Ok(
                        tokio::task::spawn_blocking(move || viewable(bytes, max_side))
                            .await
                            .ok()
                            .flatten(),
                    ),
                    Err(e) => Err(e),
                };
                UiResult::Opened { id, result }
            });
        }
    }

    pub(crate) fn find_message(&self, id: &MessageId) -> Option<&MessageView> {
        self.messages
            .iter()
            .chain(self.memories.iter())
            .find(|m| m.id == *id)
    }

    /// A file came back for the viewer, decoded: show the picture.
    pub(crate) fn show_opened(
        &mut self,
        id: MessageId,
        result: Result<Option<(egui::ColorImage, [u32; 2])>, hearth_node::NodeError>,
    ) {
        let Some(viewer) = &mut self.viewer else {
            return;
        };
        if viewer.ids.get(viewer.at) != Some(&id) {
            return;
        }
        viewer.content = match result {
            Ok(Some((image, original))) => ViewerContent::Image {
                texture: self.ctx.load_texture(
                    format!("view-{id}"),
                    image,
                    egui::TextureOptions::LINEAR,
                ),
                original,
            },
            Ok(None) => ViewerContent::NoPreview,
            Err(e) => ViewerContent::Failed(e),
        };
    }

    /// The thumbnail of a message: decoded once, off the UI thread; [`Thumb::Pending`]
    /// until then.
    pub(crate) fn thumbnail(&self, id: MessageId, thumbnail: &Thumbnail) -> Thumb {
        if let Some(cached) = self.thumbs.borrow().get(&id) {
            return cached.clone();
        }
        self.thumbs.borrow_mut().insert(id, Thumb::Pending);
        let thumbnail = thumbnail.clone();
        self.in_background(move || UiResult::Thumb {
            id,
            image: hearth_node::pictures::decode_thumbnail(&thumbnail)
                .ok()
                .map(|rgba| color_image(&rgba)),
        });
        Thumb::Pending
    }

    /// A thumbnail came back decoded (or not decodable).
    pub(crate) fn thumb_decoded(&mut self, id: MessageId, image: Option<egui::ColorImage>) {
        let thumb = match image {
            Some(image) => Thumb::Ready(self.ctx.load_texture(
                format!("thumb-{id}"),
                image,
                egui::TextureOptions::LINEAR,
            )),
            None => Thumb::Bad,
        };
        self.thumbs.borrow_mut().insert(id, thumb);
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
            picker.view_once = crate::views::boundaries::view_once_agreed(self);
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
pub(crate) fn clipboard_png() -> Option<Vec<u8>> {
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

/// What the user did to an attachment in the timeline.
pub(crate) enum FileAction {
    Open,
    SaveAs,
    Pause(bool),
}

impl HearthApp {
    /// Bytes per second of a transfer, from its last two progress reports.
    pub(crate) fn transfer_speed(&self, id: &MessageId) -> Option<f64> {
        let (done, at) = self.transfer_rates.get(id)?;
        let (now_done, _, now_at) = self.transfers.get(id)?;
        let secs = now_at.duration_since(*at).as_secs_f64();
        (secs > 0.05).then(|| now_done.saturating_sub(*done) as f64 / secs)
    }

    /// Does what the user asked of an attachment in the timeline.
    pub(crate) fn file_action(&mut self, id: MessageId, action: FileAction) {
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
                let result = node.pause_download(id, paused).await;
                UiResult::or_failed(Attempt::Pause, result, |()| UiResult::Done)
            }),
        }
    }
}

/// Remembers where a transfer was, to tell its speed.
pub(crate) fn note_progress(app: &mut HearthApp, id: &MessageId) {
    if let Some((done, _, at)) = app.transfers.get(id) {
        let keep = app
            .transfer_rates
            .get(id)
            .is_some_and(|(_, since)| at.duration_since(*since).as_secs_f32() < 2.0);
        if !keep {
            app.transfer_rates.insert(*id, (*done, *at));
        }
    }
}
