//! `help` and `help <command>`: every command word has a synopsis and usage lines, owned by its family.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{command_words, help_of, CommandKind, Completion, Ctx, Family, Help};
use crate::features::quote_if_needed;
use crate::lexer::{ParseError, Words};
use crate::roles::{ModeRule, Permission, Role};
use crate::verdict::{Asker, Plan, Rejection, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HelpCmd {
    pub topic: Option<String>,
}

impl Family for HelpCmd {
    fn owns(word: &str) -> bool {
        word == "help"
    }

    fn words() -> Vec<&'static str> {
        vec!["help"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let topic = if w.is_empty() {
            None
        } else {
            Some(w.word("a command")?.to_ascii_lowercase())
        };
        w.done()?;
        Ok(HelpCmd { topic })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.topic {
            Some(t) => write!(f, "help {}", quote_if_needed(t)),
            None => f.write_str("help"),
        }
    }

    fn word(&self) -> &'static str {
        "help"
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Read
    }

    fn permission(&self) -> Permission {
        Permission::Read
    }

    fn mode_rule(&self, _role: Role) -> ModeRule {
        ModeRule::Any
    }

    fn allowed_while_upgrading(&self) -> bool {
        true
    }

    fn check(&self, _ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        match &self.topic {
            None => {
                let mut out = vec!["Commands (help <command> for details):".to_string()];
                for word in command_words() {
                    if let Some(help) = help_of(word) {
                        out.push(format!("  {word:<16} {}", help.synopsis));
                    }
                }
                Ok(Plan::output(out))
            }
            Some(word) => match help_of(word) {
                Some(help) => {
                    let mut out = vec![format!("{word}: {}", help.synopsis)];
                    out.extend(help.usage);
                    Ok(Plan::output(out))
                }
                None => Err(Rejection::NoHelp {
                    topic: word.chars().take(40).collect(),
                }
                .into()),
            },
        }
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new("List commands, or explain one.", "help [<command>]"))
    }

    fn complete(_word: &str, done: &[&str], _c: &Completion) -> Vec<String> {
        if done.is_empty() {
            command_words().into_iter().map(String::from).collect()
        } else {
            Vec::new()
        }
    }
}
