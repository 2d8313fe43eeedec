//! Per-feature configuration commands — `smtproutes`, `listenerconfig`, `userconfig`, `setgateway`, … one
//! per feature of the catalogue (rules §3.8, §3.9, §5.2, §10.3, §14.5). Edits are staged until `commit`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::features::{quote_if_needed as q, ColumnKind, FeatureId, Shape, CATALOGUE, MASK};
use crate::lexer::{ParseError, Words};
use crate::mode::Mode;
use crate::roles::{ModeRule, Permission, Role};
use crate::session::{Pending, StagedEdit, Touched};
use crate::store::{inherited, resolve, Definitions};
use crate::verdict::{gui_commit_hint, gui_place, Asker, Choice, Numbered, Plan, Rejection, Stop};

/// What a feature command does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", content = "cells", rename_all = "snake_case")]
pub enum FeatureAction {
    Print,
    /// Adds a row (table features).
    New(Vec<String>),
    /// Replaces the row with the same key (table features).
    Edit(Vec<String>),
    /// Removes the row with this key (table features).
    Delete(String),
    /// Sets the one row (single-row features, e.g. `setgateway 10.0.0.1`).
    Set(Vec<String>),
}

/// `<feature> [print | new ... | edit ... | delete <key>]`, or `<feature> <value>` for a single-row one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureCmd {
    pub feature: FeatureId,
    pub action: FeatureAction,
}

fn port_number(s: &str) -> Result<String, String> {
    match s.parse::<u32>() {
        Ok(1..=65535) => Ok(s.to_string()),
        _ => Err("a port is a number from 1 to 65535".into()),
    }
}

/// What an `interfaceconfig edit` cell holds when the line does not name the service: keep the current
/// value (rules §3.13, §14.7.7). A `new` leaves an unnamed service off ("0").
const KEEP: &str = "";

/// `interfaceconfig new|edit <name> <ip> [ssh[=<port>|=off]] [ccs[=<port>|=off]]` (rules §14.5, §14.7.7).
fn interface_row(w: &mut Words, edit: bool) -> Result<Vec<String>, ParseError> {
    let name = w.word("an interface name")?;
    let ip = w.word("an IP address")?;
    let omitted = if edit { KEEP } else { "0" };
    let mut ssh = omitted.to_string();
    let mut ccs = omitted.to_string();
    while let Some(t) = w.peek() {
        let lower = t.text.to_ascii_lowercase();
        let (key, value) = match lower.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (lower.clone(), None),
        };
        let column = t.column;
        let slot = match key.as_str() {
            "ssh" => &mut ssh,
            "ccs" => &mut ccs,
            _ => return Err(w.err("ssh[=<port>] or ccs[=<port>]")),
        };
        *slot = match value {
            None if key == "ssh" => "22".into(),
            None => "2222".into(),
            Some(v) if v == "off" => "0".into(),
            Some(v) => port_number(&v).map_err(|reason| ParseError {
                column,
                expected: format!("{key}=<port> or {key}=off"),
                found: format!("\"{}\" ({reason})", t.text),
            })?,
        };
        w.advance();
    }
    Ok(vec![name, ip, ssh, ccs])
}

/// The `interfaceconfig` row in its one-line form: for `new` an unnamed service is off; for `edit` it is
/// kept, and off is written `=off`.
fn interface_cells(row: &[String], edit: bool) -> String {
    let mut out = format!(
        "{} {}",
        q(row.first().map(String::as_str).unwrap_or("")),
        q(row.get(1).map(String::as_str).unwrap_or(""))
    );
    for (i, word, default) in [(2, "ssh", "22"), (3, "ccs", "2222")] {
        match row.get(i).map(String::as_str) {
            None | Some(KEEP) => {}
            Some("0") if !edit => {}
            Some("0") => out.push_str(&format!(" {word}=off")),
            Some(p) if p == default => out.push_str(&format!(" {word}")),
            Some(p) => out.push_str(&format!(" {word}={p}")),
        }
    }
    out
}

/// An `interfaceconfig edit` row with every service the line did not name taken from `current`
/// (rules §14.7.7).
fn keep_services(cells: &[String], current: &crate::features::Row) -> Vec<String> {
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i >= 2 && c == KEEP {
                current.cell(i).to_string()
            } else {
                c.clone()
            }
        })
        .collect()
}

fn cells(cells: &[String]) -> String {
    cells.iter().map(|c| q(c)).collect::<Vec<_>>().join(" ")
}

