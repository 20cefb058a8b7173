//! Secret-field discovery from JSON Schema, as OpenMetadata's `@PasswordField` traversal does.
//!
//! A field is secret when its schema says `"format": "password"`. The walk follows the value and
//! the schema together: into nested objects, through `$ref` (same-file pointers such as
//! `#/definitions/x` or `#/$defs/x`, and other registered files by relative path such as
//! `../../security/credentials/awsCredentials.json`), through `allOf`, and through the one
//! `oneOf` / `anyOf` branch that fits the value (required properties present, `const`/`enum`
//! discriminators equal, most declared properties). Like OpenMetadata it does not descend into
//! arrays or free-form maps (`additionalProperties`), and skips the classes OpenMetadata never
//! encrypts (`OpenMetadataJWTClientConfig`, `BasicAuthMechanism`, recognised by `javaType`).
//!
//! Schemas are identified by their path relative to a schema root, e.g.
//! `entity/services/connections/database/mysqlConnection.json`, the layout of OpenMetadata's
//! `openmetadata-spec` folder. A schema directly under
//! `entity/services/connections/<category>/` whose `type` property has a single value
//! (`"enum": ["Mysql"]`, a `const` or a `default`) describes the connections of that type.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// A secret field found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretField {
    /// JSON keys from the walked value to the field, e.g. `["authType", "password"]`.
    pub keys: Vec<String>,
}

impl SecretField {
    /// Secret-id segments: the keys lower-cased, as OpenMetadata lower-cases bean property
    /// names (`authType` → `authtype`, `JWTToken` → `jwttoken`).
    #[must_use]
    pub fn segments(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.to_lowercase()).collect()
    }

    /// The keys joined with `.`, for messages.
    #[must_use]
    pub fn dotted(&self) -> String {
        self.keys.join(".")
    }
}

/// `(id, text)` of a built-in schema file under `crates/core/schemas/`.
macro_rules! builtin {
    ($id:literal) => {
        ($id, include_str!(concat!("../schemas/", $id)))
    };
}

/// The built-in schemas, written for vaultref with OpenMetadata's property names.
const BUILTIN: &[(&str, &str)] = &[
    builtin!("entity/automations/testServiceConnection.json"),
    builtin!("entity/automations/workflow.json"),
    builtin!("entity/services/connections/dashboard/lookerConnection.json"),
    builtin!("entity/services/connections/dashboard/metabaseConnection.json"),
    builtin!("entity/services/connections/dashboard/powerBIConnection.json"),
    builtin!("entity/services/connections/dashboard/tableauConnection.json"),
    builtin!("entity/services/connections/database/athenaConnection.json"),
    builtin!("entity/services/connections/database/bigQueryConnection.json"),
    builtin!("entity/services/connections/database/clickhouseConnection.json"),
    builtin!("entity/services/connections/database/common/basicAuth.json"),
    builtin!("entity/services/connections/database/common/iamAuthConfig.json"),
    builtin!("entity/services/connections/database/databricksConnection.json"),
    builtin!("entity/services/connections/database/mariaDBConnection.json"),
    builtin!("entity/services/connections/database/mssqlConnection.json"),
    builtin!("entity/services/connections/database/mysqlConnection.json"),
    builtin!("entity/services/connections/database/oracleConnection.json"),
    builtin!("entity/services/connections/database/postgresConnection.json"),
    builtin!("entity/services/connections/database/redshiftConnection.json"),
    builtin!("entity/services/connections/database/snowflakeConnection.json"),
    builtin!("entity/services/connections/messaging/kafkaConnection.json"),
    builtin!("entity/services/connections/pipeline/airflowConnection.json"),
    builtin!("entity/services/connections/pipeline/backendConnection.json"),
    builtin!("entity/services/connections/serviceConnections.json"),
    builtin!("entity/services/connections/storage/s3Connection.json"),
    builtin!("entity/services/ingestionPipelines/ingestionPipeline.json"),
    builtin!("entity/teams/authN/basicAuth.json"),
    builtin!("entity/teams/authN/jwtAuth.json"),
    builtin!("entity/teams/user.json"),
    builtin!("metadataIngestion/dbtPipeline.json"),
    builtin!("metadataIngestion/dbtconfig/dbtAzureConfig.json"),
    builtin!("metadataIngestion/dbtconfig/dbtCloudConfig.json"),
    builtin!("metadataIngestion/dbtconfig/dbtGCSConfig.json"),
    builtin!("metadataIngestion/dbtconfig/dbtHttpConfig.json"),
    builtin!("metadataIngestion/dbtconfig/dbtLocalConfig.json"),
    builtin!("metadataIngestion/dbtconfig/dbtS3Config.json"),
    builtin!("metadataIngestion/workflow.json"),
    builtin!("security/credentials/accessTokenAuth.json"),
    builtin!("security/credentials/awsCredentials.json"),
    builtin!("security/credentials/azureCredentials.json"),
    builtin!("security/credentials/basicAuth.json"),
    builtin!("security/credentials/gcpCredentials.json"),
    builtin!("security/credentials/gcpValues.json"),
    builtin!("security/credentials/githubCredentials.json"),
];

