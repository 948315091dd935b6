//! An attachment inside its bubble: a thumbnail or an icon, the veil of a view-once
//! or expiring file, and a transfer's progress, speed and time left.

use egui::{RichText, Ui};
use hearth_node::{AttachmentView, Author, FileState, MessageView};

use crate::app::HearthApp;
use crate::files::{FileAction, Thumb};
use crate::theme::palette;

/// Draws an attachment inside its bubble; returns what the user did to it.
pub(super) fn attachment(
    app: &HearthApp,
    ui: &mut Ui,
    message: &MessageView,
    a: &AttachmentView,
) -> Option<FileAction> {
    let p = palette(ui.ctx());
    let tr = &app.tr;
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
                RichText::new(format!("🔥 {}", tr.t(key)))
                    .italics()
                    .color(p.muted),
            );
            return None;
        }
        FileState::Missing => {
            ui.label(
                RichText::new(format!("📄 {} · {}", a.name, tr.t("file-missing"))).color(p.muted),
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
        let veil = egui::Button::new(RichText::new(format!("🔒 {}", tr.t(key))).size(15.0))
            .min_size(egui::vec2(220.0, 120.0));
        let response = ui.add_enabled(ready && !mine, veil);
        if response.clicked() {
            action = Some(FileAction::Open);
        }
        ui.label(
            RichText::new(tr.t("file-screenshot-note"))
                .small()
                .color(p.muted),
        );
    } else if let Some(thumbnail) = &a.thumbnail
        && let Thumb::Ready(texture) = app.thumbnail(message.id, thumbnail)
    {
        // Sized by the decoded picture, never by what it declared.
        let real = texture.size_vec2();
        let size = real * (260.0 / real.x.max(1.0)).min(1.0);
        let image = egui::Image::new((texture.id(), size))
            .corner_radius(8)
            .sense(egui::Sense::click());
        let response = ui.add(image);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::WidgetType::Button,
                ready,
                tr.t1("file-open-named", "name", a.name.as_str()),
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
        RichText::new(format!("{} · {}", a.name, tr.size(a.size)))
            .small()
            .color(p.muted),
    );

    if a.file == FileState::Preparing {
        let key = if mine {
            "file-preparing-mine"
        } else {
            "file-preparing-theirs"
        };
        ui.add(egui::ProgressBar::new(0.0).desired_width(220.0));
        ui.label(RichText::new(tr.t(key)).small().color(p.muted));
    }
    if let FileState::Arriving { done, paused } = a.file {
        let (done, speed) = match app.transfers.get(&message.id) {
            Some((d, _, _)) => (*d.max(&done), app.transfer_speed(&message.id)),
            None => (done, None),
        };
        let fraction = done as f32 / a.size.max(1) as f32;
        ui.add(egui::ProgressBar::new(fraction).desired_width(220.0));
        let mut line = tr.t2(
            "file-progress",
            ("done", tr.size(done).into()),
            ("total", tr.size(a.size).into()),
        );
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            let left = (a.size.saturating_sub(done) as f64 / speed) as u64;
            line = format!(
                "{line} · {} · {}",
                tr.speed(speed),
                tr.t1("file-left", "time", tr.duration(left))
            );
        }
        ui.horizontal(|ui| {
            ui.label(RichText::new(line).small().color(p.muted));
            let (label, pause) = if paused {
                (tr.t("file-resume"), false)
            } else {
                (tr.t("file-pause"), true)
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
                .text(tr.t1("file-sending", "name", app.partner_name())),
        );
    }
    if ready && !a.is_ephemeral() {
        ui.horizontal(|ui| {
            if ui.small_button(tr.t("file-open")).clicked() {
                action = Some(FileAction::Open);
            }
            if ui.small_button(tr.t("file-save-as")).clicked() {
                action = Some(FileAction::SaveAs);
            }
        });
    }
    action
}
