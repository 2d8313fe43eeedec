//! Feature values: rows of cells in the order of the feature's columns, and typed views of the rows
//! the rules read (users, interfaces, listeners). Rule code reads rows through the typed views, never by
//! cell index; each typed row is checked against its feature's schema (the tests below).

use serde::{Deserialize, Serialize};

use super::{CellError, FeatureId};
use crate::names::UserName;
use crate::roles::Role;

/// One row of a feature table; cells follow the feature's columns. Built by
/// [`super::FeatureSchema::parse_row`] (validated) or by a [`TypedRow`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Row(Vec<String>);

impl Row {
    /// A row from cells already known to fit their feature (fixtures, typed rows).
    pub(crate) fn from_cells(cells: Vec<String>) -> Row {
        Row(cells)
    }

    /// The cells, in column order (secrets as stored: use the schema's `display` to show them).
    pub fn cells(&self) -> &[String] {
        &self.0
    }

    pub(crate) fn cell(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }

    pub(crate) fn cell_mut(&mut self, i: usize) -> Option<&mut String> {
        self.0.get_mut(i)
    }

    /// The row's key: its first cell (rules §10.3).
    pub fn key(&self) -> &str {
        self.cell(0)
    }
}

/// A feature's whole value: definitions replace, never merge (rules §2.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureValue {
    pub rows: Vec<Row>,
    /// The rows are withheld from this replica: its role does not read configuration (rules §14.7.2).
    /// Only scoped copies (the browser's) are ever hidden; a page shows "hidden", never "no entries".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

impl FeatureValue {
    /// A value of `rows`.
    pub fn of(rows: Vec<Row>) -> FeatureValue {
        FeatureValue { rows, hidden: false }
    }

    /// What a page shows for a value with no rows: none, or none that this role may see.
    pub fn empty_label(&self) -> &'static str {
        if self.hidden {
            "(withheld: your role reads status, not configuration)"
        } else {
            "(no entries)"
        }
    }

    /// A value whose rows are withheld from the replica's role.
    pub fn withheld() -> FeatureValue {
        FeatureValue {
            rows: Vec::new(),
            hidden: true,
        }
    }

    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key() == key)
    }

    /// Adds or replaces (in place, by key) each of `upsert`, then removes the rows keyed `delete`.
    pub fn apply_rows(&mut self, upsert: &[Row], delete: &[String]) {
        for row in upsert {
            match self.rows.iter_mut().find(|r| r.key() == row.key()) {
                Some(slot) => *slot = row.clone(),
                None => self.rows.push(row.clone()),
            }
        }
        self.rows.retain(|r| !delete.iter().any(|k| k == r.key()));
    }

    /// The rows read as `T` (rows that do not fit are skipped; every stored row was validated).
    pub fn typed<T: TypedRow>(&self) -> impl Iterator<Item = T> + '_ {
        self.rows.iter().filter_map(|r| T::from_row(r).ok())
    }
}

/// A row that does not fit its feature's schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowError {
    #[error("{feature}: too many values ({got}, expected at most {expected}); syntax: {syntax}")]
    TooManyValues {
        feature: FeatureId,
        expected: usize,
        got: usize,
        syntax: String,
    },
    #[error("{feature}: missing <{column}>; syntax: {syntax}")]
    MissingValue {
        feature: FeatureId,
        column: &'static str,
        syntax: String,
    },
    #[error("{feature}: <{column}> \"{value}\" is not valid: {reason}")]
    BadValue {
        feature: FeatureId,
        column: &'static str,
        value: String,
        reason: CellError,
    },
}

/// A typed view of one feature's rows. `COLUMNS` names the columns it reads, in order; a test checks
/// them against the catalogue.
pub trait TypedRow: Sized {
    const FEATURE: FeatureId;
    const COLUMNS: &'static [&'static str];
    fn from_row(row: &Row) -> Result<Self, RowError>;
    fn to_row(&self) -> Row;
}

fn bad(feature: FeatureId, column: &'static str, value: &str, reason: CellError) -> RowError {
    RowError::BadValue {
        feature,
        column,
        value: value.chars().take(80).collect(),
        reason,
    }
}

/// A port cell: `0` is off.
fn port(feature: FeatureId, column: &'static str, value: &str) -> Result<Option<u16>, RowError> {
    value
        .parse::<u16>()
        .map(|p| (p != 0).then_some(p))
        .map_err(|_| bad(feature, column, value, CellError::Integer { min: 0, max: 65535 }))
}

