//! How a tool is declared: the `declare_tools!` macro that `catalogue.rs` calls once, and the
//! types a declaration's parts are given and return. The macro writes the [`Tool`] enum and
//! every per-tool method as an exhaustive `match`, so a new tool is one new declaration and
//! nothing else in this crate needs a new arm: there is no arm to forget.
//!
//! [`Tool`]: super::Tool

use crate::okta::{OktaClient, OktaError, Reply, UserStatus};
use crate::secret::Secret;

/// What reading a person back (and, for group changes, their groups) showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub status: UserStatus,
    /// For group changes: whether the person is in the group. `None` when not read.
    pub member: Option<bool>,
}

/// What a read tool answers with; the agent's toolbox carries each out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A passage from the help documents.
    HelpDocs,
    /// The people a search finds.
    People,
    /// One Okta group, by name.
    Group,
    /// A person's apps.
    Apps,
    /// A person's groups.
    Groups,
    /// Why a person may not get in.
    Diagnosis,
}

/// One approved change, being carried out: the frozen Okta ids, and the request ids of every
/// Okta call made for it (kept even when a later call fails).
pub struct Change<'a> {
    pub okta: &'a OktaClient,
    /// The person's Okta id.
    pub user: &'a str,
    /// The group's Okta id, for group changes.
    pub group: Option<&'a str>,
    /// Whether Okta emails a reset link (or returns it for the approver).
    pub email_reset: bool,
    pub request_ids: Vec<String>,
}

impl Change<'_> {
    /// Keeps the reply's request id; returns its value.
    pub fn record<T>(&mut self, reply: Reply<T>) -> T {
        self.request_ids.extend(reply.request_id);
        reply.value
    }

    /// The group a group change is about; refused (nothing changed) when the proposal has none.
    pub fn group_id(&self) -> Result<&str, OktaError> {
        self.group.ok_or_else(|| {
            OktaError::Refused("the proposal has no group; nothing was changed".into())
        })
    }
}

/// What a change reports beyond its outcome.
#[derive(Debug, Default)]
pub struct Done {
    /// A reset link for the approver, when policy sends it to them (never stored or logged).
    pub reset_link: Option<Secret<String>>,
    /// A sentence added to the outcome (starts with a space).
    pub note: &'static str,
}

impl Done {
    pub fn with_note(note: &'static str) -> Done {
        Done {
            reset_link: None,
            note,
        }
    }
}

