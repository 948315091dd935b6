//! `hearth install-desktop`: puts Hearth in the desktop's application menu (a
//! freedesktop.org desktop entry and its icon, for this user), and optionally
//! starts it at login (an XDG autostart entry). `--remove` takes them away again.
//! Where the files go: `hearth_app::desktop`.

use clap::Args;
use hearth_app::desktop;

/// Options of `hearth install-desktop`.
#[derive(Args, Debug)]
pub(crate) struct DesktopArgs {
    /// Also start Hearth when this user logs in.
    #[arg(long)]
    autostart: bool,
    /// No longer start Hearth at login.
    #[arg(long, conflicts_with = "autostart")]
    no_autostart: bool,
    /// Remove the entries (and the icon) instead.
    #[arg(long)]
    remove: bool,
}

pub(crate) fn run(args: DesktopArgs) -> anyhow::Result<()> {
    if args.remove {
        for path in desktop::uninstall()? {
            println!("removed {}", path.display());
        }
        return Ok(());
    }
    for path in desktop::install()? {
        println!("wrote {}", path.display());
    }
    // Login start changes only when asked: Settings may have turned it on.
    if args.autostart || args.no_autostart {
        desktop::set_start_at_login(args.autostart)?;
    }
    if args.autostart {
        println!("Hearth starts when you log in.");
    }
    println!("Hearth is in the application menu; it may take a moment to appear.");
    Ok(())
}
