//! Store throughput: appending in flushed batches, and paging a long history.
//!
//! Run with `cargo bench -p hearth-store`. Targets: at least 50k ops/s appended in
//! batches of 100 with one flush per batch; a page of 50 from 100k ops in under 1 ms.

use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use hearth_core::{DeviceId, OpBody};
use hearth_store::Store;

const ME: DeviceId = DeviceId([7; 32]);
const HISTORY: u64 = 100_000;

fn main() {
    divan::main();
}

fn text(i: u64) -> OpBody {
    OpBody::Text {
        text: format!("message number {i}, a sentence of ordinary length for a chat"),
        reply_to: None,
    }
}

/// The engine's path when the user sends faster than the disk syncs, and when a
/// batch arrives from the partner: one atomic write of 100 ops, one flush.
#[divan::bench(sample_count = 50)]
fn append_batch_of_100_then_flush(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::create(dir.path(), None).expect("store");
    bencher.counter(ItemsCount::new(100usize)).bench_local(|| {
        let bodies = (0..100).map(text).collect();
        store.append_local_batch(ME, 0, bodies).expect("append");
        store.flush().expect("flush");
    });
}

/// One op at a time, as a user typing sends them, with one flush per 100.
#[divan::bench(sample_count = 50)]
fn append_100_singly_then_flush(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::create(dir.path(), None).expect("store");
    bencher.counter(ItemsCount::new(100usize)).bench_local(|| {
        for i in 0..100 {
            store.append_local(ME, 0, text(i)).expect("append");
        }
        store.flush().expect("flush");
    });
}

/// One 100k-message history, built once for the paging benchmarks.
static LONG_HISTORY: LazyLock<(tempfile::TempDir, Store)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::create(dir.path(), None).expect("store");
    for start in (0..HISTORY).step_by(1000) {
        let bodies = (start..start + 1000).map(text).collect();
        store.append_local_batch(ME, 0, bodies).expect("append");
    }
    store.flush().expect("flush");
    (dir, store)
});

#[divan::bench]
fn page_50_newest_of_100k(bencher: Bencher) {
    let store = &LONG_HISTORY.1;
    bencher.bench(|| store.page_before(None, 50).expect("page"));
}

#[divan::bench]
fn page_50_from_the_middle_of_100k(bencher: Bencher) {
    let store = &LONG_HISTORY.1;
    let middle = store
        .ops_after(ME, HISTORY / 2, 1)
        .expect("op")
        .first()
        .expect("middle op")
        .pos();
    bencher.bench(|| store.page_before(Some(middle), 50).expect("page"));
}