/// Declares every tool. Reads answer inside the agent loop; changes only ever run as approved
/// proposals. See `catalogue.rs` for what each field means.
macro_rules! declare_tools {
    (
        reads {
            $(
                $(#[doc = $read_doc:literal])*
                $Read:ident {
                    name: $read_name:literal,
                    verb: $read_verb:literal,
                    description: $read_description:literal,
                    args: $read_args:ty,
                    scopes: $read_scopes:expr,
                    answers: $answer:expr,
                    command: $read_command:literal,
                }
            )*
        }
        changes {
            $(
                $(#[doc = $change_doc:literal])*
                $Change:ident {
                    name: $change_name:literal,
                    verb: $change_verb:literal,
                    for_me: $for_me:literal,
                    word: $word:expr,
                    description: $change_description:literal,
                    risk: $risk:ident,
                    args: $change_args:ty,
                    scopes: $change_scopes:expr,
                    permissions: $permissions:expr,
                    inverse: $inverse:expr,
                    refuses: |$gate:ident| $refusal:expr,
                    reached: |$seen:ident| $reached:expr,
                    execute: |$change:ident| $execute:block,
                    command: $change_command:literal,
                }
            )*
        }
    ) => {
        /// Every tool, by its wire name (the same name in `tools/`, the policy file and the
        /// audit log).
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            schemars::JsonSchema,
        )]
        pub enum Tool {
            $( $(#[doc = $read_doc])* #[serde(rename = $read_name)] $Read, )*
            $( $(#[doc = $change_doc])* #[serde(rename = $change_name)] $Change, )*
        }

        impl Tool {
            /// Every tool: reads first, then changes, in declaration order.
            pub const ALL: [Tool; [$(Tool::$Read,)* $(Tool::$Change,)*].len()] =
                [$(Tool::$Read,)* $(Tool::$Change,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $( Tool::$Read => $read_name, )*
                    $( Tool::$Change => $change_name, )*
                }
            }

            /// A short verb phrase for cards and replies ("Unlock", "Add to group").
            pub fn verb(self) -> &'static str {
                match self {
                    $( Tool::$Read => $read_verb, )*
                    $( Tool::$Change => $change_verb, )*
                }
            }

            /// The self-service button's words ("Unlock my account").
            pub fn for_me(self) -> &'static str {
                match self {
                    $( Tool::$Read => $read_verb, )*
                    $( Tool::$Change => $for_me, )*
                }
            }

            /// What the model reads about the tool.
            pub fn description(self) -> &'static str {
                match self {
                    $( Tool::$Read => $read_description, )*
                    $( Tool::$Change => $change_description, )*
                }
            }

            pub fn risk(self) -> $crate::tools::Risk {
                match self {
                    $( Tool::$Read => $crate::tools::Risk::Read, )*
                    $( Tool::$Change => $crate::tools::Risk::$risk, )*
                }
            }

            /// The kind of subject the tool's calls have, from its argument struct.
            pub fn subject_kind(self) -> $crate::tools::SubjectKind {
                use $crate::tools::Arguments as _;
                match self {
                    $( Tool::$Read => <$read_args>::KIND, )*
                    $( Tool::$Change => <$change_args>::KIND, )*
                }
            }

            /// The strict JSON schema of the tool's argument struct.
            pub fn parameters(self) -> serde_json::Value {
                match self {
                    $( Tool::$Read => $crate::tools::strict_schema::<$read_args>(), )*
                    $( Tool::$Change => $crate::tools::strict_schema::<$change_args>(), )*
                }
            }

            /// Decodes a call's JSON arguments into the tool's argument struct, and checks
            /// them again: the schema is only a hint to the model.
            pub fn decode(
                self,
                arguments: &str,
            ) -> Result<$crate::tools::Call, $crate::tools::CallError> {
                use $crate::tools::Arguments as _;
                let subject = match self {
                    $( Tool::$Read => self.parse::<$read_args>(arguments)?.into_subject(), )*
                    $( Tool::$Change => self.parse::<$change_args>(arguments)?.into_subject(), )*
                };
                $crate::tools::Call::new(self, subject)
            }

            /// The OAuth scopes the service app needs for this tool: its own calls, plus what
            /// every change reads first (the person, their groups, their admin roles).
            pub fn scopes(self) -> &'static [&'static str] {
                match self {
                    $( Tool::$Read => $read_scopes, )*
                    $( Tool::$Change => $change_scopes, )*
                }
            }

            /// The permissions a custom Okta admin role needs for this tool (Okta's permission
            /// catalog), on top of [`BASE_PERMISSIONS`](crate::tools::BASE_PERMISSIONS).
            pub fn permissions(self) -> &'static [&'static str] {
                match self {
                    $( Tool::$Read => &[], )*
                    $( Tool::$Change => $permissions, )*
                }
            }

            /// The action that cleanly undoes this one, where there is one.
            pub fn inverse(self) -> Option<Tool> {
                match self {
                    $( Tool::$Read => None, )*
                    $( Tool::$Change => $inverse, )*
                }
            }

            /// The command engine's one word for the action (its canonical verb), where one
            /// word names it.
            pub fn word(self) -> Option<&'static str> {
                match self {
                    $( Tool::$Read => None, )*
                    $( Tool::$Change => $word, )*
                }
            }

            /// For reads: what they answer with.
            pub fn answers(self) -> Option<$crate::tools::Answer> {
                match self {
                    $( Tool::$Read => Some($answer), )*
                    $( Tool::$Change => None, )*
                }
            }

            /// Why Okta would refuse this change for a person in the observed state (a text
            /// with `{who}`, `{status}` and `{group}` to fill in); `None` when it applies.
            pub fn refusal(
                self,
                observed: &$crate::tools::Observed,
            ) -> Option<&'static str> {
                match self {
                    $( Tool::$Read => None, )*
                    $( Tool::$Change => {
                        let $gate = observed;
                        $refusal
                    } )*
                }
            }

            /// Whether reading back shows the change took effect; `None` when it cannot show it.
            pub fn reached(self, observed: &$crate::tools::Observed) -> Option<bool> {
                match self {
                    $( Tool::$Read => None, )*
                    $( Tool::$Change => {
                        let $seen = observed;
                        $reached
                    } )*
                }
            }

            /// Makes the change's Okta calls. Reads are never executed as proposals.
            pub async fn execute(
                self,
                change: &mut $crate::tools::Change<'_>,
            ) -> Result<$crate::tools::Done, $crate::okta::OktaError> {
                match self {
                    $( Tool::$Read => Err($crate::okta::OktaError::Refused(format!(
                        "{} is read-only and is never executed as a proposal",
                        $read_name
                    ))), )*
                    $( Tool::$Change => {
                        let $change = change;
                        $execute
                    } )*
                }
            }

            /// The canonical command, with `{user}` and `{group}` to fill in: what "Did you
            /// mean: …?" offers and what a "yes" parses back to exactly.
            pub fn command_template(self) -> &'static str {
                match self {
                    $( Tool::$Read => $read_command, )*
                    $( Tool::$Change => $change_command, )*
                }
            }
        }
    };
}