impl Family for FeatureCmd {
    fn owns(word: &str) -> bool {
        FeatureId::from_command(word).is_some()
    }

    fn words() -> Vec<&'static str> {
        CATALOGUE.iter().map(|s| s.command).collect()
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let feature = FeatureId::from_command(word).ok_or_else(|| w.err("a feature command"))?;
        let schema = feature.schema();
        let action = if schema.shape == Shape::Single {
            if w.is_empty() || w.keyword(&["print"]).is_some() {
                FeatureAction::Print
            } else {
                FeatureAction::Set(w.rest())
            }
        } else {
            let actions: &[&str] = if feature == FeatureId::Users {
                &["print", "list", "new", "edit", "delete"]
            } else {
                &["print", "new", "edit", "delete"]
            };
            if w.is_empty() {
                FeatureAction::Print
            } else {
                match w.expect_keyword(actions)?.as_str() {
                    "print" | "list" => FeatureAction::Print,
                    "new" if feature == FeatureId::IpInterfaces => {
                        FeatureAction::New(interface_row(w, false)?)
                    }
                    "edit" if feature == FeatureId::IpInterfaces => {
                        FeatureAction::Edit(interface_row(w, true)?)
                    }
                    verb @ ("new" | "edit") => {
                        let cells = w.rest();
                        if cells.is_empty() {
                            return Err(w.err(format!("the row: {}", schema.row_syntax())));
                        }
                        if verb == "new" {
                            FeatureAction::New(cells)
                        } else {
                            FeatureAction::Edit(cells)
                        }
                    }
                    _ => {
                        FeatureAction::Delete(w.word(&format!("the <{}> to delete", schema.columns[0].name))?)
                    }
                }
            }
        };
        w.done()?;
        Ok(FeatureCmd { feature, action })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cmd = self.feature.command();
        let is_interface = self.feature == FeatureId::IpInterfaces;
        match &self.action {
            FeatureAction::Print => write!(f, "{cmd} print"),
            FeatureAction::New(c) if is_interface => write!(f, "{cmd} new {}", interface_cells(c, false)),
            FeatureAction::Edit(c) if is_interface => write!(f, "{cmd} edit {}", interface_cells(c, true)),
            FeatureAction::New(c) => write!(f, "{cmd} new {}", cells(c)),
            FeatureAction::Edit(c) => write!(f, "{cmd} edit {}", cells(c)),
            FeatureAction::Delete(k) => write!(f, "{cmd} delete {}", q(k)),
            // A first cell that reads as the `print` keyword is quoted so it stays a value.
            FeatureAction::Set(c) if c.first().is_some_and(|x| x.eq_ignore_ascii_case("print")) => {
                write!(f, "{cmd} \"{}\"", c[0])?;
                for x in &c[1..] {
                    write!(f, " {}", q(x))?;
                }
                Ok(())
            }
            FeatureAction::Set(c) => write!(f, "{cmd} {}", cells(c)),
        }
    }

    fn word(&self) -> &'static str {
        self.feature.command()
    }

    fn kind(&self) -> CommandKind {
        match self.action {
            FeatureAction::Print => CommandKind::Read,
            _ => CommandKind::Stage,
        }
    }

    fn permission(&self) -> Permission {
        match (self.feature, &self.action) {
            (_, FeatureAction::Print) => Permission::ReadConfig,
            (FeatureId::Users, _) => Permission::Admin,
            _ => Permission::Stage,
        }
    }

    fn mode_rule(&self, _role: Role) -> ModeRule {
        crate::roles::mode_rule(self.feature.command())
    }

    fn redacted(&self) -> Self {
        let mut c = self.clone();
        if let FeatureAction::New(cells) | FeatureAction::Edit(cells) | FeatureAction::Set(cells) =
            &mut c.action
        {
            for (i, column) in self.feature.schema().columns.iter().enumerate() {
                if column.kind == ColumnKind::Secret {
                    if let Some(cell) = cells.get_mut(i) {
                        *cell = MASK.into();
                    }
                }
            }
        }
        c
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        check(ctx, self.feature, &self.action, asker)
    }

    fn help(word: &str) -> Option<Help> {
        let s = FeatureId::from_command(word)?.schema();
        let mut usage = vec![format!("Levels: {}. GUI: {}.", s.levels.describe(), s.gui_page)];
        match s.shape {
            Shape::Table => {
                usage.push(format!("{word} [print]"));
                usage.push(format!("{word} new {}", s.row_syntax()));
                usage.push(format!("{word} edit {}", s.row_syntax()));
                usage.push(format!("{word} delete <{}>", s.columns[0].name));
            }
            Shape::Single => {
                usage.push(format!("{word} [print]"));
                usage.push(format!("{word} {}", s.row_syntax()));
            }
        }
        Some(Help {
            synopsis: s.synopsis,
            usage,
        })
    }

    fn complete(word: &str, done: &[&str], _c: &Completion) -> Vec<String> {
        let table = FeatureId::from_command(word).is_some_and(|f| f.schema().shape == Shape::Table);
        if done.is_empty() && table {
            vec!["print".into(), "new".into(), "edit".into(), "delete".into()]
        } else {
            Vec::new()
        }
    }
}

