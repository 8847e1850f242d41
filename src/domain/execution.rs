//! Domestic execution: the central authority an incoming request is addressed
//! to passes it on to a provider of its own jurisdiction as an order of its
//! own, a linked request on the `domestic-execution` basis with its own
//! clocks. The provider answers the central authority; the issuing side reads
//! those answers on the incoming request, never the central authority's own
//! notes or case. Pure rules: `service::execution` does the reading and
//! writing.

use super::reference::{OrganisationKind, Role};
use super::workflow::{Relations, Status};

/// The catalogue entry of every domestic order.
pub const BASIS: &str = "domestic-execution";

/// States of the incoming request in which its executing authority may still
/// order a provider: received and not yet answered or closed. A preserved
/// request may need a second provider or a renewal.
pub const ORDERABLE: [Status; 3] = [Status::Transmitted, Status::Acknowledged, Status::Preserved];

/// States of an order in which the provider still owes an answer or holds
/// data for it: a second order to the same provider then is a duplicate.
pub const OPEN: [Status; 4] = [
    Status::Transmitted,
    Status::Acknowledged,
    Status::ClarificationRequested,
    Status::Preserved,
];

/// The provider an order is to go to, as the rules look at it.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub kind: OrganisationKind,
    pub jurisdiction: &'a str,
    pub name: &'a str,
}

/// Why an order may not be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// 403: the caller sees the incoming request but does not execute it.
    Forbidden(String),
    /// 409: the incoming request is not open for it, or the provider already
    /// holds an open order for it.
    Conflict(String),
    /// 422 on `responder_id`.
    Addressee(String),
}

/// Whether the caller may order `addressee` to execute an incoming request
/// that is `status` and addressed to an authority of `executing_jurisdiction`;
/// `open_order` is the reference of an order to the same provider still open.
pub fn may_order(
    role: Role,
    relations: Relations,
    status: Status,
    executing_jurisdiction: &str,
    addressee: Option<Addressee<'_>>,
    open_order: Option<&str>,
) -> Result<(), Refused> {
    if role != Role::CentralAuthority || !relations.responder {
        return Err(Refused::Forbidden(
            "only the central authority the request is addressed to orders a provider of its \
             jurisdiction to execute it"
                .into(),
        ));
    }
    if !ORDERABLE.contains(&status) {
        return Err(Refused::Conflict(format!(
            "a request is passed to a provider while it is transmitted, acknowledged or \
             preserved; this one is {status}"
        )));
    }
    let Some(addressee) = addressee.filter(|a| a.kind == OrganisationKind::Provider) else {
        return Err(Refused::Addressee("name a service provider".into()));
    };
    if addressee.jurisdiction != executing_jurisdiction {
        return Err(Refused::Addressee(format!(
            "{} is in {}: a domestic order goes to a provider in {executing_jurisdiction}; a \
             provider elsewhere is for the issuing side to reach (report the data as moved)",
            addressee.name, addressee.jurisdiction
        )));
    }
    if let Some(reference) = open_order {
        return Err(Refused::Conflict(format!(
            "{} already holds order {reference} for this request, still open",
            addressee.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: Addressee = Addressee {
        kind: OrganisationKind::Provider,
        jurisdiction: "DE",
        name: "Mailbox GmbH",
    };

    fn responder() -> Relations {
        Relations {
            responder: true,
            ..Default::default()
        }
    }

    #[test]
    fn only_the_executing_central_authority_orders_a_provider_of_its_own_jurisdiction() {
        let ok = |role, relations| {
            may_order(
                role,
                relations,
                Status::Acknowledged,
                "DE",
                Some(PROVIDER),
                None,
            )
        };
        assert_eq!(ok(Role::CentralAuthority, responder()), Ok(()));
        assert!(matches!(
            ok(Role::Provider, responder()),
            Err(Refused::Forbidden(_))
        ));
        let issuing_ca = Relations {
            approver: true,
            ..Default::default()
        };
        assert!(matches!(
            ok(Role::CentralAuthority, issuing_ca),
            Err(Refused::Forbidden(_))
        ));
        let abroad = Addressee {
            jurisdiction: "FR",
            ..PROVIDER
        };
        let refused = may_order(
            Role::CentralAuthority,
            responder(),
            Status::Transmitted,
            "DE",
            Some(abroad),
            None,
        );
        assert!(matches!(refused, Err(Refused::Addressee(m)) if m.contains("is in FR")));
        let agency = Addressee {
            kind: OrganisationKind::Agency,
            ..PROVIDER
        };
        for addressee in [Some(agency), None] {
            assert!(matches!(
                may_order(
                    Role::CentralAuthority,
                    responder(),
                    Status::Transmitted,
                    "DE",
                    addressee,
                    None
                ),
                Err(Refused::Addressee(_))
            ));
        }
    }

    #[test]
    fn an_order_needs_an_open_request_and_no_open_order_to_the_same_provider() {
        for status in Status::ALL {
            let result = may_order(
                Role::CentralAuthority,
                responder(),
                *status,
                "DE",
                Some(PROVIDER),
                None,
            );
            assert_eq!(result.is_ok(), ORDERABLE.contains(status), "{status}");
        }
        let twice = may_order(
            Role::CentralAuthority,
            responder(),
            Status::Preserved,
            "DE",
            Some(PROVIDER),
            Some("R-1"),
        );
        assert!(matches!(twice, Err(Refused::Conflict(m)) if m.contains("R-1")));
    }
}
