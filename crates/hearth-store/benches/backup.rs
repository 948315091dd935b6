//! Backup and restore of a profile with 100,000 messages (both partners' logs,
//! half each) and no files, through the backup format.
//!
//! Run with `cargo bench -p hearth-store --bench backup`. Reports the time to write
//! the backup (from a `BackupSource`, as the engine's thread does) and to restore
//! it into a new profile (every op checked and applied, then flushed).

use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use hearth_core::{DeviceId, Lamport, Op, OpBody, OpId};
use hearth_store::{BackupReader, BackupWriter, KdfParams, Store};

const ME: DeviceId = DeviceId([7; 32]);
const PARTNER: DeviceId = DeviceId([9; 32]);
const MESSAGES: u64 = 100_000;

fn main() {
    divan::main();
}

fn text(i: u64) -> OpBody {
    OpBody::Text {
        text: format!("message number {i}, a sentence of ordinary length for a chat"),
        reply_to: None,
    }
}

/// Argon2id at its real cost: a third of a second is part of every backup.
fn kdf() -> KdfParams {
    KdfParams::default()
}

/// A profile with 100k messages, half written here, half by the partner.
static PROFILE: LazyLock<(tempfile::TempDir, Store)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::create(dir.path(), None).expect("store");
    for start in (0..MESSAGES / 2).step_by(1000) {
        let bodies = (start..start + 1000).map(text).collect();
        store.append_local_batch(ME, 0, bodies).expect("append");
        let theirs: Vec<Op> = (start..start + 1000)
            .map(|i| Op {
                id: OpId {
                    author: PARTNER,
                    seq: i + 1,
                },
                lamport: Lamport(2 * i + 2),
                wall_ms: 0,
                body: text(i),
            })
            .collect();
        store.apply_remote(&theirs).expect("apply");
    }
    store.flush().expect("flush");
    (dir, store)
});

fn backup_bytes() -> Vec<u8> {
    let (_, store) = &*PROFILE;
    let source = store.backup_source(&[]).expect("source");
    let mut writer = BackupWriter::new(Vec::new(), "a long passphrase", kdf(), 0).expect("writer");
    source.write(&mut writer, &[], |_| {}).expect("write");
    writer.finish().expect("finish")
}

static BACKUP: LazyLock<Vec<u8>> = LazyLock::new(backup_bytes);

#[divan::bench(sample_count = 5, sample_size = 1)]
fn back_up_100k_messages(bencher: Bencher) {
    LazyLock::force(&PROFILE);
    bencher
        .counter(ItemsCount::new(MESSAGES))
        .bench_local(backup_bytes);
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn restore_100k_messages(bencher: Bencher) {
    let bytes = &*BACKUP;
    bencher
        .counter(ItemsCount::new(MESSAGES))
        .with_inputs(|| tempfile::tempdir().expect("temp dir"))
        .bench_local_values(|dir| {
            let mut store = Store::create(dir.path(), None).expect("store");
            let mut reader =
                BackupReader::open(bytes.as_slice(), "a long passphrase").expect("open");
            let summary = store.restore_from(&mut reader, |_| {}).expect("restore");
            assert_eq!(summary.ops, MESSAGES);
            drop(store);
            dir
        });
}
