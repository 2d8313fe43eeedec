//! `passwd <new-password>`: the user's own password, at once, in the user database the login host uses
//! (rules §3.8, §14.4). A guest changes it from any mode without the cluster-mode question.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Ctx, Family, Help};
use crate::event::{EventKind, Write};
use crate::features::{quote_if_needed, FeatureId, TypedRow, UserRow, MASK};
use crate::lexer::{ParseError, Words};
use crate::names::{password_policy, UserName};
use crate::roles::{ModeRule, Permission, Role};
use crate::store::Change;
use crate::verdict::{Asker, Plan, Rejection, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswdCmd {
    pub password: String,
}

impl Family for PasswdCmd {
    fn owns(word: &str) -> bool {
        word == "passwd"
    }

    fn words() -> Vec<&'static str> {
        vec!["passwd"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let password = w.word("the new password")?;
        w.done()?;
        Ok(PasswdCmd { password })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "passwd {}", quote_if_needed(&self.password))
    }

    fn word(&self) -> &'static str {
        "passwd"
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Immediate
    }

    fn permission(&self) -> Permission {
        Permission::OwnPassword
    }

    /// Guests change their password from any mode, without a question (rules §3.8).
    fn mode_rule(&self, role: Role) -> ModeRule {
        if role == Role::Guest {
            ModeRule::Any
        } else {
            crate::roles::mode_rule("passwd")
        }
    }

    fn redacted(&self) -> Self {
        PasswdCmd {
            password: MASK.into(),
        }
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        password_policy(&self.password).map_err(|reason| Rejection::PasswordPolicy { reason })?;
        let mode = ctx.login.user_db_mode();
        let gone = || Rejection::UserGone {
            user: ctx.user().clone(),
            host: ctx.host().clone(),
        };
        let users = ctx
            .login
            .config
            .get(&mode, FeatureId::Users)
            .map(|s| &s.value)
            .ok_or_else(gone)?;
        let mut me = users
            .typed::<UserRow>()
            .find(|u| &u.name == ctx.user())
            .ok_or_else(gone)?;
        me.password = self.password.clone();
        // On a member that is not connected, the change makes its user database the newest: on reconnect
        // it replaces the cluster's whole (rules §8.3), removing the users added there meanwhile.
        let mut warnings = Vec::new();
        if ctx.cluster().is_some() && !ctx.is_connected() {
            let mine: Vec<UserName> = users.typed::<UserRow>().map(|u| u.name).collect();
            let added: Vec<String> = ctx
                .members()
                .iter()
                .find(|m| &m.hostname != ctx.host() && ctx.connection(&m.hostname).is_connected())
                .map(|m| m.users())
                .unwrap_or_default()
                .into_iter()
                .filter(|u| !mine.contains(&u.name))
                .map(|u| u.name.to_string())
                .collect();
            if !added.is_empty() {
                warnings.push(format!(
                    "Warning: {} is disconnected: this change makes its user database newer than the cluster's, and when it reconnects it replaces the cluster's, removing the users added there meanwhile: {}.",
                    ctx.host(),
                    added.join(", ")
                ));
            }
        }
        Ok(Plan {
            warnings,
            events: vec![ctx.event(EventKind::Committed {
                host: ctx.host().clone(),
                user: ctx.user().clone(),
                writes: vec![Write {
                    mode,
                    feature: FeatureId::Users,
                    change: Change::Rows {
                        upsert: vec![me.to_row()],
                        delete: Vec::new(),
                    },
                }],
                structure: Vec::new(),
                comment: Some("passwd".into()),
            })],
            output: vec![format!("Password changed for {}.", ctx.user())],
            ..Plan::default()
        })
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Change your own password (cluster level, at once).",
            "passwd <new-password>",
        ))
    }
}
