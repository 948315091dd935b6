//! Hearth's own look: warm paper and terracotta by day, embers by night.

use egui::{Color32, CornerRadius, Stroke, Theme, Visuals};

/// Colours the views use beyond egui's visuals.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Palette {
    /// The accent: buttons, links, my name.
    pub(crate) accent: Color32,
    /// My bubbles.
    pub(crate) mine: Color32,
    /// The partner's bubbles.
    pub(crate) theirs: Color32,
    /// Quiet text: times, delivery state, separators.
    pub(crate) muted: Color32,
    /// Body text.
    pub(crate) text: Color32,
    /// Online dot.
    pub(crate) online: Color32,
}

const LIGHT: Palette = Palette {
    accent: Color32::from_rgb(0xC0, 0x4F, 0x36),
    mine: Color32::from_rgb(0xF6, 0xD2, 0xBC),
    theirs: Color32::from_rgb(0xFF, 0xFC, 0xF8),
    muted: Color32::from_rgb(0x8C, 0x76, 0x68),
    text: Color32::from_rgb(0x3A, 0x2A, 0x22),
    online: Color32::from_rgb(0x5B, 0x9A, 0x5A),
};

const DARK: Palette = Palette {
    accent: Color32::from_rgb(0xE8, 0x8A, 0x6C),
    mine: Color32::from_rgb(0x6E, 0x3B, 0x2B),
    theirs: Color32::from_rgb(0x36, 0x2D, 0x28),
    muted: Color32::from_rgb(0xA8, 0x97, 0x8B),
    text: Color32::from_rgb(0xF4, 0xEA, 0xE0),
    online: Color32::from_rgb(0x8B, 0xC4, 0x86),
};

/// The palette for the theme egui is showing now.
pub(crate) fn palette(ctx: &egui::Context) -> Palette {
    match ctx.theme() {
        Theme::Light => LIGHT,
        Theme::Dark => DARK,
    }
}

fn visuals(theme: Theme) -> Visuals {
    let (mut v, p, paper, panel, field) = match theme {
        Theme::Light => (
            Visuals::light(),
            LIGHT,
            Color32::from_rgb(0xFB, 0xF4, 0xEC),
            Color32::from_rgb(0xF3, 0xE6, 0xD8),
            Color32::from_rgb(0xFF, 0xFD, 0xFA),
        ),
        Theme::Dark => (
            Visuals::dark(),
            DARK,
            Color32::from_rgb(0x1E, 0x19, 0x16),
            Color32::from_rgb(0x29, 0x21, 0x1C),
            Color32::from_rgb(0x14, 0x11, 0x0F),
        ),
    };
    v.panel_fill = paper;
    v.window_fill = panel;
    v.faint_bg_color = panel;
    v.extreme_bg_color = field;
    v.override_text_color = Some(p.text);
    v.hyperlink_color = p.accent;
    v.selection.bg_fill = p.accent.gamma_multiply(0.35);
    v.selection.stroke = Stroke::new(1.0, p.accent);
    let radius = CornerRadius::same(10);
    for w in [
        &mut v.widgets.inactive,
        &mut v.widgets.hovered,
        &mut v.widgets.active,
        &mut v.widgets.open,
    ] {
        w.corner_radius = radius;
    }
    v.widgets.inactive.weak_bg_fill = panel;
    v.widgets.inactive.bg_fill = panel;
    v.widgets.hovered.weak_bg_fill = p.accent.gamma_multiply(0.25);
    v.widgets.active.weak_bg_fill = p.accent.gamma_multiply(0.45);
    v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, panel);
    v.window_corner_radius = CornerRadius::same(14);
    v
}

/// Installs the light and dark visuals and a slightly larger, calmer type scale.
pub(crate) fn install(ctx: &egui::Context) {
    ctx.set_visuals_of(Theme::Light, visuals(Theme::Light));
    ctx.set_visuals_of(Theme::Dark, visuals(Theme::Dark));
    ctx.all_styles_mut(|style| {
        use egui::{FontId, TextStyle};
        style
            .text_styles
            .insert(TextStyle::Body, FontId::proportional(15.5));
        style
            .text_styles
            .insert(TextStyle::Button, FontId::proportional(15.0));
        style
            .text_styles
            .insert(TextStyle::Heading, FontId::proportional(24.0));
        style
            .text_styles
            .insert(TextStyle::Small, FontId::proportional(11.5));
        style.spacing.item_spacing = egui::vec2(8.0, 7.0);
        style.spacing.button_padding = egui::vec2(12.0, 6.0);
    });
}
