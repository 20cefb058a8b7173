//! Key Vault secret names exactly as Airflow's `AzureKeyVaultBackend` builds them
//! (apache-airflow-providers-microsoft-azure 15.2.1, `secrets/key_vault.py`):
//!
//! - each prefix has any trailing characters of `sep` stripped (`str.rstrip(sep)`); a prefix
//!   set to null turns its lookup kind off; an empty prefix gives the id alone;
//! - `build_path`: `{prefix}{sep}{id}`, then every `_` replaced by `sep`;
//! - multi-team (`[core] multi_team`): `{prefix}{sep}{team}--{id}` tried first, then the global
//!   name; in that mode an id whose normalised form holds `--` is refused (it could name
//!   another team's secret);
//! - a name outside `[0-9a-zA-Z-]{1,127}` is not looked up (a warning, then "no value").

use std::fmt;

use vaultref_core::SecretName;

/// Separates the team from the id in a team-scoped name, whatever `sep` is.
pub const TEAM_SEPARATOR: &str = "--";

/// What is looked up: Airflow's three kinds of secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AirflowKind {
    /// A connection (`connections_prefix`, default `airflow-connections`).
    Connection,
    /// A variable (`variables_prefix`, default `airflow-variables`).
    Variable,
    /// A configuration option (`config_prefix`, default `airflow-config`).
    Config,
}

impl AirflowKind {
    /// Every kind, in Airflow's order.
    pub const ALL: [Self; 3] = [Self::Connection, Self::Variable, Self::Config];

    /// The backend keyword argument that sets this kind's prefix.
    #[must_use]
    pub fn prefix_kwarg(self) -> &'static str {
        match self {
            Self::Connection => "connections_prefix",
            Self::Variable => "variables_prefix",
            Self::Config => "config_prefix",
        }
    }

    /// The prefix when the keyword argument is not given.
    #[must_use]
    pub fn default_prefix(self) -> &'static str {
        match self {
            Self::Connection => "airflow-connections",
            Self::Variable => "airflow-variables",
            Self::Config => "airflow-config",
        }
    }

    /// `connection`, `variable` or `config`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Variable => "variable",
            Self::Config => "config",
        }
    }
}

impl fmt::Display for AirflowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One name a lookup tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameCandidate {
    /// A name Key Vault can hold.
    Valid(SecretName),
    /// A name Key Vault cannot hold: Airflow warns and does not ask the vault.
    Invalid(String),
}

/// What a lookup of one id does before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePlan {
    /// The kind's prefix is null: Airflow does not ask the vault.
    Disabled,
    /// Multi-team mode and the id spells a team separator: refused, with a warning.
    AmbiguousTeamId {
        /// The id after `_` → `sep`.
        normalized: String,
    },
    /// The names to try, in order (the team-scoped one first); the first one found wins.
    Names(Vec<NameCandidate>),
}

/// The naming rules of one backend configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirflowNaming {
    connections_prefix: Option<String>,
    variables_prefix: Option<String>,
    config_prefix: Option<String>,
    sep: String,
    multi_team: bool,
}

impl Default for AirflowNaming {
    /// The backend's defaults, single-team.
    fn default() -> Self {
        Self::new(
            Some(AirflowKind::Connection.default_prefix()),
            Some(AirflowKind::Variable.default_prefix()),
            Some(AirflowKind::Config.default_prefix()),
            "-",
            false,
        )
    }
}

impl AirflowNaming {
    /// Naming with these prefixes (`None`: that kind is off) and separator, stripping each
    /// prefix of trailing `sep` characters as the backend does.
    #[must_use]
    pub fn new(
        connections_prefix: Option<&str>,
        variables_prefix: Option<&str>,
        config_prefix: Option<&str>,
        sep: &str,
        multi_team: bool,
    ) -> Self {
        // `prefix.rstrip(sep)` removes any trailing character that occurs in sep.
        let strip = |p: Option<&str>| p.map(|p| p.trim_end_matches(|c| sep.contains(c)).to_owned());
        Self {
            connections_prefix: strip(connections_prefix),
            variables_prefix: strip(variables_prefix),
            config_prefix: strip(config_prefix),
            sep: sep.to_owned(),
            multi_team,
        }
    }

    /// The same naming with team-scoped names on or off.
    #[must_use]
    pub fn with_multi_team(mut self, multi_team: bool) -> Self {
        self.multi_team = multi_team;
        self
    }

