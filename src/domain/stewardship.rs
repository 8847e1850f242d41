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
