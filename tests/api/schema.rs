//! The committed `schema.graphql` is the schema the server serves.

use std::path::Path;

#[test]
fn the_committed_schema_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = ecoplan::graphql::schema::schema_sdl();
    // Not assert_eq: a diff of two whole schemas says less than the instruction.
    assert!(
        committed == current,
        "schema.graphql is out of date with the code: run `cargo run -- schema > schema.graphql` and commit it"
    );
}
