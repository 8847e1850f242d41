//! Who sees which request, and what a viewer is to it. The repository applies
//! the same rule as a query filter (`repo::requests::visible_to`); this is the
//! rule in plain words, tested on its own and against the query.

use super::reference::Role;
use super::workflow::Relations;

/// The signed-in person as the access rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    pub jurisdiction: Option<String>,
}

/// The fields of a request the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestAccess<'a> {
    pub agency_id: &'a str,
    pub created_by: &'a str,
    pub issuing_jurisdiction: &'a str,
    pub responder_id: &'a str,
    pub submitted: bool,
    pub transmitted: bool,
}

impl Viewer {
    fn in_org(&self, id: &str) -> bool {
        self.organisation_id.as_deref() == Some(id)
    }

    /// Officers see their own agency's requests; central authorities those issued
    /// in their jurisdiction once submitted (or transmitted as an emergency) and
    /// those addressed to them once transmitted; providers those addressed to
    /// them once transmitted; administrators none.
    pub fn can_see(&self, r: &RequestAccess<'_>) -> bool {
        match self.role {
            Role::Admin => false,
            Role::LiaisonOfficer => self.in_org(r.agency_id),
            Role::CentralAuthority => {
                (self.jurisdiction.as_deref() == Some(r.issuing_jurisdiction)
                    && (r.submitted || r.transmitted))
                    || (self.in_org(r.responder_id) && r.transmitted)
            }
            Role::Provider => self.in_org(r.responder_id) && r.transmitted,
        }
    }

    pub fn relations(&self, r: &RequestAccess<'_>) -> Relations {
        Relations {
            // A central authority issues requests of its own only as domestic
            // orders executing an incoming request: it stands where the
            // officer stands on those.
            creator: matches!(self.role, Role::LiaisonOfficer | Role::CentralAuthority)
                && self.in_org(r.agency_id),
            approver: self.role == Role::CentralAuthority
                && self.jurisdiction.as_deref() == Some(r.issuing_jurisdiction)
                && self.user_id != r.created_by,
            responder: matches!(self.role, Role::Provider | Role::CentralAuthority)
                && self.in_org(r.responder_id),
        }
    }

    /// Responders (providers, or a foreign central authority executing the
    /// request) see the request itself, never the case around it or the
    /// issuing side's internal notes.
    pub fn sees_case_content(&self, r: &RequestAccess<'_>) -> bool {
        match self.role {
            Role::LiaisonOfficer => self.in_org(r.agency_id),
            Role::CentralAuthority => self.jurisdiction.as_deref() == Some(r.issuing_jurisdiction),
            _ => false,
        }
    }
}

/// Events a responder does not see at all: links to the case's other requests,
/// and recomputations that list the issuing side's own clocks.
const ISSUING_SIDE_EVENTS: [&str; 2] = ["follow_up_filed", "deadlines_recomputed"];

/// Events the issuing side keeps to itself: responders see that they happened
/// (the status says so) but not what was written.
const INTERNAL_DETAILS: [&str; 2] = ["reject", "return"];

/// How one event of a request's trail reads for a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventView {
    Whole,
    /// That it happened, not what was written.
    WithoutDetails,
}

