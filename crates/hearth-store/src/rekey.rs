//! Replacing the data key, after a passphrase change asked for it.
//!
//! The store is re-keyed when it is opened, before anything else can use it (no
//! download or sealing thread holds the old key then). Each generation of the data
//! key has its own tree (`hearth`, then `hearth.1`, `hearth.2`…), and a crash at any
//! moment leaves one of two states that both open:
//!
//! 1. Every value of the current tree is opened under the old key and sealed under
//!    the new one into the next tree, with attachment records renamed to the names
//!    the new key derives; each attachment file gets a hard link under its new name.
//!    Nothing old is touched. A crash here: the key record still names the old
//!    generation, with the new key pending, and the next open starts over.
//! 2. The key record is replaced atomically by the new key and generation, with
//!    nothing pending. This is the commit: from here on the old key exists nowhere.
//! 3. The old tree is dropped and the files' old names unlinked. A crash here: the
//!    next open finds a tree of another generation and finishes this step (the old
//!    names are in the old tree's record keys, readable without any key).
//!
//! What sled wrote under the old key may stay in its log segments until sled
//! reuses them; without the old key it opens nothing.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use zeroize::Zeroizing;

use crate::blobs::{self, META_PREFIX, RECORD_PREFIXES};
use crate::cipher::Cipher;
use crate::error::{OpenError, StoreError};
use crate::keys::{self, DataKeys, Envelope};

/// How replacing the key went wrong: before the commit the profile is as it was;
/// at the commit, whether the new key record reached the disk is not known, so
/// nothing may be assumed until the next open reads it back.
pub(crate) enum ReplaceFailed {
    BeforeCommit(StoreError),
    AtCommit(OpenError),
}

/// Steps 1 and 2 for the pending key in `keys`: returns the new tree and keys once
/// committed.
pub(crate) fn replace_key(
    profile: &Path,
    db: &sled::Db,
    tree: &sled::Tree,
    keys: &DataKeys,
    envelope: &Envelope,
    passphrase: Option<&str>,
) -> Result<(sled::Tree, DataKeys), ReplaceFailed> {
    let Some(next) = &keys.next else {
        return Err(ReplaceFailed::BeforeCommit(StoreError::Corrupt(
            "no key to replace it with",
        )));
    };
    let generation = keys.generation + 1;
    let new_tree = copy_under(profile, db, tree, &keys.key, next, generation)
        .map_err(ReplaceFailed::BeforeCommit)?;
    let new_keys = DataKeys {
        key: next.clone(),
        generation,
        next: None,
    };
    // Kept as it is kept now: a key-file profile gets no passphrase from here,
    // whatever the caller passed.
    let passphrase = envelope.params().and(passphrase);
    keys::protect(
        profile,
        &new_keys,
        passphrase,
        envelope.params().unwrap_or_default(),
    )
    .map_err(ReplaceFailed::AtCommit)?;
    Ok((new_tree, new_keys))
}

/// The tree that generation `generation` of the data key opens.
pub(crate) fn tree_name(generation: u32) -> String {
    match generation {
        0 => "hearth".to_string(),
        n => format!("hearth.{n}"),
    }
}

fn generation_of(name: &[u8]) -> Option<u32> {
    match name {
        b"hearth" => Some(0),
        _ => std::str::from_utf8(name.strip_prefix(b"hearth.")?)
            .ok()?
            .parse()
            .ok(),
    }
}

