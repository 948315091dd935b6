//! The viewer: one attachment at a time over the window, stepping through Memories
//! with the arrow keys.

use egui::{Align, Layout, RichText};
use hearth_node::{AttachmentView, FileState, MessageId, NodeError};

use super::Action;
use crate::app::HearthApp;
use crate::files::FileAction;
use crate::theme::palette;

/// An attachment open in the viewer, and the list it can step through.
pub(crate) struct Viewer {
    /// Message ids to step through with next and previous (Memories), or just one.
    pub(crate) ids: Vec<MessageId>,
    pub(crate) at: usize,
    pub(crate) content: ViewerContent,
}

pub(crate) enum ViewerContent {
    Loading,
    /// The picture, scaled down to what the renderer takes if it was bigger, and
    /// the size it really is.
    Image {
        texture: egui::TextureHandle,
        original: [u32; 2],
    },
    NoPreview,
    Failed(NodeError),
}

/// The viewer window, when open.
pub(super) fn viewer_window(app: &mut HearthApp, ctx: &egui::Context, out: &mut Vec<Action>) {
    let Some(viewer) = &app.viewer else {
        return;
    };
    let tr = &app.tr;
    let Some(id) = viewer.ids.get(viewer.at).copied() else {
        return;
    };
    let (count, at) = (viewer.ids.len(), viewer.at);
    let attachment = app.find_message(&id).and_then(|m| m.attachment.clone());
    let title = attachment
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let mut open = true;
    let mut step: Option<usize> = None;
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
                    RichText::new(tr.t("file-screenshot-note"))
                        .small()
                        .color(p.muted),
                );
            }
            let room = ui.available_size() - egui::vec2(0.0, 40.0);
            match &viewer.content {
                ViewerContent::Loading => {
                    ui.spinner();
                }
                ViewerContent::Image { texture, original } => {
                    let size = texture.size_vec2();
                    let scale = (room.x / size.x).min(room.y / size.y).min(1.0);
                    let label = format!("{title} ({}×{})", original[0], original[1]);
                    ui.vertical_centered(|ui| {
                        let shown = ui.add(egui::Image::new((texture.id(), size * scale)));
                        shown.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::WidgetType::Label, true, &label)
                        });
                    });
                }
                ViewerContent::NoPreview => {
                    ui.label(tr.t("file-no-preview"));
                }
                ViewerContent::Failed(error) => {
                    ui.label(RichText::new(tr.failure("error-open-file", error)).color(p.accent));
                }
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                if count > 1 {
                    if ui
                        .add_enabled(
                            at > 0,
                            egui::Button::new(format!("◀ {}", tr.t("file-previous"))),
                        )
                        .clicked()
                    {
                        step = Some(at - 1);
                    }
                    if ui
                        .add_enabled(
                            at + 1 < count,
                            egui::Button::new(format!("{} ▶", tr.t("file-next"))),
                        )
                        .clicked()
                    {
                        step = Some(at + 1);
                    }
                }
                if attachment
                    .as_ref()
                    .is_some_and(|a| !a.is_ephemeral() && a.file == FileState::Ready)
                    && ui.button(tr.t("file-save-as")).clicked()
                {
                    out.push(Action::File {
                        id,
                        action: FileAction::SaveAs,
                    });
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
        out.push(Action::CloseViewer);
        return;
    }
    if let Some(next) = step {
        out.push(Action::OpenViewer {
            ids: viewer.ids.clone(),
            at: next,
        });
    }
}