    /// The prefix of `kind` after stripping; `None` when the kind is off.
    #[must_use]
    pub fn prefix(&self, kind: AirflowKind) -> Option<&str> {
        match kind {
            AirflowKind::Connection => self.connections_prefix.as_deref(),
            AirflowKind::Variable => self.variables_prefix.as_deref(),
            AirflowKind::Config => self.config_prefix.as_deref(),
        }
    }

    /// The separator.
    #[must_use]
    pub fn sep(&self) -> &str {
        &self.sep
    }

    /// Whether team-scoped names are in use (`[core] multi_team`).
    #[must_use]
    pub fn multi_team(&self) -> bool {
        self.multi_team
    }

    /// `AzureKeyVaultBackend.build_path(prefix, id, sep)`.
    #[must_use]
    pub fn build_path(prefix: &str, id: &str, sep: &str) -> String {
        let path = if prefix.is_empty() {
            id.to_owned()
        } else {
            format!("{prefix}{sep}{id}")
        };
        path.replace('_', sep)
    }

    /// The names a lookup of `id` by a task of `team` tries, in order. Configuration options
    /// have no team scope: `team` is ignored for them.
    #[must_use]
    pub fn plan(&self, kind: AirflowKind, id: &str, team: Option<&str>) -> NamePlan {
        let Some(prefix) = self.prefix(kind) else {
            return NamePlan::Disabled;
        };
        if self.multi_team {
            let normalized = Self::build_path("", id, &self.sep);
            if normalized.contains(TEAM_SEPARATOR) {
                return NamePlan::AmbiguousTeamId { normalized };
            }
        }
        let mut names = Vec::with_capacity(2);
        if let Some(team) = team.filter(|t| !t.is_empty() && kind != AirflowKind::Config) {
            let scoped = format!(
                "{}{TEAM_SEPARATOR}{}",
                Self::build_path("", team, &self.sep),
                id.replace('_', &self.sep)
            );
            names.push(candidate(Self::build_path(prefix, &scoped, &self.sep)));
        }
        names.push(candidate(Self::build_path(prefix, id, &self.sep)));
        NamePlan::Names(names)
    }

    /// The one name a write of `id` for `team` (or globally) goes to: the name Airflow tries
    /// first for that id and team.
    ///
    /// # Errors
    /// The plan, when it is not a valid name: a disabled kind, an ambiguous id, an invalid name.
    pub fn write_name(
        &self,
        kind: AirflowKind,
        id: &str,
        team: Option<&str>,
    ) -> Result<SecretName, NamePlan> {
        match self.plan(kind, id, team) {
            NamePlan::Names(names) => match names.into_iter().next() {
                Some(NameCandidate::Valid(name)) => Ok(name),
                Some(invalid) => Err(NamePlan::Names(vec![invalid])),
                None => Err(NamePlan::Names(Vec::new())),
            },
            other => Err(other),
        }
    }

    /// The kind a vault secret name belongs to, from its prefix: what `list` shows. Names under
    /// no configured prefix are not Airflow's. With an empty prefix every name matches.
    #[must_use]
    pub fn kind_of(&self, name: &str) -> Option<AirflowKind> {
        let lower = name.to_ascii_lowercase();
        AirflowKind::ALL.into_iter().find(|kind| {
            self.prefix(*kind).is_some_and(|prefix| {
                let prefix = format!("{prefix}{}", self.sep).replace('_', &self.sep);
                prefix == self.sep || lower.starts_with(&prefix.to_ascii_lowercase())
            })
        })
    }
}