/// Classes OpenMetadata's traversal never encrypts (`DO_NOT_ENCRYPT_CLASSES`).
const DO_NOT_ENCRYPT: &[&str] = &[".OpenMetadataJWTClientConfig", ".BasicAuthMechanism"];

/// Where connection schemas live, by service category.
const CONNECTIONS_DIR: &str = "entity/services/connections/";

/// How deep `$ref` chains and nesting may go before a schema is declared cyclic.
const MAX_DEPTH: usize = 64;

/// The registered JSON Schemas and which connection type each describes.
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistry {
    schemas: BTreeMap<String, Value>,
    /// (category, lower-cased connection type) → schema id.
    connections: BTreeMap<(String, String), String>,
}

impl SchemaRegistry {
    /// A registry holding no schema.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry holding vaultref's built-in schemas (see `docs/compatibility.md` for the list).
    ///
    /// # Panics
    /// Never: the built-in schemas are checked by the tests.
    #[must_use]
    pub fn builtin() -> Self {
        let mut registry = Self::empty();
        for (id, text) in BUILTIN {
            // Compile-time data, checked by the tests.
            let value = serde_json::from_str(text).expect("built-in schemas are valid JSON");
            registry
                .register(id, value)
                .expect("built-in schemas are objects");
        }
        registry
    }

    /// Adds (or replaces) the schema `id`, a path relative to the schema root such as
    /// `entity/services/connections/database/mysqlConnection.json`.
    ///
    /// # Errors
    /// [`Error::Schema`] when the schema is not a JSON object or the id is not a relative path.
    pub fn register(&mut self, id: &str, schema: Value) -> Result<()> {
        let id = normalize_id(id).ok_or_else(|| Error::Schema {
            schema: id.to_owned(),
            problem: "the id must be a relative path such as security/credentials/x.json"
                .to_owned(),
        })?;
        if !schema.is_object() {
            return Err(Error::Schema {
                schema: id,
                problem: "is not a JSON object".to_owned(),
            });
        }
        if let Some((category, connection_type)) = self.connection_key(&id, &schema) {
            self.connections
                .insert((category, connection_type.to_lowercase()), id.clone());
        }
        self.schemas.insert(id, schema);
        Ok(())
    }

