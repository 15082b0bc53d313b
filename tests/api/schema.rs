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

/// What a client generator reads of each custom scalar and enum: a description, the
/// scalars' specification, and a description of every enum value.
#[tokio::test]
async fn every_scalar_and_enum_value_is_described() {
    let schema = ecoplan::graphql::schema::build_schema();
    let response = schema
        .execute(
            "{ __schema { types { name kind description specifiedByURL
                enumValues { name description } } } }",
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let answer = response.data.into_json().unwrap();
    let mut missing = Vec::new();
    for kind in answer["__schema"]["types"].as_array().unwrap() {
        let name = kind["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        let described = kind["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty());
        match kind["kind"].as_str().unwrap() {
            "SCALAR" if !["String", "Int", "Float", "Boolean", "ID"].contains(&name) => {
                if !described {
                    missing.push(format!("scalar {name}: no description"));
                }
                // `Upload` (the multipart request) and `JSON` are async-graphql's own
                // scalars, described by the library, which gives no way to name a
                // specification for them.
                if kind["specifiedByURL"].as_str().is_none() && !["Upload", "JSON"].contains(&name)
                {
                    missing.push(format!("scalar {name}: no specifiedByURL"));
                }
            }
            "ENUM" => {
                if !described {
                    missing.push(format!("enum {name}: no description"));
                }
                for value in kind["enumValues"].as_array().unwrap() {
                    if value["description"].as_str().is_none_or(str::is_empty) {
                        missing.push(format!("{name}.{}: no description", value["name"]));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