fn print(ctx: &Ctx, feature: FeatureId, mode: &Mode) -> Vec<String> {
    let schema = feature.schema();
    let mut out = Vec::new();
    let value = if ctx.cluster().is_none() {
        out.push("Defined at standalone".to_string());
        ctx.view
            .defined(mode, feature)
            .cloned()
            .unwrap_or_else(|| schema.default_value())
    } else {
        let group = match mode {
            Mode::Machine(h) => ctx.fleet.group_of(h),
            _ => None,
        };
        let resolved = resolve(&ctx.view, mode, group, feature);
        if ctx.view.defined(mode, feature).is_some() {
            out.push(format!("Defined at {mode}"));
        } else {
            out.push(format!("Inherited from {}", resolved.source));
        }
        resolved.value_or_default(feature)
    };
    if value.rows.is_empty() {
        out.push("(no entries)".to_string());
    }
    for row in &value.rows {
        out.push(schema.render_row(row));
    }
    out
}

fn check(ctx: &Ctx, feature: FeatureId, action: &FeatureAction, asker: &mut Asker) -> Result<Plan, Stop> {
    let schema = feature.schema();
    let mode = ctx.edit_mode();
    if ctx.cluster().is_some() {
        if !schema.levels.allows(mode.level()) {
            return Err(Rejection::LevelNotAllowed {
                feature,
                level: mode.level(),
                levels: schema.levels.describe(),
            }
            .into());
        }
        ctx.may_configure(&mode, feature.command())?;
    }
    if let FeatureAction::Print = action {
        return Ok(Plan::output(print(ctx, feature, &mode)));
    }
    // Every check that does not depend on the answer runs before the question.
    let row = match action {
        FeatureAction::New(cells) | FeatureAction::Edit(cells) | FeatureAction::Set(cells) => {
            // A kept service is checked once the current row is known; until then it reads as off.
            let cells: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i >= 2 && c == KEEP && feature == FeatureId::IpInterfaces {
                        "0".into()
                    } else {
                        c.clone()
                    }
                })
                .collect();
            Some(schema.parse_row(&cells)?)
        }
        _ => None,
    };
    if let (FeatureAction::Set(_), Some(row)) = (action, &row) {
        if schema.shape != Shape::Single {
            return Err(Rejection::TableFeature { feature }.into());
        }
        if feature == FeatureId::Hostname {
            let host = match &mode {
                Mode::Machine(h) => h.clone(),
                _ => ctx.host().clone(),
            };
            if row.key() != host.as_str() {
                return Err(Rejection::HostnameChange { host }.into());
            }
        }
    } else if schema.shape == Shape::Single {
        return Err(Rejection::SingleValueFeature {
            feature,
            syntax: schema.row_syntax(),
        }
        .into());
    }
    if let FeatureAction::Delete(key) = action {
        if feature == FeatureId::Users && key == "admin" {
            return Err(Rejection::AdminIsPermanent.into());
        }
    }
    let defined = ctx.view.defined(&mode, feature).is_some();
    let mut value = match ctx.view.defined(&mode, feature) {
        Some(v) => v.clone(),
        None => {
            let group = match &mode {
                Mode::Machine(h) => ctx.fleet.group_of(h),
                _ => None,
            };
            let from = inherited(&ctx.view, &mode, group, feature);
            let source = &from.source;
            let (title, here, there) = (schema.title, gui_place(&mode), gui_place(source));
            let question = Numbered {
                question: format!(
                    "{feature} is not defined at {mode}; it inherits from {source}.\n\
                     1. Start with the default settings\n\
                     2. Start with a copy of the settings inherited from {source}\n[2]>"
                ),
                default: 2,
                title: format!("Define {title} at {here}?"),
                body: vec![
                    format!("{title} is not defined at {here}: it uses the settings of {there}."),
                    format!("Your change gives {here} a definition of its own; choose what it starts from."),
                ],
                options: vec![
                    Choice::acts("Start from the default settings"),
                    Choice::acts(format!("Start from a copy of the settings of {there}")),
                ],
            };
            match asker.choose(question)? {
                1 => schema.default_value(),
                _ => from.value_or_default(feature),
            }
        }
    };
    // The row this command touches, as it is before it (for the merge at commit, rules §14.7.5).
    let key = match (action, &row) {
        (FeatureAction::Delete(k), _) => Some(k.clone()),
        (_, Some(r)) => Some(r.key().to_string()),
        _ => None,
    };
    let before_row = key.as_deref().and_then(|k| value.row(k).cloned());
    let summary = match (action, row) {
        (FeatureAction::New(_), Some(row)) => {
            if value.row(row.key()).is_some() {
                return Err(Rejection::KeyExists {
                    feature,
                    mode,
                    key: row.key().to_string(),
                }
                .into());
            }
            if value.rows.len() >= schema.max_rows {
                return Err(Rejection::TooManyRows {
                    feature,
                    mode,
                    max: schema.max_rows,
                }
                .into());
            }
            let s = format!("added {}", schema.render_row(&row));
            value.rows.push(row);
            s
        }
        (FeatureAction::Edit(cells), Some(row)) => {
            let Some(slot) = value.rows.iter_mut().find(|r| r.key() == row.key()) else {
                return Err(Rejection::KeyMissing {
                    feature,
                    mode,
                    key: row.key().to_string(),
                }
                .into());
            };
            let row = if feature == FeatureId::IpInterfaces {
                schema.parse_row(&keep_services(cells, slot))?
            } else {
                row
            };
            let s = format!("changed {}", schema.render_row(&row));
            *slot = row;
            s
        }
        (FeatureAction::Delete(key), _) => {
            let before = value.rows.len();
            value.rows.retain(|r| r.key() != key);
            if value.rows.len() == before {
                return Err(Rejection::KeyMissing {
                    feature,
                    mode,
                    key: key.chars().take(80).collect(),
                }
                .into());
            }
            format!("deleted {key}")
        }
        (FeatureAction::Set(_), Some(row)) => {
            let s = format!("set to {}", schema.render_row(&row));
            value.rows = vec![row];
            s
        }
        _ => String::new(),
    };
    let after = ctx.view.with(mode.clone(), feature, Some(value.clone()));
    let reach = super::reach(ctx, &ctx.view, &after, &[feature]);
    // A row change of a defined item is staged as that row's change; a new definition, or the one row of
    // a single-value feature, as the whole value.
    let after_row = key.as_deref().and_then(|k| value.row(k).cloned());
    let edit = match (defined, action, key) {
        (true, FeatureAction::New(_) | FeatureAction::Edit(_) | FeatureAction::Delete(_), Some(key)) => {
            StagedEdit::Rows {
                rows: vec![Touched {
                    key,
                    before: before_row.clone(),
                    after: after_row.clone(),
                }],
            }
        }
        _ => StagedEdit::Define { value },
    };
    let item = Pending::Edit {
        mode: mode.clone(),
        feature,
        edit,
        base: ctx.base_for(&mode, feature),
    };
    let where_ = if ctx.cluster().is_some() {
        mode.to_string()
    } else {
        "standalone".to_string()
    };
    let mut output = vec![format!(
        "Staged: {feature} at {where_}: {summary}. Run commit to apply it."
    )];
    // The console's words (rules §15.31): the feature's title, the mode as the page names it, and where
    // to commit.
    let gui_summary = if summary.is_empty() {
        String::new()
    } else {
        format!(": {summary}")
    };
    let mut gui = vec![format!(
        "Staged: {} at {}{gui_summary}. {}",
        feature.title(),
        ctx.gui_where(&mode),
        gui_commit_hint(1)
    )];
    // Turning CCS on comes with the advice of rules §3.13, §8.1.
    let ccs_on = |r: Option<&crate::features::Row>| r.is_some_and(|r| !matches!(r.cell(3), "" | "0"));
    if feature == FeatureId::IpInterfaces && ccs_on(after_row.as_ref()) && !ccs_on(before_row.as_ref()) {
        let note = "Note: CCS is only needed where port 22 is blocked between members; firewalls between members must then open its port.";
        output.push(note.into());
        gui.push(note.into());
    }
    Ok(Plan {
        session: ctx.stage(vec![item]),
        output,
        reach,
        gui,
        ..Plan::default()
    })
}