/// Step 1: seals everything of `old` (under `old_key`) into the tree of
/// `generation` under `new_key`, and links each attachment file under its new
/// name. Returns the new tree, durable.
pub(crate) fn copy_under(
    profile: &Path,
    db: &sled::Db,
    old: &sled::Tree,
    old_key: &Zeroizing<[u8; 32]>,
    new_key: &Zeroizing<[u8; 32]>,
    generation: u32,
) -> Result<sled::Tree, StoreError> {
    let (old_cipher, new_cipher) = (Cipher::new(old_key), Cipher::new(new_key));
    let new_names = blobs::names_key(new_key);
    // Whatever an earlier attempt left: its links, then its records.
    let dir = blobs::files_dir(profile);
    let new = db.open_tree(tree_name(generation))?;
    unlink_files_of(&new, &dir, old)?;
    new.clear()?;

    // Each attachment's old name to its new one, from its meta record.
    let mut renames: HashMap<[u8; 16], [u8; 16]> = HashMap::new();
    for entry in old.scan_prefix([META_PREFIX]) {
        let (key, value) = entry?;
        let (Ok(name), Some(plain)) = (
            <[u8; 16]>::try_from(&key[1..]),
            old_cipher.open(&key, &value),
        ) else {
            continue;
        };
        if let Some(id) = blobs::meta_id(&plain) {
            renames.insert(name, blobs::file_name(&new_names, id));
        }
    }

    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for entry in old.iter() {
        let (key, value) = entry?;
        let renamed = match (key.first(), <[u8; 16]>::try_from(&key[1.min(key.len())..])) {
            (Some(p), Ok(name)) if RECORD_PREFIXES.contains(p) => {
                renames.get(&name).map(|new_name| {
                    let mut k = vec![*p];
                    k.extend_from_slice(new_name);
                    k
                })
            }
            _ => None,
        };
        let new_key = renamed.unwrap_or_else(|| key.to_vec());
        // Values sealed under the data key are bound to their key; the few that
        // are not sealed (the schema version, markers) are copied as they are.
        let new_value = match old_cipher.open(&key, &value) {
            Some(plain) => new_cipher.seal(&new_key, &plain),
            None => value.to_vec(),
        };
        batch.insert(new_key, new_value);
        in_batch += 1;
        if in_batch == 1024 {
            new.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    new.apply_batch(batch)?;

    for (old_name, new_name) in &renames {
        let (from, to) = (
            blobs::file_path(&dir, old_name),
            blobs::file_path(&dir, new_name),
        );
        if !from.exists() {
            continue;
        }
        match fs::remove_file(&to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Files(format!("cannot re-link a file: {e}"))),
        }
        // A file system without hard links (FAT, say) gets a copy.
        if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)
                .map_err(|e| StoreError::Files(format!("cannot re-link a file: {e}")))?;
        }
    }
    db.flush()?;
    if dir.exists() {
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::Files(format!("cannot sync the files directory: {e}")))?;
    }
    Ok(new)
}

/// Step 3, and whatever a crash left of it: drops every tree of another generation
/// than `current` (whose tree is `current_tree`), unlinking the files its records
/// name first.
pub(crate) fn drop_other_generations(
    profile: &Path,
    db: &sled::Db,
    current_tree: &sled::Tree,
    current: u32,
) -> Result<(), StoreError> {
    let dir = blobs::files_dir(profile);
    for name in db.tree_names() {
        let Some(generation) = generation_of(&name) else {
            continue;
        };
        if generation == current {
            continue;
        }
        let tree = db.open_tree(&name)?;
        // An older generation's names are links the current names also hold; a
        // newer tree is an attempt that never committed, whose names are links
        // too. Either way the current names keep every file.
        unlink_files_of(&tree, &dir, current_tree)?;
        drop(tree);
        db.drop_tree(&name)?;
    }
    db.flush()?;
    Ok(())
}