/// Which events of a request's trail (their actions, in order) a viewer
/// reads, and how, one answer per event (`None`: not shown). The issuing
/// side (`insider`, who sees the case content) reads all of it; a responder
/// reads from the transmission on, without the issuing side's internal
/// remarks or links to the case's other requests.
pub fn trail_view(actions: &[&str], insider: bool) -> Vec<Option<EventView>> {
    if insider {
        return vec![Some(EventView::Whole); actions.len()];
    }
    let start = actions
        .iter()
        .position(|a| *a == "transmit")
        .unwrap_or(actions.len());
    actions
        .iter()
        .enumerate()
        .map(|(i, action)| {
            if i < start || ISSUING_SIDE_EVENTS.contains(action) {
                None
            } else if INTERNAL_DETAILS.contains(action) {
                Some(EventView::WithoutDetails)
            } else {
                Some(EventView::Whole)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_responder_reads_the_trail_from_the_transmission_without_the_issuing_sides_remarks() {
        let trail = [
            "create",
            "submit",
            "return",
            "submit",
            "approve",
            "transmit",
            "acknowledge",
            "follow_up_filed",
            "deadlines_recomputed",
            "reject",
            "preserve",
        ];
        let issuing = trail_view(&trail, true);
        assert!(issuing.iter().all(|v| *v == Some(EventView::Whole)));
        let responder = trail_view(&trail, false);
        assert_eq!(
            responder,
            vec![
                None,
                None,
                None,
                None,
                None,
                Some(EventView::Whole),
                Some(EventView::Whole),
                None,
                None,
                Some(EventView::WithoutDetails),
                Some(EventView::Whole),
            ]
        );
        // Never transmitted: a responder reads nothing of it.
        assert!(
            trail_view(&["create", "submit"], false)
                .iter()
                .all(Option::is_none)
        );
    }

    fn viewer(role: Role, org: &str, jurisdiction: &str) -> Viewer {
        Viewer {
            user_id: format!("{org}-user"),
            role,
            organisation_id: Some(org.into()),
            jurisdiction: Some(jurisdiction.into()),
        }
    }

    fn request(submitted: bool, transmitted: bool) -> RequestAccess<'static> {
        RequestAccess {
            agency_id: "gb-police",
            created_by: "gb-police-user",
            issuing_jurisdiction: "GB",
            responder_id: "ie-provider",
            submitted,
            transmitted,
        }
    }

    #[test]
    fn officers_see_only_their_agency() {
        let own = viewer(Role::LiaisonOfficer, "gb-police", "GB");
        let other = viewer(Role::LiaisonOfficer, "gb-other-police", "GB");
        for (s, t) in [(false, false), (true, false), (true, true)] {
            assert!(own.can_see(&request(s, t)));
            assert!(!other.can_see(&request(s, t)));
        }
    }

    #[test]
    fn central_authorities_see_their_jurisdiction_from_submission() {
        let ca = viewer(Role::CentralAuthority, "gb-ca", "GB");
        assert!(!ca.can_see(&request(false, false)));
        assert!(ca.can_see(&request(true, false)));
        assert!(
            ca.can_see(&request(false, true)),
            "an emergency transmitted from draft"
        );
        let foreign = viewer(Role::CentralAuthority, "de-ca", "DE");
        assert!(!foreign.can_see(&request(true, true)));
        assert!(foreign.relations(&request(true, true)) == Relations::default());
    }

    #[test]
    fn providers_see_what_is_addressed_to_them_once_transmitted() {
        let provider = viewer(Role::Provider, "ie-provider", "IE");
        assert!(!provider.can_see(&request(true, false)));
        assert!(provider.can_see(&request(true, true)));
        assert!(!viewer(Role::Provider, "nl-provider", "NL").can_see(&request(true, true)));
        assert!(!provider.sees_case_content(&request(true, true)));
    }

    #[test]
    fn administrators_see_no_requests() {
        let admin = Viewer {
            user_id: "a".into(),
            role: Role::Admin,
            organisation_id: None,
            jurisdiction: None,
        };
        assert!(!admin.can_see(&request(true, true)));
    }

    #[test]
    fn relations_follow_roles() {
        let r = request(true, true);
        let officer = viewer(Role::LiaisonOfficer, "gb-police", "GB");
        assert!(officer.relations(&r).creator);
        let ca = viewer(Role::CentralAuthority, "gb-ca", "GB");
        assert!(ca.relations(&r).approver);
        assert!(!ca.relations(&r).creator);
        let provider = viewer(Role::Provider, "ie-provider", "IE");
        assert_eq!(
            provider.relations(&r),
            Relations {
                responder: true,
                ..Default::default()
            }
        );
        let executing_ca = viewer(Role::CentralAuthority, "ie-provider", "IE");
        assert!(executing_ca.relations(&r).responder);
        // A domestic order is issued by a central authority, which then
        // stands where an officer stands.
        let order = RequestAccess {
            agency_id: "gb-ca",
            ..r
        };
        assert!(ca.relations(&order).creator);
        assert!(!officer.relations(&order).creator);
    }
}
