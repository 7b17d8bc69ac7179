//! The Snowflake results store against the Snowflake-protocol test server (TLS on loopback):
//! the shared `ResultsStore` contract suite, unchanged, then Snowflake-specific behaviour.

#[path = "snowflake/support.rs"]
mod support;

use driftdeck::store::ResultsStore;
use driftdeck::store::contract;
use driftdeck::store::snowflake::SnowflakeStore;

#[test]
fn snowflake_store_meets_the_contract() {
    if support::test_db("probe").is_none() {
        return;
    }
    let mut dbs = Vec::new();
    contract::run_all(&mut || {
        let db = support::test_db("contract").expect("server");
        let store = SnowflakeStore::open(&db.settings, &db.base()).expect("open snowflake store");
        dbs.push(db);
        Box::new(store) as Box<dyn ResultsStore>
    });
    assert_eq!(dbs.len(), contract::CHECKS.len());
}
