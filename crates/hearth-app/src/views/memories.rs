//! Memories: everything the two have shared, newest first, as tiles that open the
//! viewer.

use egui::{RichText, Ui};
use hearth_node::MessageView;

use super::Action;
use crate::app::HearthApp;
use crate::files::Thumb;
use crate::theme::palette;

pub(super) fn memories(app: &mut HearthApp, ui: &mut Ui, out: &mut Vec<Action>) {
    let p = palette(ui.ctx());
    let tr = &app.tr;
    egui::Panel::top("memories_header").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button(format!("← {}", tr.t("memories-back"))).clicked() {
                out.push(Action::BackToChat);
            }
            ui.label(RichText::new(tr.t("memories-title")).size(19.0).strong());
        });
        ui.add_space(4.0);
    });
    egui::CentralPanel::default().show(ui, |ui| {
        if app.memories.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label(RichText::new(tr.t("memories-empty")).color(p.muted));
            });
            return;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    // Newest first.
                    let list: Vec<&MessageView> = app.memories.iter().rev().collect();
                    for (i, message) in list.iter().enumerate() {
                        let Some(a) = &message.attachment else {
                            continue;
                        };
                        let tile = egui::vec2(150.0, 150.0);
                        let thumb = a.thumbnail.as_ref().map(|t| app.thumbnail(message.id, t));
                        let response = match thumb {
                            // Sized by the decoded picture, never by what it declared.
                            Some(Thumb::Ready(texture)) => {
                                let size = texture.size_vec2();
                                let scale =
                                    (tile.x / size.x.max(1.0)).min(tile.y / size.y.max(1.0));
                                ui.add(
                                    egui::Image::new((texture.id(), size * scale))
                                        .corner_radius(6)
                                        .sense(egui::Sense::click()),
                                )
                            }
                            Some(Thumb::Pending | Thumb::Bad) => {
                                ui.add_sized(tile, egui::Button::new(format!("🖼\n{}", a.name)))
                            }
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
                            out.push(Action::OpenViewer {
                                ids: list.iter().map(|m| m.id).collect(),
                                at: i,
                            });
                        }
                    }
                });
            });
    });
}
