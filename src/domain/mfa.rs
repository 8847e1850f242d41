//! Who must sign in with a second factor, and what a sign-in whose password
//! was right still needs.

use super::reference::Role;

/// The roles that must have a second factor (`MLAT_MFA_REQUIRED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    required: Vec<Role>,
}

impl Default for MfaPolicy {
    /// Every role: no account reaches case data on a password alone.
    fn default() -> Self {
        MfaPolicy {
            required: Role::ALL.to_vec(),
        }
    }
}

impl MfaPolicy {
    /// Nobody is made to enrol (a factor once enrolled is still asked for).
    pub fn none() -> Self {
        MfaPolicy {
            required: Vec::new(),
        }
    }

    /// `none`, or roles separated by commas (`admin,provider`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "none" {
            return Ok(Self::none());
        }
        let mut required = Vec::new();
        for part in text.split(',').map(str::trim) {
            let role = Role::parse(part).map_err(|_| {
                format!(
                    "`{part}` is not a role: give `none` or some of {}, separated by commas",
                    Role::ALL
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if !required.contains(&role) {
                required.push(role);
            }
        }
        Ok(MfaPolicy { required })
    }

    pub fn requires(&self, role: Role) -> bool {
        self.required.contains(&role)
    }

    /// The setting's value that gives this policy.
    pub fn as_setting(&self) -> String {
        if self.required.is_empty() {
            return "none".into();
        }
        self.required
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Where an account's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    None,
    /// Enrolment begun, not yet confirmed by a first code.
    Pending,
    Confirmed,
}

/// What a sign-in with the right password still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// A code from the enrolled factor (or a recovery code).
    Code,
    /// The account must have a factor and has none: it can only enrol.
    Enrol,
}

impl Need {
    /// As stored with a challenge.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::Nothing => "nothing",
            Need::Code => "code",
            Need::Enrol => "enrol",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Need::Nothing, Need::Code, Need::Enrol]
            .into_iter()
            .find(|n| n.as_str() == text)
    }
}

/// A factor once confirmed is always asked for, whatever the policy; an
/// account the policy covers and that has none must enrol first.
pub fn need(policy: &MfaPolicy, role: Role, factor: Factor) -> Need {
    match factor {
        Factor::Confirmed => Need::Code,
        Factor::None | Factor::Pending if policy.requires(role) => Need::Enrol,
        Factor::None | Factor::Pending => Need::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_needs_a_factor_by_default() {
        let policy = MfaPolicy::default();
        for role in Role::ALL {
            assert_eq!(need(&policy, *role, Factor::None), Need::Enrol, "{role}");
            assert_eq!(need(&policy, *role, Factor::Pending), Need::Enrol, "{role}");
            assert_eq!(
                need(&policy, *role, Factor::Confirmed),
                Need::Code,
                "{role}"
            );
        }
    }

    #[test]
    fn a_confirmed_factor_is_asked_for_even_where_the_policy_does_not_require_one() {
        let policy = MfaPolicy::none();
        assert_eq!(need(&policy, Role::Provider, Factor::None), Need::Nothing);
        assert_eq!(
            need(&policy, Role::Provider, Factor::Pending),
            Need::Nothing
        );
        assert_eq!(need(&policy, Role::Provider, Factor::Confirmed), Need::Code);
    }

    #[test]
    fn the_setting_names_roles_or_none() {
        let policy = MfaPolicy::parse(" admin , provider,admin").unwrap();
        assert!(policy.requires(Role::Admin) && policy.requires(Role::Provider));
        assert!(!policy.requires(Role::LiaisonOfficer));
        assert_eq!(policy.as_setting(), "admin,provider");
        assert_eq!(MfaPolicy::parse("none").unwrap(), MfaPolicy::none());
        assert_eq!(
            MfaPolicy::parse(&MfaPolicy::default().as_setting()).unwrap(),
            MfaPolicy::default()
        );
        let refused = MfaPolicy::parse("admin,officer").unwrap_err();
        assert!(refused.contains("`officer` is not a role"), "{refused}");
        assert!(MfaPolicy::parse("").is_err());
    }

    #[test]
    fn a_need_reads_back_as_stored() {
        for need in [Need::Nothing, Need::Code, Need::Enrol] {
            assert_eq!(Need::parse(need.as_str()), Some(need));
        }
        assert_eq!(Need::parse("required"), None);
    }
}
