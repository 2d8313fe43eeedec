//! The feature catalogue (rules §2.5): every family of settings, its typed schema, the levels it may be
//! stored at, its CLI command and row syntax, and its defaults. The console renders its forms from these
//! schemas, so they are plain data (`&'static`), serialisable for the browser.
//!
//! - [`cells`] — what each column kind accepts ([`CellError`]).
//! - [`rows`] — [`Row`], [`FeatureValue`], [`RowError`] and the typed rows the rules read.

mod cells;
mod rows;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use cells::{is_ipv4, quote_if_needed, CellError};
pub use rows::{FeatureValue, InterfaceRow, ListenerRow, Row, RowError, TypedRow, UserRow};

use crate::mode::Level;

/// One family of settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeatureId {
    Users,
    SshKeys,
    IpInterfaces,
    Ethernet,
    StaticRoutes,
    DefaultGateway,
    Hostname,
    FeatureKeys,
    SmtpRoutes,
    DestinationControls,
    Ldap,
    Listeners,
    GlobalUnsubscribe,
    Dns,
    AntiSpam,
    AntiVirus,
    MailPolicies,
    ContentFilters,
    PvoQuarantine,
}

impl FeatureId {
    pub const ALL: [FeatureId; 19] = [
        FeatureId::Users,
        FeatureId::SshKeys,
        FeatureId::IpInterfaces,
        FeatureId::Ethernet,
        FeatureId::StaticRoutes,
        FeatureId::DefaultGateway,
        FeatureId::Hostname,
        FeatureId::FeatureKeys,
        FeatureId::SmtpRoutes,
        FeatureId::DestinationControls,
        FeatureId::Ldap,
        FeatureId::Listeners,
        FeatureId::GlobalUnsubscribe,
        FeatureId::Dns,
        FeatureId::AntiSpam,
        FeatureId::AntiVirus,
        FeatureId::MailPolicies,
        FeatureId::ContentFilters,
        FeatureId::PvoQuarantine,
    ];

    pub fn schema(self) -> &'static FeatureSchema {
        CATALOGUE
            .iter()
            .find(|s| s.id == self)
            .expect("every FeatureId has a schema")
    }

    /// The feature whose CLI command is `command` (case-insensitive).
    pub fn from_command(command: &str) -> Option<FeatureId> {
        CATALOGUE
            .iter()
            .find(|s| s.command.eq_ignore_ascii_case(command))
            .map(|s| s.id)
    }

    pub fn command(self) -> &'static str {
        self.schema().command
    }

    pub fn title(self) -> &'static str {
        self.schema().title
    }
}

impl fmt::Display for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.command())
    }
}

/// The levels a feature may be stored at (I5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Levels {
    pub cluster: bool,
    pub group: bool,
    pub machine: bool,
}

impl Levels {
    pub const CLUSTER_ONLY: Levels = Levels {
        cluster: true,
        group: false,
        machine: false,
    };
    pub const MACHINE_ONLY: Levels = Levels {
        cluster: false,
        group: false,
        machine: true,
    };
    pub const ANY: Levels = Levels {
        cluster: true,
        group: true,
        machine: true,
    };

    /// A machine-only feature always exists at its machine level and is never deleted or moved off it
    /// (rules §14.7.6).
    pub fn machine_only(self) -> bool {
        self == Levels::MACHINE_ONLY
    }

    pub fn allows(self, level: Level) -> bool {
        match level {
            Level::Cluster => self.cluster,
            Level::Group => self.group,
            Level::Machine => self.machine,
        }
    }