/// Removes the files that `tree`'s attachment records name, but for any that
/// `keep` still names (a record that did not open was copied under its old name).
/// Names are in the records' keys, so this needs no key.
fn unlink_files_of(tree: &sled::Tree, dir: &Path, keep: &sled::Tree) -> Result<(), StoreError> {
    for entry in tree.scan_prefix([META_PREFIX]) {
        let (key, _) = entry?;
        let Ok(name) = <[u8; 16]>::try_from(&key[1..]) else {
            continue;
        };
        if keep.contains_key(&key)? {
            continue;
        }
        let path = blobs::file_path(dir, &name);
        // The only name of its file (a copy made where there are no hard links):
        // its key goes with it. Never for a link another name shares: the header
        // is the same bytes for both.
        if blobs::is_only_name(&path) {
            blobs::wipe_before_unlink(&path);
        }
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Files(format!("cannot remove a file: {e}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hearth_core::{DeviceId, OpBody, OpId, limits};

    use super::*;
    use crate::store::open_db;
    use crate::{OpenError, Store};

    const ME: DeviceId = DeviceId([7; 32]);

    fn blob_files(profile: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = fs::read_dir(blobs::files_dir(profile))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "blob"))
            .collect();
        files.sort();
        files
    }

    /// Whether any value anywhere in the database opens under `key`.
    fn anything_opens(db: &sled::Db, key: &Zeroizing<[u8; 32]>) -> bool {
        let cipher = Cipher::new(key);
        db.tree_names().into_iter().any(|name| {
            db.open_tree(name)
                .unwrap()
                .iter()
                .map(Result::unwrap)
                .any(|(k, v)| cipher.open(&k, &v).is_some())
        })
    }

    /// A passphrase change replaces the data key at the next open, even when the
    /// first attempt was cut short: the history and the photo are whole, under new
    /// names, and nothing on disk opens under the old key any more.
    #[test]
    fn a_passphrase_change_replaces_the_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let photo: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let id = OpId { author: ME, seq: 1 };
        let old_key = {
            let mut store = Store::create(dir.path(), Some("e vjetra")).unwrap();
            store
                .append_local(
                    ME,
                    1,
                    OpBody::Text {
                        text: "Sekreti ynë".into(),
                        reply_to: None,
                    },
                )
                .unwrap();
            let blobs = store.blobs();
            let staged = blobs
                .stage(&photo[..], *limits::CHUNK_BYTES_RANGE.start())
                .unwrap();
            blobs.commit(staged, id).unwrap();
            store.flush().unwrap();
            store.change_passphrase(Some("e reja")).unwrap();
            store.data_key.clone()
        };
        let old_files = blob_files(dir.path());
        assert_eq!(old_files.len(), 1);

        // A first attempt dies half way (here: with a key that is not the one
        // pending, which only makes its leftovers easier to tell apart).
        {
            let (db, tree) = open_db(dir.path(), 0).unwrap();
            let stray = crate::keys::new_data_key();
            copy_under(dir.path(), &db, &tree, &old_key, &stray, 1).unwrap();
        }
        assert_eq!(blob_files(dir.path()).len(), 2, "a link under a stray name");

        let store = Store::open(dir.path(), Some("e reja")).unwrap();
        assert_eq!(store.generation, 1);
        assert_ne!(*store.data_key, *old_key);
        assert_eq!(
            store.page_before(None, 5).unwrap()[0].text(),
            Some("Sekreti ynë")
        );
        let reader = store.blobs().reader(id).unwrap();
        let mut read = Vec::new();
        for index in 0..reader.chunk_count() {
            read.extend(reader.chunk(index).unwrap());
        }
        assert_eq!(read, photo, "the photo opens whole");
        let files = blob_files(dir.path());
        assert_eq!(files.len(), 1, "one file, under one name: {files:?}");
        assert_ne!(files, old_files, "a name the old key does not derive");
        assert!(!anything_opens(&store.db, &old_key));
        drop((reader, store));

        assert!(matches!(
            Store::open(dir.path(), Some("e vjetra")),
            Err(OpenError::WrongPassphrase)
        ));
        // Opened again, it stays as it is.
        let store = Store::open(dir.path(), Some("e reja")).unwrap();
        assert_eq!(store.generation, 1);
        assert_eq!(blob_files(dir.path()), files);
    }

    /// A profile without a passphrase stays without one through its re-key, even
    /// when whoever opens it passes one.
    #[test]
    fn a_key_file_profile_is_re_keyed_as_a_key_file_profile() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::create(dir.path(), None).unwrap();
            store.change_passphrase(None).unwrap();
        }
        let store = Store::open(dir.path(), Some("from the environment")).unwrap();
        assert_eq!(store.generation, 1);
        assert_eq!(store.key_protection(), crate::KeyProtection::KeyFile);
        drop(store);
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(store.generation, 1);
    }

    /// A crash after the new key was committed and before the old tree went: the
    /// next open drops the old tree and the file names it held.
    #[test]
    fn an_old_generation_left_behind_is_cleared_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let files = {
            let store = Store::create(dir.path(), None).unwrap();
            let blobs = store.blobs();
            let staged = blobs
                .stage(&[5u8; 40_000][..], *limits::CHUNK_BYTES_RANGE.start())
                .unwrap();
            blobs.commit(staged, OpId { author: ME, seq: 1 }).unwrap();
            drop(blobs);
            drop(store);
            blob_files(dir.path())
        };
        {
            // What generation 0 would hold if the profile were at generation 1.
            let (db, _) = open_db(dir.path(), 0).unwrap();
            let current = db.open_tree("hearth").unwrap();
            let leftover = db.open_tree("hearth.7").unwrap();
            let name = [0xab; 16];
            let mut key = vec![META_PREFIX];
            key.extend_from_slice(&name);
            leftover
                .insert(key, &b"sealed under a key long gone"[..])
                .unwrap();
            fs::write(
                blobs::file_path(&blobs::files_dir(dir.path()), &name),
                b"old",
            )
            .unwrap();
            assert!(!current.is_empty(), "the current generation is there");
            db.flush().unwrap();
        }
        let store = Store::open(dir.path(), None).unwrap();
        assert!(
            !store
                .db
                .tree_names()
                .iter()
                .any(|n| n.as_ref() == b"hearth.7")
        );
        assert_eq!(
            blob_files(dir.path()),
            files,
            "the current file stays, the old one went"
        );
    }
}
