use super::*;
use serde_json::json;

fn entity() -> crate::error::EntityRef {
    crate::error::EntityRef {
        entity_type: "databaseService".to_owned(),
        name: "t".to_owned(),
    }
}

fn found(category: &str, connection_type: &str, value: &Value) -> Vec<String> {
    let catalog = Catalog::builtin();
    let shapes = catalog.connection_shapes([category], connection_type);
    assert_eq!(shapes.len(), 1, "{category} {connection_type}");
    catalog
        .secret_fields(shapes[0], value, &entity())
        .unwrap()
        .iter()
        .map(SecretField::dotted)
        .collect()
}

#[test]
fn the_builtin_catalog_covers_every_category_and_release() {
    let catalog = Catalog::builtin();
    assert_eq!(catalog.releases(), ["1.13.6.3", "2.0.7.0"]);
    for category in [
        "api",
        "dashboard",
        "database",
        "drive",
        "llm",
        "mcp",
        "messaging",
        "metadata",
        "mlmodel",
        "pipeline",
        "search",
        "security",
        "storage",
    ] {
        assert!(catalog.connection_types(category).count() > 0, "{category}");
    }
    for kind in ["user", "bot", "ingestionPipeline", "workflow"] {
        assert!(catalog.entity_shape(kind).is_some(), "{kind}");
    }
}

#[test]
fn every_branch_is_walked() {
    // Basic auth, IAM and Azure AD branches of Mysql's authType, all found.
    let value = json!({"type": "Mysql", "authType": {"password": "p",
        "azureConfig": {"clientSecret": "s"}}, "sslConfig": {"sslKey": "k"}});
    assert_eq!(
        found("database", "Mysql", &value),
        [
            "authType.azureConfig.clientSecret",
            "authType.password",
            "sslConfig.sslKey"
        ]
    );
    assert_eq!(
        found(
            "database",
            "Databricks",
            &json!({"authType": {"token": "t"}})
        ),
        ["authType.token"]
    );
    // A null is found (the store path deletes its secret); absent fields are not.
    assert_eq!(
        found(
            "database",
            "Mysql",
            &json!({"authType": {"password": null}})
        ),
        ["authType.password"]
    );
    assert!(found("database", "Mysql", &json!({"username": "u"})).is_empty());
}

#[test]
fn arrays_are_walked() {
    let value = json!({"servers": [{"apiKey": "a"}, {"name": "x"}, {"apiKey": "b"}]});
    assert_eq!(
        found("mcp", "Mcp", &value),
        ["servers.0.apiKey", "servers.2.apiKey"]
    );
}

#[test]
fn workflow_slots_take_the_connection_type() {
    let catalog = Catalog::builtin();
    let shape = catalog.entity_shape("workflow").unwrap();
    let value = json!({"request": {"connection": {"config": {"type": "Tableau",
        "authType": {"personalAccessTokenSecret": "s"}}}},
        "openMetadataServerConnection": {"securityConfig": {"jwtToken": "t"}}});
    let got: Vec<String> = catalog
        .secret_fields(shape, &value, &entity())
        .unwrap()
        .iter()
        .map(SecretField::dotted)
        .collect();
    assert_eq!(
        got,
        [
            "openMetadataServerConnection.securityConfig.jwtToken",
            "request.connection.config.authType.personalAccessTokenSecret",
        ]
    );
    let unknown = json!({"request": {"connection": {"config": {"type": "Nope", "password": "p"}}}});
    let err = catalog
        .secret_fields(shape, &unknown, &entity())
        .unwrap_err();
    assert!(
        err.to_string().contains("request.connection.config"),
        "{err}"
    );
    assert!(err.to_string().contains("`Nope`"), "{err}");
}

#[test]
fn unclassified_fields_are_found_and_declared_ones_are_not() {
    let catalog = Catalog::builtin();
    let shape = catalog.connection_shapes(["database"], "Mysql")[0];
    let value = json!({"type": "Mysql", "authType": {"password": "p",
        "awsConfig": {"awsAccessKeyId": "id"}},
        "connectionOptions": {"myPassword": "x", "ref": "y", "apiToken": "secret:n"},
        "extraSecret": {"inner": "z"}});
    let got: Vec<String> = catalog
        .unclassified(shape, &value)
        .iter()
        .map(|p| dotted(p))
        .collect();
    assert_eq!(got, ["connectionOptions.myPassword", "extraSecret"]);
}

#[test]
fn custom_entries_merge() {
    let mut catalog = Catalog::builtin();
    let custom = Catalog::parse(
        r#"{"services": {"databaseService": {"category": "database", "connections": {
            "AcmeDB": {"secrets": ["token", "auth.password"]},
            "Mysql": {"plain": ["connectionOptions.myPassword"]}}}}}"#,
        "custom.json",
    )
    .unwrap();
    catalog.merge(&custom);
    assert_eq!(
        found_in(
            &catalog,
            "AcmeDB",
            &json!({"token": "t", "auth": {"password": "p"}})
        ),
        ["auth.password", "token"]
    );
    let shape = catalog.connection_shapes(["database"], "Mysql")[0];
    assert!(
        catalog
            .unclassified(shape, &json!({"connectionOptions": {"myPassword": "x"}}))
            .is_empty()
    );
    assert!(Catalog::parse("{\"servicez\": {}}", "bad.json").is_err());
}

fn found_in(catalog: &Catalog, connection_type: &str, value: &Value) -> Vec<String> {
    let shapes = catalog.connection_shapes(["database"], connection_type);
    catalog
        .secret_fields(shapes[0], value, &entity())
        .unwrap()
        .iter()
        .map(SecretField::dotted)
        .collect()
}

#[test]
fn the_docs_table_is_the_catalogs() {
    let doc = include_str!("../../../../docs/compatibility.md");
    let table = Catalog::builtin().coverage_table();
    assert!(
        replace_coverage_table(doc, &table).as_deref() == Some(doc),
        "docs/compatibility.md's coverage table is missing or stale: run `cargo xtask om-catalog`"
    );
}
