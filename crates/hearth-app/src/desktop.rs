//! Hearth on the desktop: its entry in the application menu (a freedesktop.org
//! desktop entry and its icon, for this user), and starting at login (an XDG
//! autostart entry). `hearth install-desktop` and Settings use these.
//!
//! Files, for the user running it (`$XDG_DATA_HOME` defaults to `~/.local/share`,
//! `$XDG_CONFIG_HOME` to `~/.config`):
//!
//! ```text
//! $XDG_DATA_HOME/applications/hearth.desktop
//! $XDG_DATA_HOME/icons/hicolor/256x256/apps/hearth.png
//! $XDG_CONFIG_HOME/autostart/hearth.desktop        (with --autostart)
//! ```

use std::path::{Path, PathBuf};

const ICON: &[u8] = include_bytes!("../../../assets/icon.png");

/// Why an entry could not be written or removed.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// No home folder to put the entries in.
    #[error("neither $HOME nor $XDG_DATA_HOME is set")]
    NoHome,
    /// This program's path has a character no desktop entry can hold.
    #[error("this program's path ({}) cannot go in a desktop entry", .0.display())]
    BadPath(PathBuf),
    /// A file could not be written, read or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DesktopError + '_ {
    move |source| DesktopError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the user's files of a kind go: `$VAR`, or `~/<fallback>`.
fn xdg_dir(var: &str, fallback: &str) -> Result<PathBuf, DesktopError> {
    if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(DesktopError::NoHome)?;
    Ok(Path::new(&home).join(fallback))
}

/// The files this module writes.
pub struct Paths {
    /// The menu entry.
    pub entry: PathBuf,
    /// The icon.
    pub icon: PathBuf,
    /// The login entry.
    pub autostart: PathBuf,
}

/// Where the entries go for the user running this.
pub fn paths() -> Result<Paths, DesktopError> {
    let data = xdg_dir("XDG_DATA_HOME", ".local/share")?;
    let config = xdg_dir("XDG_CONFIG_HOME", ".config")?;
    Ok(Paths {
        entry: data.join("applications/hearth.desktop"),
        icon: data.join("icons/hicolor/256x256/apps/hearth.png"),
        autostart: config.join("autostart/hearth.desktop"),
    })
}

/// An `Exec` argument as the desktop entry spec wants it: quoted, with `"`, `` ` ``,
/// `$` and `\` escaped, a literal `%` doubled, and then, as in every string value of
/// an entry, each `\` escaped once more. `None` for a path with a control character
/// (a line break would start a new line of the entry).
fn exec_arg(arg: &str) -> Option<String> {
    if arg.chars().any(char::is_control) {
        return None;
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Some(quoted.replace('\\', "\\\\"))
}

/// The desktop entry for the binary at `exe`; `None` if its path cannot be one.
fn entry(exe: &Path, autostart: bool) -> Option<String> {
    let exec = exec_arg(&exe.to_string_lossy())?;
    let mut entry = format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Version=1.5\n\
         Name=Hearth\n\
         GenericName=Private messenger for two\n\
         GenericName[sq]=Mesazhe private për dy\n\
         Comment=A private, peer-to-peer space for the two of you\n\
         Comment[sq]=Një hapësirë private, nga pajisja te pajisja, për ju të dy\n\
         Exec={}\n\
         Icon=hearth\n\
         Terminal=false\n\
         Categories=Network;InstantMessaging;Chat;\n\
         Keywords=chat;messenger;couple;private;bisedë;\n\
         StartupWMClass=hearth\n",
        exec
    );
    if autostart {
        entry.push_str("X-GNOME-Autostart-enabled=true\n");
    }
    Some(entry)
}

/// Writes `bytes` to `path` through a temporary file, so a crash never leaves half
/// an entry.
fn write(path: &Path, bytes: &[u8]) -> Result<(), DesktopError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn remove(path: &Path) -> Result<(), DesktopError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

fn this_program() -> Result<PathBuf, DesktopError> {
    std::env::current_exe().map_err(io(Path::new("this program")))
}

/// The entry for this program.
fn this_entry(autostart: bool) -> Result<String, DesktopError> {
    let exe = this_program()?;
    entry(&exe, autostart).ok_or(DesktopError::BadPath(exe))
}

/// Puts Hearth in the application menu; returns the files written.
pub fn install() -> Result<Vec<PathBuf>, DesktopError> {
    let paths = paths()?;
    write(&paths.icon, ICON)?;
    write(&paths.entry, this_entry(false)?.as_bytes())?;
    Ok(vec![paths.icon, paths.entry])
}

/// Takes Hearth out of the menu and off login; returns the files that were there.
pub fn uninstall() -> Result<Vec<PathBuf>, DesktopError> {
    let paths = paths()?;
    let mut removed = Vec::new();
    for path in [paths.entry, paths.icon, paths.autostart] {
        if path.exists() {
            remove(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Whether Hearth starts when this user logs in.
pub fn starts_at_login() -> bool {
    paths().is_ok_and(|p| p.autostart.exists())
}

/// Starts Hearth at login, or not.
pub fn set_start_at_login(on: bool) -> Result<(), DesktopError> {
    let paths = paths()?;
    if on {
        write(&paths.autostart, this_entry(true)?.as_bytes())
    } else {
        remove(&paths.autostart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments_are_quoted_as_the_spec_asks() {
        assert_eq!(exec_arg("/usr/bin/hearth").unwrap(), "\"/usr/bin/hearth\"");
        // Quoted and escaped, then every backslash escaped again for the string.
        assert_eq!(exec_arg("/home/a b/$x%").unwrap(), "\"/home/a b/\\\\$x%%\"");
        assert_eq!(exec_arg("/tmp/x\nExec=evil"), None);
    }

    #[test]
    fn the_entry_names_the_binary_icon_and_menu_in_both_languages() {
        let entry = entry(Path::new("/opt/hearth/hearth"), false).unwrap();
        assert!(entry.starts_with("[Desktop Entry]\n"));
        for line in [
            "Type=Application",
            "Name=Hearth",
            "Exec=\"/opt/hearth/hearth\"",
            "Icon=hearth",
            "Terminal=false",
            "Categories=Network;InstantMessaging;Chat;",
            "StartupWMClass=hearth",
            "GenericName[sq]=Mesazhe private për dy",
        ] {
            assert!(entry.lines().any(|l| l == line), "missing {line}:\n{entry}");
        }
        assert!(!entry.contains("Autostart"));
        assert!(
            super::entry(Path::new("/x"), true)
                .unwrap()
                .contains("X-GNOME-Autostart-enabled=true")
        );
    }
}