    /// Registers every `*.json` file under `dir` (recursively), with its path relative to `dir`
    /// as id; files replace built-in schemas of the same id. Returns how many were registered.
    ///
    /// # Errors
    /// [`Error::SchemaRead`] when a file cannot be read, [`Error::Schema`] when one is not a
    /// JSON object.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize> {
        let mut files = Vec::new();
        collect_json_files(dir, &mut files)?;
        files.sort();
        for file in &files {
            let text = std::fs::read_to_string(file).map_err(|source| Error::SchemaRead {
                path: file.clone(),
                source,
            })?;
            let relative = file
                .strip_prefix(dir)
                .unwrap_or(file)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let value = serde_json::from_str(&text).map_err(|e| Error::Schema {
                schema: relative.clone(),
                problem: format!("is not valid JSON: {e}"),
            })?;
            self.register(&relative, value)?;
        }
        Ok(files.len())
    }

    /// The ids of the registered schemas, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// The schema describing connections of `connection_type` (e.g. `Mysql`, compared without
    /// case) in `category` (e.g. `database`).
    #[must_use]
    pub fn connection_schema(&self, category: &str, connection_type: &str) -> Option<&str> {
        self.connections
            .get(&(category.to_owned(), connection_type.to_lowercase()))
            .map(String::as_str)
    }

    /// Checks that every `$ref` of every registered schema resolves.
    ///
    /// # Errors
    /// [`Error::Schema`] naming the first schema with a dangling reference.
    pub fn check_references(&self) -> Result<()> {
        for (id, schema) in &self.schemas {
            let mut refs = Vec::new();
            collect_refs(schema, &mut refs);
            for reference in refs {
                self.resolve_ref(id, reference)?;
            }
        }
        Ok(())
    }

    /// The secret fields of `value` according to the schema at `location`: a schema id,
    /// optionally followed by a JSON pointer (`entity/teams/user.json#/definitions/x`).
    ///
    /// # Errors
    /// [`Error::Schema`] when a schema is missing, a reference dangles or refs loop.
    pub fn secret_fields(&self, location: &str, value: &Value) -> Result<Vec<SecretField>> {
        let (doc, node) = self.resolve_ref("", location)?;
        let mut out = Vec::new();
        let mut keys = Vec::new();
        self.walk(&doc, node, value, &mut keys, &mut out, 0)?;
        Ok(out)
    }

    fn walk(
        &self,
        doc: &str,
        node: &Value,
        value: &Value,
        keys: &mut Vec<String>,
        out: &mut Vec<SecretField>,
        depth: usize,
    ) -> Result<()> {
        let (doc, node) = self.deref(doc, node, depth)?;
        if is_do_not_encrypt(node) {
            return Ok(());
        }
        let Some(fields) = value.as_object() else {
            return Ok(());
        };
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.walk(&doc, part, value, keys, out, depth + 1)?;
            }
        }
        if let Some(branch) = self.choose_branch(&doc, node, value, depth)? {
            self.walk(&doc, branch, value, keys, out, depth + 1)?;
        }
        let Some(properties) = node.get("properties").and_then(Value::as_object) else {
            return Ok(());
        };
        for (key, property) in properties {
            let Some(field_value) = fields.get(key) else {
                continue;
            };
            let (prop_doc, prop) = self.deref(&doc, property, depth + 1)?;
            keys.push(key.clone());
            if prop.get("format").and_then(Value::as_str) == Some("password") {
                out.push(SecretField { keys: keys.clone() });
            } else if field_value.is_object() {
                self.walk(&prop_doc, prop, field_value, keys, out, depth + 1)?;
            }
            keys.pop();
        }
        Ok(())
    }

    /// The `oneOf` / `anyOf` branch of `node` that fits `value` best, if any fits.
    fn choose_branch<'a>(
        &'a self,
        doc: &str,
        node: &'a Value,
        value: &Value,
        depth: usize,
    ) -> Result<Option<&'a Value>> {
        let Some(branches) = node
            .get("oneOf")
            .or_else(|| node.get("anyOf"))
            .and_then(Value::as_array)
        else {
            return Ok(None);
        };
        let mut best: Option<(u64, &Value)> = None;
        for branch in branches {
            if let Some(score) = self.fit(doc, branch, value, depth + 1)?
                && best.is_none_or(|(s, _)| score > s)
            {
                best = Some((score, branch));
            }
        }
        Ok(best.map(|(_, branch)| branch))
    }

    /// How well `value` fits `node`: `None` when it cannot be an instance (a required property
    /// is missing, a discriminator differs, the JSON type differs, or a nested `oneOf` has no
    /// fitting branch); otherwise a score that grows with discriminator matches (weight 1000)
    /// and declared properties present (weight 1), nested fits included.
    fn fit(&self, doc: &str, node: &Value, value: &Value, depth: usize) -> Result<Option<u64>> {
        let (doc, node) = self.deref(doc, node, depth)?;
        let declared_type = node.get("type").and_then(Value::as_str);
        let Some(fields) = value.as_object() else {
            let fits = match declared_type {
                Some("object") => false,
                Some("string") => value.is_string(),
                Some("array") => value.is_array(),
                Some("boolean") => value.is_boolean(),
                Some("integer" | "number") => value.is_number(),
                _ => node.get("properties").is_none(),
            };
            return Ok(fits.then_some(0));
        };
        if declared_type.is_some_and(|t| t != "object") {
            return Ok(None);
        }
        let mut score = 0;
        if let Some(required) = node.get("required").and_then(Value::as_array)
            && required
                .iter()
                .filter_map(Value::as_str)
                .any(|key| !fields.contains_key(key))
        {
            return Ok(None);
        }
        if node.get("oneOf").or_else(|| node.get("anyOf")).is_some() {
            let mut best = None;
            let branches = node
                .get("oneOf")
                .or_else(|| node.get("anyOf"))
                .and_then(Value::as_array);
            for branch in branches.into_iter().flatten() {
                if let Some(s) = self.fit(&doc, branch, value, depth + 1)? {
                    best = Some(best.map_or(s, |b: u64| b.max(s)));
                }
            }
            match best {
                Some(s) => score += s,
                None => return Ok(None),
            }
        }
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (key, property) in properties {
                let Some(field_value) = fields.get(key) else {
                    continue;
                };
                score += 1;
                let (prop_doc, prop) = self.deref(&doc, property, depth + 1)?;
                if let Some(allowed) = discriminator_values(prop) {
                    if allowed.contains(&field_value) {
                        score += 1000;
                    } else {
                        return Ok(None);
                    }
                } else if field_value.is_object() || prop.get("oneOf").is_some() {
                    match self.fit(&prop_doc, prop, field_value, depth + 1)? {
                        Some(s) => score += s,
                        None => return Ok(None),
                    }
                }
            }
        }
        Ok(Some(score))
    }

    /// Follows `$ref`s from `node` (in document `doc`) to a node without one.
    fn deref<'a>(
        &'a self,
        doc: &str,
        node: &'a Value,
        depth: usize,
    ) -> Result<(String, &'a Value)> {
        let mut doc = doc.to_owned();
        let mut node = node;
        let mut hops = depth;
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            hops += 1;
            if hops > MAX_DEPTH {
                return Err(Error::Schema {
                    schema: doc,
                    problem: format!(
                        "`$ref` chains or nesting deeper than {MAX_DEPTH}: is there a cycle?"
                    ),
                });
            }
            let (next_doc, next) = self.resolve_ref(&doc, reference)?;
            doc = next_doc;
            node = next;
        }
        Ok((doc, node))
    }

    /// Resolves `reference` (`other.json`, `../x/other.json#/definitions/y` or `#/definitions/y`)
    /// from the document `from`.
    fn resolve_ref<'a>(&'a self, from: &str, reference: &str) -> Result<(String, &'a Value)> {
        let (path, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if path.is_empty() {
            from.to_owned()
        } else {
            let base = from.rsplit_once('/').map_or("", |(dir, _)| dir);
            let joined = if base.is_empty() {
                path.to_owned()
            } else {
                format!("{base}/{path}")
            };
            normalize_id(&joined).ok_or_else(|| Error::Schema {
                schema: from.to_owned(),
                problem: format!("`$ref` {reference} leaves the schema root"),
            })?
        };
        let schema = self.schemas.get(&doc).ok_or_else(|| Error::Schema {
            schema: if from.is_empty() {
                doc.clone()
            } else {
                from.to_owned()
            },
            problem: format!(
                "refers to `{doc}`, which is not registered: add it to the schema directory"
            ),
        })?;
        let node = if pointer.is_empty() {
            schema
        } else {
            schema.pointer(pointer).ok_or_else(|| Error::Schema {
                schema: doc.clone(),
                problem: format!("has no `{pointer}` (from `$ref` {reference})"),
            })?
        };
        Ok((doc, node))
    }

    /// The (category, type) a schema describes, when it is a connection schema.
    fn connection_key(&self, id: &str, schema: &Value) -> Option<(String, String)> {
        let rest = id.strip_prefix(CONNECTIONS_DIR)?;
        let (category, file) = rest.split_once('/')?;
        if file.contains('/') {
            return None;
        }
        let type_schema = schema.pointer("/properties/type")?;
        let resolved = match type_schema.get("$ref").and_then(Value::as_str) {
            Some(reference) if reference.starts_with("#/") => schema.pointer(&reference[1..])?,
            Some(_) => return None,
            None => type_schema,
        };
        let value = resolved
            .get("const")
            .or_else(|| match resolved.get("enum").and_then(Value::as_array) {
                Some(values) if values.len() == 1 => values.first(),
                _ => None,
            })
            .or_else(|| resolved.get("default"))
            .or_else(|| type_schema.get("default"))?
            .as_str()?;
        Some((category.to_owned(), value.to_owned()))
    }
}