/// A user of the user database (`userconfig`, rules §2.7). `password` is the stored credential (plain
/// in scripts, an argon2id hash on the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub name: UserName,
    pub role: Role,
    pub password: String,
}

impl TypedRow for UserRow {
    const FEATURE: FeatureId = FeatureId::Users;
    const COLUMNS: &'static [&'static str] = &["user", "role", "password"];

    fn from_row(row: &Row) -> Result<Self, RowError> {
        let f = Self::FEATURE;
        let name = UserName::parse(row.cell(0))
            .map_err(|e| bad(f, "user", row.cell(0), CellError::Domain { reason: e.reason }))?;
        let role = Role::from_word(row.cell(1)).ok_or_else(|| {
            bad(
                f,
                "role",
                row.cell(1),
                CellError::Choice {
                    choices: super::ROLE_WORDS.join(", "),
                },
            )
        })?;
        Ok(UserRow {
            name,
            role,
            password: row.cell(2).to_string(),
        })
    }

    fn to_row(&self) -> Row {
        Row(vec![
            self.name.to_string(),
            self.role.word().to_string(),
            self.password.clone(),
        ])
    }
}

/// An IP interface (`interfaceconfig`, rules §2.1, §14.5): the services it offers to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRow {
    pub name: String,
    pub ip: String,
    /// The SSH port, when SSH is on.
    pub ssh: Option<u16>,
    /// The CCS port, when CCS is on.
    pub ccs: Option<u16>,
}

impl TypedRow for InterfaceRow {
    const FEATURE: FeatureId = FeatureId::IpInterfaces;
    const COLUMNS: &'static [&'static str] = &["name", "ip", "ssh", "ccs"];

    fn from_row(row: &Row) -> Result<Self, RowError> {
        let f = Self::FEATURE;
        let ccs = if row.cell(3).is_empty() {
            None
        } else {
            port(f, "ccs", row.cell(3))?
        };
        Ok(InterfaceRow {
            name: row.cell(0).to_string(),
            ip: row.cell(1).to_string(),
            ssh: port(f, "ssh", row.cell(2))?,
            ccs,
        })
    }

    fn to_row(&self) -> Row {
        let p = |p: Option<u16>| p.unwrap_or(0).to_string();
        Row(vec![self.name.clone(), self.ip.clone(), p(self.ssh), p(self.ccs)])
    }
}

/// A listener (`listenerconfig`, rules §2.8): it binds to an interface by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRow {
    pub name: String,
    pub interface: String,
    pub public: bool,
}

impl TypedRow for ListenerRow {
    const FEATURE: FeatureId = FeatureId::Listeners;
    const COLUMNS: &'static [&'static str] = &["name", "interface", "type"];

    fn from_row(row: &Row) -> Result<Self, RowError> {
        Ok(ListenerRow {
            name: row.cell(0).to_string(),
            interface: row.cell(1).to_string(),
            public: row.cell(2) != "private",
        })
    }

    fn to_row(&self) -> Row {
        Row(vec![
            self.name.clone(),
            self.interface.clone(),
            if self.public { "public" } else { "private" }.to_string(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns_match<T: TypedRow>() {
        let names: Vec<&str> = T::FEATURE.schema().columns.iter().map(|c| c.name).collect();
        assert_eq!(names, T::COLUMNS, "{:?}", T::FEATURE);
    }

    #[test]
    fn typed_rows_follow_the_catalogue() {
        columns_match::<UserRow>();
        columns_match::<InterfaceRow>();
        columns_match::<ListenerRow>();
    }

    #[test]
    fn typed_rows_round_trip_through_the_schema() {
        let s = FeatureId::IpInterfaces.schema();
        let row = s
            .parse_row(&["Data1".into(), "10.0.0.1".into(), "22".into(), "0".into()])
            .unwrap();
        let typed = InterfaceRow::from_row(&row).unwrap();
        assert_eq!(typed.ssh, Some(22));
        assert_eq!(typed.ccs, None);
        assert_eq!(typed.to_row(), row);
        let users = FeatureId::Users.schema();
        let row = users
            .parse_row(&["carol".into(), "operator".into(), "carol-pass".into()])
            .unwrap();
        let typed = UserRow::from_row(&row).unwrap();
        assert_eq!(typed.role, Role::Operator);
        assert_eq!(typed.to_row(), row);
        let l = FeatureId::Listeners
            .schema()
            .parse_row(&["In".into(), "Data1".into()])
            .unwrap();
        assert_eq!(ListenerRow::from_row(&l).unwrap().to_row(), l);
    }
}