    /// "cluster", "machine", "cluster, group or machine".
    pub fn describe(self) -> String {
        let names: Vec<&str> = [
            (self.cluster, "cluster"),
            (self.group, "group"),
            (self.machine, "machine"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect();
        match names.as_slice() {
            [one] => one.to_string(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
            [] => "no level".to_string(),
        }
    }
}

/// What a cell holds; validation is per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnKind {
    /// A mail domain, `example.com` or `.example.com` (sub-domains).
    Domain,
    /// A mail domain or an address `user@domain`.
    DomainOrAddress,
    /// One or more destinations `host[:port]` separated by commas.
    DestinationList,
    /// An IPv4 address.
    Ipv4,
    /// An IPv4 network `a.b.c.d/len`.
    Ipv4Network,
    /// An identifier: letters, digits, `_`, `-`, `.`.
    Name,
    /// Free text without control characters.
    Text,
    /// An integer in a closed range.
    Integer { min: i64, max: i64 },
    /// One of a fixed set of words.
    Choice { choices: &'static [&'static str] },
    /// A password; never printed.
    Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: ColumnKind,
    /// The value used when a row leaves this trailing column out.
    pub default: Option<&'static str>,
}

const fn col(name: &'static str, label: &'static str, kind: ColumnKind) -> Column {
    Column {
        name,
        label,
        kind,
        default: None,
    }
}

const fn col_default(
    name: &'static str,
    label: &'static str,
    kind: ColumnKind,
    default: &'static str,
) -> Column {
    Column {
        name,
        label,
        kind,
        default: Some(default),
    }
}

/// The shape of a feature's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Rows keyed by the first column; `new`, `edit`, `delete`.
    Table,
    /// Exactly one row; the command sets it (`setgateway 10.0.0.1`).
    Single,
}

/// The schema of one feature.
#[derive(Debug, Serialize)]
pub struct FeatureSchema {
    pub id: FeatureId,
    /// The CLI command, e.g. `smtproutes`.
    pub command: &'static str,
    /// Human title, e.g. `SMTP Routes`.
    pub title: &'static str,
    /// Where the appliance GUI shows it.
    pub gui_page: &'static str,
    /// Label used by `clustercheck`.
    pub check_label: &'static str,
    pub levels: Levels,
    pub shape: Shape,
    /// The most rows one level may hold (docs/rules.md 15.28): adding a row
    /// beyond it, directly or by merging a commit, is refused by name.
    pub max_rows: usize,
    pub columns: &'static [Column],
    /// The built-in default rows.
    pub defaults: &'static [&'static [&'static str]],
    /// A one-line description for `help`.
    pub synopsis: &'static str,
}

impl FeatureSchema {
    pub fn default_value(&self) -> FeatureValue {
        FeatureValue::of(
            self.defaults
                .iter()
                .map(|r| Row::from_cells(r.iter().map(|c| c.to_string()).collect()))
                .collect(),
        )
    }