/// The values a discriminator property allows: its `const`, or its `enum` of strings.
fn discriminator_values(prop: &Value) -> Option<Vec<&Value>> {
    if let Some(value) = prop.get("const") {
        return Some(vec![value]);
    }
    let values = prop.get("enum")?.as_array()?;
    values
        .iter()
        .all(Value::is_string)
        .then(|| values.iter().collect())
}

fn is_do_not_encrypt(node: &Value) -> bool {
    node.get("javaType")
        .and_then(Value::as_str)
        .is_some_and(|java| DO_NOT_ENCRYPT.iter().any(|suffix| java.ends_with(suffix)))
}

/// `a/b/../c.json` → `a/c.json`; `None` when the path is absolute or climbs above the root.
fn normalize_id(path: &str) -> Option<String> {
    if path.starts_with('/') || path.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref"
                    && let Some(reference) = child.as_str()
                {
                    out.push(reference);
                } else {
                    collect_refs(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

fn collect_json_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::SchemaRead {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::SchemaRead {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(location: &str, value: &Value, expected: &[&str]) {
        let registry = SchemaRegistry::builtin();
        let fields = registry.secret_fields(location, value).unwrap();
        let got: Vec<String> = fields.iter().map(SecretField::dotted).collect();
        assert_eq!(got, expected, "{location} {value}");
    }

    const MYSQL: &str = "entity/services/connections/database/mysqlConnection.json";

    #[test]
    fn builtin_schemas_are_consistent() {
        let registry = SchemaRegistry::builtin();
        registry.check_references().unwrap();
        assert_eq!(registry.ids().count(), BUILTIN.len());
    }

    #[test]
    fn connection_types_map_to_schemas() {
        let registry = SchemaRegistry::builtin();
        for (category, connection_type, file) in [
            ("database", "Mysql", "database/mysqlConnection.json"),
            ("database", "mysql", "database/mysqlConnection.json"),
            ("database", "Postgres", "database/postgresConnection.json"),
            ("database", "Snowflake", "database/snowflakeConnection.json"),
            ("database", "BigQuery", "database/bigQueryConnection.json"),
            ("database", "Redshift", "database/redshiftConnection.json"),
            ("database", "Mssql", "database/mssqlConnection.json"),
            ("messaging", "Kafka", "messaging/kafkaConnection.json"),
            ("pipeline", "Airflow", "pipeline/airflowConnection.json"),
            ("dashboard", "Looker", "dashboard/lookerConnection.json"),
            ("dashboard", "Tableau", "dashboard/tableauConnection.json"),
            ("dashboard", "PowerBI", "dashboard/powerBIConnection.json"),
            ("dashboard", "Metabase", "dashboard/metabaseConnection.json"),
            ("database", "MariaDB", "database/mariaDBConnection.json"),
            ("database", "Oracle", "database/oracleConnection.json"),
            (
                "database",
                "Clickhouse",
                "database/clickhouseConnection.json",
            ),
            (
                "database",
                "Databricks",
                "database/databricksConnection.json",
            ),
            ("database", "Athena", "database/athenaConnection.json"),
            ("storage", "S3", "storage/s3Connection.json"),
        ] {
            assert_eq!(
                registry.connection_schema(category, connection_type),
                Some(format!("{CONNECTIONS_DIR}{file}").as_str()),
                "{category} {connection_type}"
            );
        }
        assert_eq!(registry.connection_schema("dashboard", "Mysql"), None);
        assert_eq!(registry.connection_schema("database", "Hive"), None);
    }

    #[test]
    fn discovery_cases() {
        let sso_bot = json!({"authType": "BASIC", "config": {"username": "u", "password": "p"}});
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                MYSQL,
                json!({"type": "Mysql", "username": "u", "authType": {"password": "p"}}),
                vec!["authType.password"],
            ),
            (
                MYSQL,
                json!({"type": "Mysql", "authType": {"awsConfig": {"awsRegion": "eu", "awsSecretAccessKey": "k", "awsAccessKeyId": "id"}}}),
                vec!["authType.awsConfig.awsSecretAccessKey"],
            ),
            // A null or empty password is still found (the store path deletes its secret).
            (
                MYSQL,
                json!({"authType": {"password": null}}),
                vec!["authType.password"],
            ),
            (MYSQL, json!({"username": "u"}), vec![]),
            (MYSQL, json!({"authType": "not an object"}), vec![]),
            (
                "entity/services/connections/database/postgresConnection.json",
                json!({"type": "Postgres", "authType": {"password": "p"}}),
                vec!["authType.password"],
            ),
            (
                "entity/services/connections/database/snowflakeConnection.json",
                json!({"type": "Snowflake", "password": "p", "privateKey": "k", "snowflakePrivatekeyPassphrase": "s", "account": "a"}),
                vec!["password", "privateKey", "snowflakePrivatekeyPassphrase"],
            ),
            (
                "entity/services/connections/database/bigQueryConnection.json",
                json!({"type": "BigQuery", "credentials": {"gcpConfig": {"type": "service_account", "privateKey": "pk", "privateKeyId": "id", "clientEmail": "e"}}}),
                vec!["credentials.gcpConfig.privateKey"],
            ),
            (
                "entity/services/connections/database/bigQueryConnection.json",
                json!({"credentials": {"gcpConfig": {"type": "gcp_credential_path", "path": "/k.json"}}}),
                vec![],
            ),
            (
                "entity/services/connections/database/redshiftConnection.json",
                json!({"type": "Redshift", "password": "p"}),
                vec!["password"],
            ),
            (
                "entity/services/connections/database/mssqlConnection.json",
                json!({"type": "Mssql", "password": "p"}),
                vec!["password"],
            ),
            // Maps (consumerConfig, schemaRegistryConfig) are not walked, as in OpenMetadata.
            (
                "entity/services/connections/messaging/kafkaConnection.json",
                json!({"type": "Kafka", "saslPassword": "p", "basicAuthUserInfo": "u:p",
                       "schemaRegistryConfig": {"basic.auth.user.info": "u:p"},
                       "consumerConfig": {"sasl.password": "p"}}),
                vec!["basicAuthUserInfo", "saslPassword"],
            ),
            (
                "entity/services/connections/pipeline/airflowConnection.json",
                json!({"type": "Airflow", "connection": {"type": "Postgres", "authType": {"password": "p"}}}),
                vec!["connection.authType.password"],
            ),
            (
                "entity/services/connections/pipeline/airflowConnection.json",
                json!({"type": "Airflow", "connection": {"type": "Backend"}}),
                vec![],
            ),
            (
                "entity/services/connections/dashboard/lookerConnection.json",
                json!({"type": "Looker", "clientSecret": "s", "githubCredentials": {"repositoryOwner": "o", "repositoryName": "n", "token": "t"}}),
                vec!["clientSecret", "githubCredentials.token"],
            ),
            (
                "entity/services/connections/dashboard/lookerConnection.json",
                json!({"type": "Looker", "clientSecret": "s", "githubCredentials": {}}),
                vec!["clientSecret"],
            ),
            (
                "entity/services/connections/database/databricksConnection.json",
                json!({"type": "Databricks", "token": "t", "httpPath": "/sql"}),
                vec!["token"],
            ),
            (
                "entity/services/connections/database/athenaConnection.json",
                json!({"type": "Athena", "awsConfig": {"awsRegion": "eu", "awsSecretAccessKey": "k"}}),
                vec!["awsConfig.awsSecretAccessKey"],
            ),
            (
                "entity/services/connections/storage/s3Connection.json",
                json!({"type": "S3", "awsConfig": {"awsRegion": "eu", "awsSecretAccessKey": "k"}}),
                vec!["awsConfig.awsSecretAccessKey"],
            ),
            (
                "entity/services/connections/dashboard/powerBIConnection.json",
                json!({"type": "PowerBI", "clientId": "c", "clientSecret": "s", "tenantId": "t"}),
                vec!["clientSecret"],
            ),
            (
                "entity/services/connections/dashboard/tableauConnection.json",
                json!({"type": "Tableau", "authType": {"username": "u", "password": "p"}}),
                vec!["authType.password"],
            ),
            (
                "entity/services/connections/dashboard/tableauConnection.json",
                json!({"type": "Tableau", "authType": {"personalAccessTokenName": "n", "personalAccessTokenSecret": "s"}}),
                vec!["authType.personalAccessTokenSecret"],
            ),
            (
                "entity/teams/user.json#/definitions/authenticationMechanism",
                json!({"authType": "JWT", "config": {"JWTToken": "t", "JWTTokenExpiry": "Unlimited"}}),
                vec!["config.JWTToken"],
            ),
            // BasicAuthMechanism is never encrypted by OpenMetadata.
            (
                "entity/teams/user.json#/definitions/authenticationMechanism",
                sso_bot,
                vec![],
            ),
        ];
        for (location, value, expected) in &cases {
            check(location, value, expected);
        }
    }

    #[test]
    fn dbt_sources_are_told_apart_by_their_shape() {
        let pipeline = "entity/services/ingestionPipelines/ingestionPipeline.json";
        let with_source = |source: Value| {
            json!({"name": "p", "pipelineType": "dbt",
                   "sourceConfig": {"config": {"type": "DBT", "dbtConfigSource": source}}})
        };
        let prefix = "sourceConfig.config.dbtConfigSource";
        for (source, expected) in [
            (
                json!({"dbtConfigType": "s3", "dbtSecurityConfig": {"awsRegion": "eu", "awsSecretAccessKey": "k", "awsSessionToken": "t"}}),
                vec![format!("{prefix}.dbtSecurityConfig.awsSecretAccessKey")],
            ),
            (
                json!({"dbtSecurityConfig": {"awsRegion": "eu", "awsSecretAccessKey": "k"}, "dbtPrefixConfig": {"dbtBucketName": "b"}}),
                vec![format!("{prefix}.dbtSecurityConfig.awsSecretAccessKey")],
            ),
            (
                json!({"dbtConfigType": "gcs", "dbtSecurityConfig": {"gcpConfig": {"type": "service_account", "privateKey": "pk"}}}),
                vec![format!("{prefix}.dbtSecurityConfig.gcpConfig.privateKey")],
            ),
            (
                json!({"dbtConfigType": "azure", "dbtSecurityConfig": {"clientId": "c", "clientSecret": "s", "tenantId": "t", "accountName": "a"}}),
                vec![format!("{prefix}.dbtSecurityConfig.clientSecret")],
            ),
            (
                json!({"dbtConfigType": "cloud", "dbtCloudAuthToken": "t", "dbtCloudAccountId": "1"}),
                vec![format!("{prefix}.dbtCloudAuthToken")],
            ),
            (
                json!({"dbtConfigType": "local", "dbtManifestFilePath": "/m.json"}),
                vec![],
            ),
        ] {
            let got: Vec<String> = SchemaRegistry::builtin()
                .secret_fields(pipeline, &with_source(source.clone()))
                .unwrap()
                .iter()
                .map(SecretField::dotted)
                .collect();
            assert_eq!(got, expected, "{source}");
        }
        // Other pipeline types have no dbt secrets.
        check(
            pipeline,
            &json!({"sourceConfig": {"config": {"type": "DatabaseMetadata", "dbtConfigSource": {"dbtCloudAuthToken": "t"}}}}),
            &[],
        );
    }

    #[test]
    fn workflows_find_the_connection_by_its_type() {
        let workflow = json!({"name": "test-connection", "workflowType": "TEST_CONNECTION",
            "request": {"connection": {"config": {"type": "Mysql", "username": "u", "authType": {"password": "p"}}},
                        "serviceType": "Database", "connectionType": "Mysql"},
            "openMetadataServerConnection": {"securityConfig": {"jwtToken": "t"}}});
        check(
            "entity/automations/workflow.json",
            &workflow,
            &["request.connection.config.authType.password"],
        );
        let tableau = json!({"request": {"connection": {"config": {"type": "Tableau", "authType": {"personalAccessTokenName": "n", "personalAccessTokenSecret": "s"}}}}});
        check(
            "entity/automations/workflow.json",
            &tableau,
            &["request.connection.config.authType.personalAccessTokenSecret"],
        );
    }

    #[test]
    fn user_schemas_are_loaded_from_a_directory_and_override() {
        let dir = tempfile::tempdir().unwrap();
        let custom = dir.path().join("entity/services/connections/database");
        std::fs::create_dir_all(&custom).unwrap();
        std::fs::write(
            custom.join("acmeConnection.json"),
            r##"{"definitions": {"acmeType": {"type": "string", "enum": ["AcmeDB"]}},
               "properties": {"type": {"$ref": "#/definitions/acmeType"},
                              "token": {"type": "string", "format": "password"},
                              "auth": {"$ref": "../../../../security/credentials/basicAuth.json"},
                              "extra": {"$ref": "common/extra.json#/$defs/extra"}}}"##,
        )
        .unwrap();
        std::fs::create_dir_all(custom.join("common")).unwrap();
        std::fs::write(
            custom.join("common/extra.json"),
            r#"{"$defs": {"extra": {"type": "object", "properties": {"pin": {"type": "string", "format": "password"}}}}}"#,
        )
        .unwrap();
        let mut registry = SchemaRegistry::builtin();
        assert_eq!(registry.load_dir(dir.path()).unwrap(), 2);
        registry.check_references().unwrap();
        let id = registry
            .connection_schema("database", "AcmeDB")
            .unwrap()
            .to_owned();
        let value = json!({"type": "AcmeDB", "token": "t", "auth": {"username": "u", "password": "p"}, "extra": {"pin": "1"}});
        let got: Vec<String> = registry
            .secret_fields(&id, &value)
            .unwrap()
            .iter()
            .map(SecretField::dotted)
            .collect();
        assert_eq!(got, ["auth.password", "extra.pin", "token"]);
    }

    #[test]
    fn broken_schemas_are_reported() {
        let mut registry = SchemaRegistry::empty();
        registry
            .register(
                "a.json",
                json!({"properties": {"x": {"$ref": "missing.json"}}}),
            )
            .unwrap();
        let err = registry.check_references().unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
        registry
            .register("loop.json", json!({"$ref": "#"}))
            .unwrap();
        let err = registry.secret_fields("loop.json", &json!({})).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
        assert!(registry.register("/abs.json", json!({})).is_err());
        assert!(registry.register("../up.json", json!({})).is_err());
        assert!(registry.register("list.json", json!([])).is_err());
    }

    #[test]
    fn ids_are_normalized() {
        assert_eq!(normalize_id("a/b/../c.json").as_deref(), Some("a/c.json"));
        assert_eq!(normalize_id("./a.json").as_deref(), Some("a.json"));
        assert_eq!(normalize_id("../a.json"), None);
        assert_eq!(normalize_id("/a.json"), None);
    }
}
