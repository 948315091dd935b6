//! `hearth install-desktop`: the entry and icon land where the desktop's menu looks
//! for them (and autostart's, when asked), pointing at this binary; `--remove`
//! takes them all away.

use std::process::Command;

fn run(home: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("install-desktop")
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("run hearth install-desktop");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn install_desktop_puts_hearth_in_the_menu_and_takes_it_away() {
    let home = tempfile::tempdir().unwrap();
    let entry = home.path().join(".local/share/applications/hearth.desktop");
    let icon = home
        .path()
        .join(".local/share/icons/hicolor/256x256/apps/hearth.png");
    let autostart = home.path().join(".config/autostart/hearth.desktop");

    let said = run(home.path(), &[]);
    assert!(said.contains("application menu"), "{said}");
    let text = std::fs::read_to_string(&entry).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_hearth")).unwrap();
    assert!(
        text.contains(&format!("Exec=\"{}\"", exe.display())),
        "{text}"
    );
    assert_eq!(&std::fs::read(&icon).unwrap()[1..4], b"PNG");
    assert!(!autostart.exists());

    run(home.path(), &["--autostart"]);
    assert!(
        std::fs::read_to_string(&autostart)
            .unwrap()
            .contains("X-GNOME-Autostart-enabled=true")
    );
    // Installed again without it, login start stays as it was; asked, it goes.
    run(home.path(), &[]);
    assert!(autostart.exists());
    run(home.path(), &["--no-autostart"]);
    assert!(!autostart.exists());

    run(home.path(), &["--autostart"]);
    run(home.path(), &["--remove"]);
    for path in [&entry, &icon, &autostart] {
        assert!(!path.exists(), "{} is still there", path.display());
    }
}