fn candidate(name: String) -> NameCandidate {
    match SecretName::new(&name) {
        Ok(valid) => NameCandidate::Valid(valid),
        Err(_) => NameCandidate::Invalid(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(plan: NamePlan) -> Vec<String> {
        match plan {
            NamePlan::Names(names) => names
                .into_iter()
                .map(|n| match n {
                    NameCandidate::Valid(n) => n.as_str().to_owned(),
                    NameCandidate::Invalid(n) => format!("invalid:{n}"),
                })
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    /// `(kind, id, team, expected names)` under one naming.
    fn check(naming: &AirflowNaming, cases: &[(AirflowKind, &str, Option<&str>, &[&str])]) {
        for (kind, id, team, expected) in cases {
            assert_eq!(
                names(naming.plan(*kind, id, *team)),
                *expected,
                "{kind} {id} {team:?}"
            );
        }
    }

    use AirflowKind::{Config, Connection, Variable};

    #[test]
    fn default_names_replace_underscores() {
        check(
            &AirflowNaming::default(),
            &[
                (
                    Connection,
                    "smtp_default",
                    None,
                    &["airflow-connections-smtp-default"],
                ),
                (Variable, "hello", None, &["airflow-variables-hello"]),
                (
                    Config,
                    "sql_alchemy_conn",
                    None,
                    &["airflow-config-sql-alchemy-conn"],
                ),
                (Connection, "a-b", None, &["airflow-connections-a-b"]),
                (
                    Connection,
                    "my.conn",
                    None,
                    &["invalid:airflow-connections-my.conn"],
                ),
                (Connection, "", None, &["airflow-connections-"]),
                (
                    Variable,
                    &"x".repeat(110),
                    None,
                    &[&format!("invalid:airflow-variables-{}", "x".repeat(110))],
                ),
            ],
        );
    }

    #[test]
    fn prefixes_lose_trailing_separators_and_null_turns_a_kind_off() {
        let naming = AirflowNaming::new(Some("conns--"), None, Some(""), "-", false);
        assert_eq!(naming.prefix(Connection), Some("conns"));
        check(
            &naming,
            &[
                (Connection, "x", None, &["conns-x"]),
                (Variable, "x", None, &["Disabled"]),
                (Config, "core_x", None, &["core-x"]),
            ],
        );
        // rstrip removes any character of sep, and `_` in the prefix becomes sep too.
        let naming = AirflowNaming::new(Some("my_conns_-_"), Some("vars"), None, "_-", false);
        assert_eq!(naming.prefix(Connection), Some("my_conns"));
        check(
            &naming,
            &[(Connection, "a_b", None, &["invalid:my_-conns_--a_-b"])],
        );
        let naming = AirflowNaming::new(Some("p"), Some("v"), Some("c"), "", false);
        check(&naming, &[(Connection, "a_b", None, &["pab"])]);
    }

    #[test]
    fn a_custom_separator_is_used_everywhere() {
        let naming = AirflowNaming::new(
            Some("airflow_connections"),
            Some("vars"),
            Some("cfg"),
            "x",
            false,
        );
        check(
            &naming,
            &[(
                Connection,
                "smtp_default",
                None,
                &["airflowxconnectionsxsmtpxdefault"],
            )],
        );
        let dotted = AirflowNaming::new(Some("conns"), Some("vars"), Some("cfg"), ".", false);
        check(&dotted, &[(Variable, "k", None, &["invalid:vars.k"])]);
    }

    #[test]
    fn multi_team_names_and_refusals() {
        let naming = AirflowNaming::new(
            Some("airflow-connections"),
            Some("airflow-variables"),
            Some("airflow-config"),
            "-",
            true,
        );
        check(
            &naming,
            &[
                (
                    Connection,
                    "db_conn",
                    Some("team_a"),
                    &[
                        "airflow-connections-team-a--db-conn",
                        "airflow-connections-db-conn",
                    ],
                ),
                (
                    Variable,
                    "k",
                    Some("ops"),
                    &["airflow-variables-ops--k", "airflow-variables-k"],
                ),
                (Variable, "k", None, &["airflow-variables-k"]),
                (Variable, "k", Some(""), &["airflow-variables-k"]),
                (Config, "k", Some("ops"), &["airflow-config-k"]),
                (
                    Connection,
                    "b--c",
                    Some("a"),
                    &["AmbiguousTeamId { normalized: \"b--c\" }"],
                ),
                (
                    Connection,
                    "b__c",
                    None,
                    &["AmbiguousTeamId { normalized: \"b--c\" }"],
                ),
                (
                    Config,
                    "x__y",
                    None,
                    &["AmbiguousTeamId { normalized: \"x--y\" }"],
                ),
                (
                    Connection,
                    "db",
                    Some("bad.team"),
                    &[
                        "invalid:airflow-connections-bad.team--db",
                        "airflow-connections-db",
                    ],
                ),
            ],
        );
        // Single-team mode looks `b--c` up like any id.
        check(
            &AirflowNaming::default(),
            &[(Connection, "b__c", None, &["airflow-connections-b--c"])],
        );
    }

    #[test]
    fn writes_go_to_the_first_name_and_kinds_come_back_from_names() {
        let naming = AirflowNaming::default();
        assert_eq!(
            naming
                .write_name(Connection, "smtp_default", None)
                .unwrap()
                .as_str(),
            "airflow-connections-smtp-default"
        );
        assert!(naming.write_name(Connection, "x.y", None).is_err());
        assert_eq!(naming.kind_of("airflow-connections-x"), Some(Connection));
        assert_eq!(naming.kind_of("AIRFLOW-VARIABLES-x"), Some(Variable));
        assert_eq!(naming.kind_of("airflow-connectionsx"), None);
        assert_eq!(naming.kind_of("other"), None);
    }
}
