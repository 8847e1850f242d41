//! Who runs whose accounts. The platform administrator sets up organisations
//! and their first administrator; from then on an organisation runs its own
//! people: its administrators (a right of some of its members) invite them,
//! change their roles, deactivate and reset them, and nobody outside does the
//! first two. Deactivating and sending a reset link stay open to the platform
//! administrator everywhere: neither gives anyone a way into the account (a
//! link goes to the holder's own address).

use super::reference::Role;

/// Someone acting on accounts.
#[derive(Debug, Clone, Copy)]
pub struct Steward<'a> {
    pub role: Role,
    pub organisation_id: Option<&'a str>,
    pub org_admin: bool,
}

/// What is done to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAct {
    /// A new account (an invitation).
    Invite,
    /// Its role, organisation or administrator's right.
    ChangePlace,
    Rename,
    Deactivate,
    /// Sending its holder a reset link.
    Reset,
}

/// Why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The steward may not see the account (another organisation's): 404.
    Unseen,
    /// The steward sees it but may not do this: 403, saying why.
    Forbidden(String),
}

/// Whose accounts a steward sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    All,
    Organisation(&'a str),
    Nothing,
}

impl<'a> Steward<'a> {
    fn org_admin_of_own(&self) -> bool {
        self.org_admin && self.organisation_id.is_some()
    }

    /// Whether the steward manages accounts at all.
    pub fn manages_accounts(&self) -> bool {
        self.role == Role::Admin || self.org_admin_of_own()
    }

    /// Whose accounts the steward sees: every one (the platform
    /// administrator), its organisation's (its administrator), or none.
    pub fn scope(&self) -> Scope<'a> {
        match (self.role, self.organisation_id) {
            (Role::Admin, _) => Scope::All,
            (_, Some(organisation)) if self.org_admin => Scope::Organisation(organisation),
            _ => Scope::Nothing,
        }
    }
}

/// May `steward` do `act` to an account of `organisation` (`None`: an
/// account with no organisation, the platform's own), given whether that
/// organisation has an active administrator?
pub fn may(
    steward: Steward<'_>,
    act: AccountAct,
    organisation: Option<&str>,
    organisation_has_admin: bool,
) -> Result<(), Refusal> {
    let own = organisation.is_some() && organisation == steward.organisation_id;
    if steward.org_admin_of_own() && own {
        return Ok(());
    }
    if steward.role != Role::Admin {
        return Err(if steward.org_admin_of_own() {
            Refusal::Unseen
        } else {
            Refusal::Forbidden(
                "only an administrator runs accounts: ask your organisation's administrator".into(),
            )
        });
    }
    match act {
        AccountAct::Rename | AccountAct::Deactivate | AccountAct::Reset => Ok(()),
        AccountAct::Invite | AccountAct::ChangePlace if organisation.is_some() && organisation_has_admin => {
            Err(Refusal::Forbidden(
                "this organisation runs its own accounts: its administrator invites its people and changes their roles".into(),
            ))
        }
        AccountAct::Invite | AccountAct::ChangePlace => Ok(()),
    }
}

/// How an invitation goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationRoute {
    /// The account is made and its holder invited at once.
    Direct,
    /// The platform administrator asks, and one of the organisation's
    /// administrators approves or declines: until then no account exists.
    ThroughApproval,
}

/// How `steward` may bring a new person into `organisation`: where an
/// organisation runs its own people, the platform administrator only
/// proposes them.
pub fn invitation_route(
    steward: Steward<'_>,
    organisation: Option<&str>,
    organisation_has_admin: bool,
) -> Result<InvitationRoute, Refusal> {
    match may(
        steward,
        AccountAct::Invite,
        organisation,
        organisation_has_admin,
    ) {
        Ok(()) => Ok(InvitationRoute::Direct),
        Err(Refusal::Forbidden(_))
            if steward.role == Role::Admin && organisation.is_some() && organisation_has_admin =>
        {
            Ok(InvitationRoute::ThroughApproval)
        }
        Err(refusal) => Err(refusal),
    }
}

/// What is done to a proposed account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalAct {
    Approve,
    Decline,
    /// Taken back by whoever proposed it.
    Withdraw,
}

/// May `steward` do `act` to an account proposed for `organisation` by
/// `proposed_by`? Approving and declining are the organisation's own
/// administrators' alone: whoever asked does not answer their own request.
pub fn may_decide(
    steward: Steward<'_>,
    steward_id: &str,
    act: ProposalAct,
    organisation: &str,
    proposed_by: &str,
) -> Result<(), Refusal> {
    let own = steward.org_admin_of_own() && steward.organisation_id == Some(organisation);
    match act {
        ProposalAct::Approve | ProposalAct::Decline if own => Ok(()),
        ProposalAct::Withdraw if steward_id == proposed_by => Ok(()),
        _ if own || steward.role == Role::Admin => Err(Refusal::Forbidden(match act {
            ProposalAct::Withdraw => {
                "only whoever proposed an account withdraws it: decline it instead".into()
            }
            _ => {
                "the organisation's administrators approve or decline the accounts proposed to them"
                    .into()
            }
        })),
        _ => Err(Refusal::Unseen),
    }
}