    /// The row syntax, e.g. `<domain> <destinations>`.
    pub fn row_syntax(&self) -> String {
        self.columns
            .iter()
            .map(|c| {
                if c.default.is_some() {
                    format!("[<{}>]", c.name)
                } else {
                    format!("<{}>", c.name)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Validates and completes one row given as words (trailing defaults filled in).
    pub fn parse_row(&self, cells: &[String]) -> Result<Row, RowError> {
        if cells.len() > self.columns.len() {
            return Err(RowError::TooManyValues {
                feature: self.id,
                expected: self.columns.len(),
                got: cells.len(),
                syntax: self.row_syntax(),
            });
        }
        let mut out = Vec::with_capacity(self.columns.len());
        for (i, column) in self.columns.iter().enumerate() {
            match cells.get(i) {
                Some(value) => {
                    cells::validate(column.kind, value).map_err(|reason| RowError::BadValue {
                        feature: self.id,
                        column: column.name,
                        // A refused secret is never repeated back (rules §14.4: secrets are masked).
                        value: if column.kind == ColumnKind::Secret {
                            MASK.to_string()
                        } else {
                            value.chars().take(80).collect()
                        },
                        reason,
                    })?;
                    out.push(cells::normalise(column.kind, value));
                }
                None => match column.default {
                    Some(d) => out.push(d.to_string()),
                    None => {
                        return Err(RowError::MissingValue {
                            feature: self.id,
                            column: column.name,
                            syntax: self.row_syntax(),
                        })
                    }
                },
            }
        }
        Ok(Row::from_cells(out))
    }

    /// The cells of a row as a page shows them, one per column (secrets masked).
    pub fn display(&self, row: &Row) -> Vec<String> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.kind == ColumnKind::Secret {
                    MASK.to_string()
                } else {
                    row.cell(i).to_string()
                }
            })
            .collect()
    }

    /// A row as `print` shows it (rules §10.3; secrets masked).
    pub fn render_row(&self, row: &Row) -> String {
        match self.id {
            FeatureId::SmtpRoutes => format!("{} -> {}", row.cell(0), row.cell(1)),
            FeatureId::IpInterfaces => match InterfaceRow::from_row(row) {
                Ok(i) => {
                    let mut s = format!("{} {}", i.name, i.ip);
                    if let Some(p) = i.ssh {
                        s.push_str(&format!(" ssh={p}"));
                    }
                    if let Some(p) = i.ccs {
                        s.push_str(&format!(" ccs={p}"));
                    }
                    s
                }
                Err(_) => row.cells().join(" "),
            },
            _ => self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if c.kind == ColumnKind::Secret {
                        MASK.to_string()
                    } else {
                        quote_if_needed(row.cell(i))
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// What a page and `print` show instead of a secret.
pub const MASK: &str = "********";

/// Roles (rules §2.7, §14.4), as `userconfig` spells them.
pub const ROLE_WORDS: &[&str] = &["administrator", "operator", "readonly", "helpdesk", "guest"];
const ON_OFF: &[&str] = &["on", "off"];

use ColumnKind as K;

/// Every feature, in menu order.
pub static CATALOGUE: &[FeatureSchema] = &[
    FeatureSchema {
        id: FeatureId::Users,
        command: "userconfig",
        title: "Users",
        gui_page: "System Administration > Users",
        check_label: "Users",
        levels: Levels::CLUSTER_ONLY,
        shape: Shape::Table,
        max_rows: 500,
        columns: &[
            col("user", "User name", K::Name),
            col("role", "Role", K::Choice { choices: ROLE_WORDS }),
            col("password", "Password", K::Secret),
        ],
        defaults: &[],
        synopsis: "Manage user accounts (shared by the whole cluster).",
    },
    FeatureSchema {
        id: FeatureId::SshKeys,
        command: "sshconfig",
        title: "SSH Keys",
        gui_page: "(CLI only)",
        check_label: "SSH authorized keys",
        levels: Levels::CLUSTER_ONLY,
        shape: Shape::Table,
        max_rows: 200,
        columns: &[
            col("user", "User name", K::Name),
            col("key", "Public key", K::Text),
        ],
        defaults: &[],
        synopsis: "Manage SSH public keys of users.",
    },
    FeatureSchema {
        id: FeatureId::IpInterfaces,
        command: "interfaceconfig",
        title: "IP Interfaces",
        gui_page: "Network > IP Interfaces",
        check_label: "IP interfaces",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Table,
        max_rows: 64,
        columns: &[
            col("name", "Interface name", K::Name),
            col("ip", "IP address", K::Ipv4),
            col_default(
                "ssh",
                "SSH port (0 = off)",
                K::Integer { min: 0, max: 65535 },
                "22",
            ),
            col_default(
                "ccs",
                "CCS port (0 = off)",
                K::Integer { min: 0, max: 65535 },
                "0",
            ),
        ],
        defaults: &[],
        synopsis: "Configure IP interfaces and the services they offer (SSH, CCS).",
    },
    FeatureSchema {
        id: FeatureId::Ethernet,
        command: "etherconfig",
        title: "Ethernet Settings",
        gui_page: "(CLI only)",
        check_label: "Ethernet settings",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Table,
        max_rows: 16,
        columns: &[
            col("port", "Ethernet port", K::Name),
            col_default(
                "media",
                "Media",
                K::Choice {
                    choices: &["auto", "100full", "1000full"],
                },
                "auto",
            ),
        ],
        defaults: &[&["Data_1", "auto"]],
        synopsis: "Configure Ethernet ports.",
    },
    FeatureSchema {
        id: FeatureId::StaticRoutes,
        command: "routeconfig",
        title: "Static Routes",
        gui_page: "Network > Routing",
        check_label: "Static routes",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Table,
        max_rows: 1_000,
        columns: &[
            col("name", "Route name", K::Name),
            col("network", "Destination network", K::Ipv4Network),
            col("gateway", "Gateway", K::Ipv4),
        ],
        defaults: &[],
        synopsis: "Configure static IP routes.",
    },
    FeatureSchema {
        id: FeatureId::DefaultGateway,
        command: "setgateway",
        title: "Default Gateway",
        gui_page: "Network > Routing",
        check_label: "Default gateway",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Single,
        max_rows: 1,
        columns: &[col("gateway", "Default gateway", K::Ipv4)],
        defaults: &[&["192.168.0.1"]],
        synopsis: "Set the default gateway.",
    },
    FeatureSchema {
        id: FeatureId::Hostname,
        command: "sethostname",
        title: "Hostname",
        gui_page: "Network > IP Interfaces",
        check_label: "Hostname",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Single,
        max_rows: 1,
        columns: &[col("hostname", "Main hostname", K::Domain)],
        defaults: &[&["localhost.localdomain"]],
        synopsis: "Show the main hostname (cluster traffic addresses it; changing it is refused).",
    },
    FeatureSchema {
        id: FeatureId::FeatureKeys,
        command: "featurekey",
        title: "Feature Keys",
        gui_page: "System Administration > Feature Keys",
        check_label: "Feature keys",
        levels: Levels::MACHINE_ONLY,
        shape: Shape::Table,
        max_rows: 64,
        columns: &[
            col("feature", "Licensed feature", K::Name),
            col("expires", "Expires (days)", K::Integer { min: 0, max: 3650 }),
        ],
        defaults: &[],
        synopsis: "Show and install feature keys.",
    },
    FeatureSchema {
        id: FeatureId::SmtpRoutes,
        command: "smtproutes",
        title: "SMTP Routes",
        gui_page: "Network > SMTP Routes",
        check_label: "SMTP routes",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 10_000,
        columns: &[
            col("domain", "Receiving domain", K::Domain),
            col("destinations", "Destination hosts", K::DestinationList),
        ],
        defaults: &[],
        synopsis: "Route mail for a domain to specific destination hosts.",
    },
    FeatureSchema {
        id: FeatureId::DestinationControls,
        command: "destconfig",
        title: "Destination Controls",
        gui_page: "Mail Policies > Destination Controls",
        check_label: "Destination controls",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 5_000,
        columns: &[
            col("domain", "Destination domain", K::Domain),
            col(
                "max_connections",
                "Maximum concurrent connections (per machine)",
                K::Integer { min: 1, max: 1000 },
            ),
        ],
        defaults: &[],
        synopsis: "Limit connections per destination domain; limits apply to each machine on its own.",
    },
    FeatureSchema {
        id: FeatureId::Ldap,
        command: "ldapconfig",
        title: "LDAP",
        gui_page: "System Administration > LDAP",
        check_label: "LDAP server profiles and queries",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 50,
        columns: &[
            col("query", "Query name", K::Name),
            col("server", "LDAP server", K::Domain),
            col("base_dn", "Base DN", K::Text),
        ],
        defaults: &[],
        synopsis: "Configure LDAP server profiles and queries.",
    },
    FeatureSchema {
        id: FeatureId::Listeners,
        command: "listenerconfig",
        title: "Listeners",
        gui_page: "Network > Listeners",
        check_label: "Listeners (including HAT, RAT, bounce profiles)",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 64,
        columns: &[
            col("name", "Listener name", K::Name),
            col("interface", "Interface name", K::Name),
            col_default(
                "type",
                "Type",
                K::Choice {
                    choices: &["public", "private"],
                },
                "public",
            ),
        ],
        defaults: &[],
        synopsis: "Configure listeners; each binds to an interface by name.",
    },
    FeatureSchema {
        id: FeatureId::GlobalUnsubscribe,
        command: "unsubscribe",
        title: "Global Unsubscribe",
        gui_page: "Mail Policies > Global Unsubscribe",
        check_label: "Global unsubscribe",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 10_000,
        columns: &[col("entry", "Address or domain", K::DomainOrAddress)],
        defaults: &[],
        synopsis: "Addresses and domains that never receive mail.",
    },
    FeatureSchema {
        id: FeatureId::Dns,
        command: "dnsconfig",
        title: "DNS",
        gui_page: "Network > DNS",
        check_label: "DNS",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 64,
        columns: &[
            col("server", "DNS server", K::Ipv4),
            col_default("priority", "Priority", K::Integer { min: 0, max: 100 }, "0"),
        ],
        defaults: &[],
        synopsis: "Configure the DNS servers used (empty: the Internet root servers).",
    },
    FeatureSchema {
        id: FeatureId::AntiSpam,
        command: "antispamconfig",
        title: "Anti-Spam",
        gui_page: "Security Services > Anti-Spam",
        check_label: "Anti-spam settings",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 16,
        columns: &[
            col(
                "engine",
                "Engine",
                K::Choice {
                    choices: &["ipas", "graymail"],
                },
            ),
            col_default("enabled", "Enabled", K::Choice { choices: ON_OFF }, "on"),
        ],
        defaults: &[&["ipas", "on"]],
        synopsis: "Configure anti-spam scanning.",
    },
    FeatureSchema {
        id: FeatureId::AntiVirus,
        command: "antivirusconfig",
        title: "Anti-Virus",
        gui_page: "Security Services > Anti-Virus",
        check_label: "Anti-virus settings",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 16,
        columns: &[
            col(
                "engine",
                "Engine",
                K::Choice {
                    choices: &["sophos", "mcafee"],
                },
            ),
            col_default("enabled", "Enabled", K::Choice { choices: ON_OFF }, "on"),
        ],
        defaults: &[&["sophos", "on"]],
        synopsis: "Configure anti-virus scanning.",
    },
    FeatureSchema {
        id: FeatureId::MailPolicies,
        command: "policyconfig",
        title: "Mail Policies",
        gui_page: "Mail Policies > Incoming Mail Policies",
        check_label: "Mail policies",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 1_000,
        columns: &[
            col("policy", "Policy name", K::Name),
            col("senders", "Senders (domain or address)", K::DomainOrAddress),
            col_default(
                "action",
                "Action",
                K::Choice {
                    choices: &["deliver", "quarantine", "drop"],
                },
                "deliver",
            ),
        ],
        defaults: &[],
        synopsis: "Configure incoming mail policies.",
    },
    FeatureSchema {
        id: FeatureId::ContentFilters,
        command: "filters",
        title: "Message Filters",
        gui_page: "Mail Policies > Content Filters",
        check_label: "Message filters",
        levels: Levels::ANY,
        shape: Shape::Table,
        max_rows: 1_000,
        columns: &[
            col("name", "Filter name", K::Name),
            col("condition", "Condition", K::Text),
            col_default(
                "action",
                "Action",
                K::Choice {
                    choices: &["deliver", "quarantine", "drop", "bounce"],
                },
                "quarantine",
            ),
        ],
        defaults: &[],
        synopsis: "Configure message filters.",
    },
    FeatureSchema {
        id: FeatureId::PvoQuarantine,
        command: "quarantineconfig",
        title: "Centralized Policy Quarantines",
        gui_page: "Security Services > Centralized Services",
        check_label: "Centralized policy, virus and outbreak quarantines",
        levels: Levels::ANY,
        shape: Shape::Single,
        max_rows: 1,
        columns: &[
            col_default(
                "centralized",
                "Centralized on a Security Management appliance",
                K::Choice { choices: ON_OFF },
                "off",
            ),
            col_default("sma", "Security Management appliance host", K::Text, "none"),
        ],
        defaults: &[&["off", "none"]],
        synopsis: "Use a Security Management appliance for policy, virus and outbreak quarantines.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_consistent() {
        assert_eq!(CATALOGUE.len(), FeatureId::ALL.len());
        for id in FeatureId::ALL {
            let s = id.schema();
            assert_eq!(FeatureId::from_command(s.command), Some(id));
            assert!(!s.columns.is_empty());
            for row in s.defaults {
                let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
                s.parse_row(&cells)
                    .unwrap_or_else(|e| panic!("{id:?} default row invalid: {e}"));
            }
        }
    }

    #[test]
    fn a_refused_password_is_not_repeated_in_the_error() {
        let s = FeatureId::Users.schema();
        let cells: Vec<String> = s
            .columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Secret => "hunter2".to_string(),
                _ => c.default.unwrap_or("x").to_string(),
            })
            .collect();
        // Whatever else the row gets wrong, the short password must not appear in any message.
        if let Err(e) = s.parse_row(&cells) {
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let named: Vec<String> = ["alice", "operator", "hunter2"].map(String::from).to_vec();
        let e = s.parse_row(&named).map(|_| ()).unwrap_err().to_string();
        assert!(!e.contains("hunter2") && e.contains("password"), "{e}");
    }

    #[test]
    fn rows_are_validated_with_named_columns() {
        let s = FeatureId::SmtpRoutes.schema();
        let ok = s
            .parse_row(&["Example.COM".into(), "mx1.example.com:25,10.0.0.2".into()])
            .unwrap();
        assert_eq!(ok.key(), "example.com");
        let err = s
            .parse_row(&["example.com".into(), "bad host!".into()])
            .unwrap_err();
        assert!(err.to_string().contains("<destinations>"), "{err}");
        let err = s.parse_row(&["example.com".into()]).unwrap_err();
        assert!(matches!(err, RowError::MissingValue { .. }));
        let l = FeatureId::Listeners
            .schema()
            .parse_row(&["In".into(), "Data1".into()])
            .unwrap();
        assert_eq!(l.cells()[2], "public");
    }
}
