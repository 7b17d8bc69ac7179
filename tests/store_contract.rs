//! The `ResultsStore` contract suite (`driftdeck::store::contract`) against every store this
//! binary has: the SQLite store on a real file and the in-memory test store. A new backend's
//! integration test calls `contract::run_all` the same way.

use driftdeck::console::fixture::MemoryStore;
use driftdeck::store::ResultsStore;
use driftdeck::store::contract;
use driftdeck::store::sqlite::SqliteStore;

#[test]
fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    contract::run_all(&mut || {
        n += 1;
        let path = dir.path().join(format!("results-{n}.db"));
        Box::new(SqliteStore::open(&path).expect("open sqlite")) as Box<dyn ResultsStore>
    });
    assert_eq!(n, contract::CHECKS.len());
}

#[test]
fn memory_store_meets_the_contract() {
    let mut n = 0;
    contract::run_all(&mut || {
        n += 1;
        Box::new(MemoryStore::new()) as Box<dyn ResultsStore>
    });
    assert_eq!(n, contract::CHECKS.len());
}
