//! `vaultref scan`: every row of every entity table, looking for secrets readable at rest
//! (the policy is core's [`SecretsManager::scan_entity`]; this module reads the rows).

use futures::StreamExt as _;
use vaultref_core::{AtRest, EntityType, SecretsManager};

use crate::error::{Error, Result};
use crate::store::{
    DEFAULT_PAGE_SIZE, Store, VERSIONS_TABLE, entity_types_with_tables, table_name,
};

/// One problem `scan` found: where, and what (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The table the row is in.
    pub table: &'static str,
    /// The entity type.
    pub entity_type: EntityType,
    /// The row's `id`.
    pub id: String,
    /// The row's `name`.
    pub name: String,
    /// For a row of OpenMetadata's version history (`entity_extension`): the version (`0.2`)
    /// of the entity that row keeps.
    pub version: Option<String>,
    /// The field path from the entity root (empty when the whole row could not be checked).
    pub path: String,
    /// What is wrong.
    pub problem: Problem,
}

impl Finding {
    /// A row whose document cannot be read: its secrets cannot be told.
    fn unreadable(table: &'static str, entity_type: EntityType, err: &Error) -> Self {
        Self {
            table,
            entity_type,
            id: String::new(),
            name: String::new(),
            version: None,
            path: String::new(),
            problem: Problem::Unchecked(err.to_string()),
        }
    }
}

/// What is wrong with a field or a row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A field readable at rest.
    AtRest(AtRest),
    /// The row cannot be checked (an unknown connection type, a document without a name, a
    /// document that does not parse): its secrets cannot be told, so it counts as a finding.
    Unchecked(String),
}

impl Problem {
    /// A stable identifier for JSON output.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::AtRest(at_rest) => at_rest.code(),
            Self::Unchecked(_) => "unchecked",
        }
    }

    /// A description for people.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::AtRest(at_rest) => at_rest.describe().to_owned(),
            Self::Unchecked(why) => format!("cannot be checked: {why}"),
        }
    }
}

/// What `scan` saw.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ScanReport {
    /// How many rows were read.
    pub rows: u64,
    /// Every problem, in table order.
    pub findings: Vec<Finding>,
    /// vaultref's tables the database does not have: on OpenMetadata's layout, entities its
    /// release does not know (nothing to scan; not an error).
    pub missing_tables: Vec<&'static str>,
}

/// Reads every row of every entity table, and on OpenMetadata's database every earlier version
/// of those entities (`entity_extension`), and reports every secret readable at rest, every
/// unclassified secret-looking plaintext, and every row whose secrets cannot be told.
/// Soft-deleted rows are scanned too: their plaintexts are at rest all the same.
///
/// # Errors
/// A failed query (a missing table, a lost connection).
pub async fn scan(store: &Store, manager: &SecretsManager) -> Result<ScanReport> {
    let mut report = ScanReport {
        missing_tables: store.layout().await?.missing_tables(),
        ..ScanReport::default()
    };
    for entity_type in entity_types_with_tables() {
        let table = table_name(entity_type);
        let mut rows = store.stream(entity_type, DEFAULT_PAGE_SIZE);
        while let Some(row) = rows.next().await {
            report.rows += 1;
            let row = match row {
                Ok(row) => row,
                Err(err @ Error::InvalidDocument { .. }) => {
                    report
                        .findings
                        .push(Finding::unreadable(table, entity_type, &err));
                    continue;
                }
                Err(err) => return Err(err),
            };
            let finding = |path: String, problem: Problem| Finding {
                table,
                entity_type,
                id: row.id.clone(),
                name: row.name.clone(),
                version: None,
                path,
                problem,
            };
            check(manager, row.entity_type, &row.entity, finding, &mut report);
        }
    }
    // Earlier versions keep the secrets of their time: a plaintext there is at rest too.
    let mut versions = store.stream_typed_versions(DEFAULT_PAGE_SIZE);
    while let Some(version) = versions.next().await {
        report.rows += 1;
        let (entity_type, version) = version?;
        let version = match version {
            Ok(version) => version,
            Err(err) => {
                report
                    .findings
                    .push(Finding::unreadable(VERSIONS_TABLE, entity_type, &err));
                continue;
            }
        };
        let name = version.entity["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let finding = |path: String, problem: Problem| Finding {
            table: VERSIONS_TABLE,
            entity_type: version.entity_type,
            id: version.id.clone(),
            name: name.clone(),
            version: Some(version.version.clone()),
            path,
            problem,
        };
        check(
            manager,
            version.entity_type,
            &version.entity,
            finding,
            &mut report,
        );
    }
    Ok(report)
}

/// Adds what `manager` finds readable at rest in one document to `report`.
fn check(
    manager: &SecretsManager,
    entity_type: EntityType,
    entity: &serde_json::Value,
    finding: impl Fn(String, Problem) -> Finding,
    report: &mut ScanReport,
) {
    match manager.scan_entity(entity_type, entity) {
        Ok(found) => report.findings.extend(
            found
                .into_iter()
                .map(|(field, at_rest)| finding(field.path, Problem::AtRest(at_rest))),
        ),
        Err(err) => report
            .findings
            .push(finding(String::new(), Problem::Unchecked(err.to_string()))),
    }
}
