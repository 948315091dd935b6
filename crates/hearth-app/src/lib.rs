//! Hearth's desktop window: onboarding, pairing and chat, in English and Albanian.
//!
//! The only crate that imports egui and eframe. [`HearthApp`] never blocks: it sends
//! work to the engine on a tokio runtime it owns, gets results back on a bounded
//! channel, and drains `NodeEvent`s into its view-model at the start of each frame.
//! The engine wakes it with `request_repaint` through `NodeConfig::on_event`, so no
//! backend crate knows egui.
//!
//! `views` draw one screen each and return `Action`s, which `HearthApp::apply` carries
//! out after the frame: the one place the window asks the engine for anything. The
//! user's stored choices are one typed `Prefs`; every string shown goes through
//! [`i18n`], numbers and units included.

mod app;
mod background;
pub mod desktop;
mod files;
pub mod i18n;
mod prefs;
mod theme;
mod tray;
mod views;

pub use app::{AppOptions, HearthApp};

/// Opens the window and runs until Hearth quits. When a window already runs on this
/// profile (a desktop app, started again from the menu), that one is shown instead.
pub fn run(options: AppOptions) -> eframe::Result {
    if options.desktop && background::hand_over(&options.profile_dir) {
        tracing::info!("Hearth already runs on this profile: its window is shown");
        return Ok(());
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Hearth")
        .with_app_id("hearth")
        .with_inner_size([420.0, 680.0])
        .with_min_inner_size([340.0, 460.0]);
    match eframe::icon_data::from_png_bytes(include_bytes!("../../../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!(error = %e, "the app icon did not load"),
    }
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "Hearth",
        native,
        Box::new(|cc| Ok(Box::new(HearthApp::new(&cc.egui_ctx, options)))),
    )
}