/// Whether `steward` may give an account `role`: administrators' accounts
/// (the platform's powers) are the platform administrator's to make, never
/// an organisation's administrator's, whatever organisation they sit in.
pub fn may_give_role(steward: Steward<'_>, role: Role) -> Result<(), Refusal> {
    if role == Role::Admin && steward.role != Role::Admin {
        return Err(Refusal::Forbidden(
            "only the platform administrator makes administrators".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLATFORM: Steward<'static> = Steward {
        role: Role::Admin,
        organisation_id: None,
        org_admin: false,
    };
    const HOST_ADMIN: Steward<'static> = Steward {
        role: Role::Provider,
        organisation_id: Some("host"),
        org_admin: true,
    };
    const HOST_STAFF: Steward<'static> = Steward {
        role: Role::Provider,
        organisation_id: Some("host"),
        org_admin: false,
    };
    const ALL: [AccountAct; 5] = [
        AccountAct::Invite,
        AccountAct::ChangePlace,
        AccountAct::Rename,
        AccountAct::Deactivate,
        AccountAct::Reset,
    ];

    #[test]
    fn an_organisations_administrator_runs_its_accounts_and_sees_no_others() {
        for act in ALL {
            assert_eq!(may(HOST_ADMIN, act, Some("host"), true), Ok(()), "{act:?}");
            assert_eq!(
                may(HOST_ADMIN, act, Some("agency"), false),
                Err(Refusal::Unseen)
            );
            assert_eq!(may(HOST_ADMIN, act, None, false), Err(Refusal::Unseen));
        }
        assert_eq!(HOST_ADMIN.scope(), Scope::Organisation("host"));
    }

    #[test]
    fn the_platform_administrator_no_longer_adds_people_where_an_organisation_runs_its_own() {
        for act in [AccountAct::Invite, AccountAct::ChangePlace] {
            assert!(matches!(
                may(PLATFORM, act, Some("host"), true),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(
                may(PLATFORM, act, Some("host"), false),
                Ok(()),
                "the first administrator"
            );
            assert_eq!(may(PLATFORM, act, None, false), Ok(()));
        }
        for act in [
            AccountAct::Rename,
            AccountAct::Deactivate,
            AccountAct::Reset,
        ] {
            assert_eq!(may(PLATFORM, act, Some("host"), true), Ok(()), "{act:?}");
        }
        assert_eq!(PLATFORM.scope(), Scope::All);
    }

    #[test]
    fn the_platform_administrator_proposes_where_an_organisation_runs_its_own() {
        assert_eq!(
            invitation_route(PLATFORM, Some("host"), true),
            Ok(InvitationRoute::ThroughApproval)
        );
        assert_eq!(
            invitation_route(PLATFORM, Some("host"), false),
            Ok(InvitationRoute::Direct)
        );
        assert_eq!(
            invitation_route(PLATFORM, None, false),
            Ok(InvitationRoute::Direct)
        );
        assert_eq!(
            invitation_route(HOST_ADMIN, Some("host"), true),
            Ok(InvitationRoute::Direct)
        );
        assert_eq!(
            invitation_route(HOST_ADMIN, Some("agency"), true),
            Err(Refusal::Unseen)
        );
        assert!(matches!(
            invitation_route(HOST_STAFF, Some("host"), true),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn only_the_organisations_administrators_decide_a_proposal_and_only_its_author_withdraws_it() {
        for act in [ProposalAct::Approve, ProposalAct::Decline] {
            assert_eq!(may_decide(HOST_ADMIN, "a", act, "host", "p"), Ok(()));
            assert!(matches!(
                may_decide(PLATFORM, "p", act, "host", "p"),
                Err(Refusal::Forbidden(_))
            ));
            assert_eq!(
                may_decide(HOST_ADMIN, "a", act, "agency", "p"),
                Err(Refusal::Unseen)
            );
            assert_eq!(
                may_decide(HOST_STAFF, "s", act, "host", "p"),
                Err(Refusal::Unseen)
            );
        }
        assert_eq!(
            may_decide(PLATFORM, "p", ProposalAct::Withdraw, "host", "p"),
            Ok(())
        );
        assert!(matches!(
            may_decide(PLATFORM, "q", ProposalAct::Withdraw, "host", "p"),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            may_decide(HOST_ADMIN, "a", ProposalAct::Withdraw, "host", "p"),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn only_the_platform_administrator_makes_administrators() {
        assert!(matches!(
            may_give_role(HOST_ADMIN, Role::Admin),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(may_give_role(HOST_ADMIN, Role::Provider), Ok(()));
        assert_eq!(may_give_role(PLATFORM, Role::Admin), Ok(()));
    }

    #[test]
    fn other_people_run_no_accounts() {
        for act in ALL {
            assert!(matches!(
                may(HOST_STAFF, act, Some("host"), true),
                Err(Refusal::Forbidden(_))
            ));
        }
        assert!(!HOST_STAFF.manages_accounts());
        assert_eq!(HOST_STAFF.scope(), Scope::Nothing);
    }
}
