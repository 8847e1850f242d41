//! The request state machine (DESIGN.md §3) as one table, with the rule of who
//! may take each action beside it. Pure: the caller works out the facts.

use serde::{Deserialize, Serialize};

use super::reference::RequestKind;

vocabulary!(
    Status {
        Draft = "draft",
        PendingApproval = "pending_approval",
        Approved = "approved",
        Rejected = "rejected",
        Transmitted = "transmitted",
        Acknowledged = "acknowledged",
        ClarificationRequested = "clarification_requested",
        Preserved = "preserved",
        Fulfilled = "fulfilled",
        Refused = "refused",
        Moved = "moved",
        Released = "released",
        Expired = "expired",
        Withdrawn = "withdrawn",
    }
);

vocabulary!(
    Action {
        Submit = "submit",
        Approve = "approve",
        Return = "return",
        Reject = "reject",
        Transmit = "transmit",
        Withdraw = "withdraw",
        Acknowledge = "acknowledge",
        Preserve = "preserve",
        RequestExtension = "request-extension",
        ConfirmExtension = "confirm-extension",
        AskClarification = "ask-clarification",
        AnswerClarification = "answer-clarification",
        Fulfil = "fulfil",
        Refuse = "refuse",
        ReportMoved = "report-moved",
        Release = "release",
        Decide = "decide",
        NotifyDelay = "notify-delay",
        ConfirmProduction = "confirm-production",
    }
);

/// Who may take an action, relative to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// A liaison officer of the agency that created the request.
    Creator,
    /// A central-authority user of the issuing jurisdiction who did not create it.
    Approver,
    /// A user of the responder organisation.
    Responder,
}

impl Action {
    pub fn party(self) -> Party {
        use Action::*;
        match self {
            Submit | Transmit | Withdraw | RequestExtension | AnswerClarification | Release
            | ConfirmProduction => Party::Creator,
            Approve | Return | Reject => Party::Approver,
            Acknowledge | Preserve | ConfirmExtension | AskClarification | Fulfil | Refuse
            | ReportMoved | Decide | NotifyDelay => Party::Responder,
        }
    }
}

/// What the caller is to this request; more than one can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relations {
    pub creator: bool,
    pub approver: bool,
    pub responder: bool,
}

impl Relations {
    pub fn is(&self, party: Party) -> bool {
        match party {
            Party::Creator => self.creator,
            Party::Approver => self.approver,
            Party::Responder => self.responder,
        }
    }
}

/// What the decision needs to know about the request besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub kind: RequestKind,
    pub emergency: bool,
    /// The legal basis has an emergency path.
    pub emergency_path: bool,
    /// A central authority has approved (before or, for emergencies, after
    /// transmission).
    pub approved: bool,
    pub extension_requested: bool,
    /// Extensions the legal basis still allows.
    pub extensions_left: u32,
    /// The legal basis has a decision on recognition (EIO) not yet taken.
    pub decision_pending: bool,
    /// The executing authority may still give notice that the decision will
    /// be late (EIO Art. 12(5): once).
    pub delay_notice_left: bool,
    /// The preservation's clock stops on the issuing authority's confirmation
    /// that a production request was issued (EPOC-PR Annex V), not yet given.
    pub confirmation_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may see the request but is not the party for this action: 403.
    Forbidden(String),
    /// Not from the current state, or not for this request: 409.
    Conflict(String),
}

fn conflict(status: Status, action: Action) -> Refusal {
    Refusal::Conflict(format!("cannot {action} a request that is {status}"))
}

/// Decides one action: the new status, or why not.
///
/// Long on purpose: it is the state machine's table, one arm per status and
/// action, read on one screen against the diagram in docs/workflow.md.
pub fn decide(
    status: Status,
    action: Action,
    relations: Relations,
    facts: &Facts,
) -> Result<Status, Refusal> {
    use Action as A;
    use Status as S;
    let party = action.party();
    if !relations.is(party) {
        let who = match party {
            Party::Creator => "a liaison officer of the agency that created the request",
            Party::Approver => {
                "a central-authority user of the issuing jurisdiction who did not create the request"
            }
            Party::Responder => "the organisation the request is addressed to",
        };
        return Err(Refusal::Forbidden(format!("only {who} may {action} it")));
    }
    let preservation = facts.kind == RequestKind::Preservation;
    // Emergencies transmitted before approval are validated afterwards.
    let awaiting_validation = facts.emergency && !facts.approved;
    let next = match (status, action) {
        (S::Draft, A::Submit) => S::PendingApproval,
        (S::PendingApproval, A::Approve) => S::Approved,
        (S::PendingApproval, A::Return) => S::Draft,
        (S::PendingApproval, A::Reject) => S::Rejected,
        (S::Approved, A::Transmit) => S::Transmitted,
        (S::Draft, A::Transmit) if facts.emergency && facts.emergency_path => S::Transmitted,
        (
            S::Transmitted
            | S::Acknowledged
            | S::ClarificationRequested
            | S::Preserved
            | S::Fulfilled
            | S::Refused
            | S::Moved
            | S::Released,
            A::Approve,
        ) if awaiting_validation => status,
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::Reject)
            if awaiting_validation =>
        {
            S::Rejected
        }
        (
            S::Draft
            | S::PendingApproval
            | S::Approved
            | S::Transmitted
            | S::Acknowledged
            | S::ClarificationRequested,
            A::Withdraw,
        ) => S::Withdrawn,
        (S::Transmitted, A::Acknowledge) => S::Acknowledged,
        (S::Transmitted | S::Acknowledged, A::AskClarification) => S::ClarificationRequested,
        (S::ClarificationRequested, A::AnswerClarification) => S::Acknowledged,
        (S::Transmitted | S::Acknowledged, A::Preserve) if preservation => S::Preserved,
        (S::Transmitted | S::Acknowledged, A::Fulfil) if !preservation => S::Fulfilled,
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::Refuse) => S::Refused,
        (S::Transmitted | S::Acknowledged, A::ReportMoved) => S::Moved,
        // Art. 30 disclosure while preserving: the preservation stands.
        (S::Preserved, A::ReportMoved) => S::Preserved,
        (S::Preserved, A::RequestExtension)
            if !facts.extension_requested && facts.extensions_left > 0 =>
        {
            S::Preserved
        }
        (S::Preserved, A::ConfirmExtension) if facts.extension_requested => S::Preserved,
        (S::Preserved, A::Release) => S::Released,
        // Steps that record an event without changing the state.
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::Decide)
            if facts.decision_pending =>
        {
            status
        }
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::NotifyDelay)
            if facts.decision_pending && facts.delay_notice_left =>
        {
            status
        }
        (S::Transmitted | S::Acknowledged | S::Preserved, A::ConfirmProduction)
            if facts.confirmation_pending =>
        {
            status
        }
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::Decide) => {
            return Err(Refusal::Conflict(
                "no decision on recognition is pending on this request".into(),
            ));
        }
        (S::Transmitted | S::Acknowledged | S::ClarificationRequested, A::NotifyDelay) => {
            return Err(Refusal::Conflict(if facts.decision_pending {
                "notice of delay has already been given once (Directive 2014/41/EU Art. 12(5))"
                    .into()
            } else {
                "no decision on recognition is pending on this request".into()
            }));
        }
        (S::Transmitted | S::Acknowledged | S::Preserved, A::ConfirmProduction) => {
            return Err(Refusal::Conflict(
                "this preservation takes no confirmation of a production request, or has one"
                    .into(),
            ));
        }
        (S::Transmitted | S::Acknowledged, A::Preserve) => {
            return Err(Refusal::Conflict(format!(
                "a {} request is fulfilled, not preserved",
                facts.kind
            )));
        }
        (S::Transmitted | S::Acknowledged, A::Fulfil) => {
            return Err(Refusal::Conflict(
                "a preservation request is preserved, not fulfilled".into(),
            ));
        }
        (S::Draft, A::Transmit) => {
            return Err(Refusal::Conflict(
                "only an emergency on a legal basis with an emergency path may be transmitted before approval"
                    .into(),
            ));
        }
        (S::Preserved, A::RequestExtension) if facts.extension_requested => {
            return Err(Refusal::Conflict(
                "an extension is already requested and not yet confirmed".into(),
            ));
        }
        (S::Preserved, A::RequestExtension) => {
            return Err(Refusal::Conflict(
                "the legal basis allows no further extension".into(),
            ));
        }
        (S::Preserved, A::ConfirmExtension) => {
            return Err(Refusal::Conflict("no extension has been requested".into()));
        }
        _ => return Err(conflict(status, action)),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Status as S;

    /// The specification, written out independently of `decide`: every allowed
    /// (status, action) with its condition and result.
    fn expected(status: Status, action: Action, f: &Facts) -> Option<Status> {
        let pres = f.kind == RequestKind::Preservation;
        let unvalidated = f.emergency && !f.approved;
        let answered_or_open = [
            S::Transmitted,
            S::Acknowledged,
            S::ClarificationRequested,
            S::Preserved,
            S::Fulfilled,
            S::Refused,
            S::Moved,
            S::Released,
        ];
        match action {
            A::Submit => (status == S::Draft).then_some(S::PendingApproval),
            A::Approve if status == S::PendingApproval => Some(S::Approved),
            A::Approve => (unvalidated && answered_or_open.contains(&status)).then_some(status),
            A::Return => (status == S::PendingApproval).then_some(S::Draft),
            A::Reject if status == S::PendingApproval => Some(S::Rejected),
            A::Reject => (unvalidated
                && [S::Transmitted, S::Acknowledged, S::ClarificationRequested].contains(&status))
            .then_some(S::Rejected),
            A::Transmit => (status == S::Approved
                || (status == S::Draft && f.emergency && f.emergency_path))
                .then_some(S::Transmitted),
            A::Withdraw => [
                S::Draft,
                S::PendingApproval,
                S::Approved,
                S::Transmitted,
                S::Acknowledged,
                S::ClarificationRequested,
            ]
            .contains(&status)
            .then_some(S::Withdrawn),
            A::Acknowledge => (status == S::Transmitted).then_some(S::Acknowledged),
            A::AskClarification => [S::Transmitted, S::Acknowledged]
                .contains(&status)
                .then_some(S::ClarificationRequested),
            A::AnswerClarification => {
                (status == S::ClarificationRequested).then_some(S::Acknowledged)
            }
            A::Preserve => (pres && [S::Transmitted, S::Acknowledged].contains(&status))
                .then_some(S::Preserved),
            A::Fulfil => (!pres && [S::Transmitted, S::Acknowledged].contains(&status))
                .then_some(S::Fulfilled),
            A::Refuse => [S::Transmitted, S::Acknowledged, S::ClarificationRequested]
                .contains(&status)
                .then_some(S::Refused),
            A::ReportMoved => match status {
                S::Transmitted | S::Acknowledged => Some(S::Moved),
                S::Preserved => Some(S::Preserved),
                _ => None,
            },
            A::RequestExtension => {
                (status == S::Preserved && !f.extension_requested && f.extensions_left > 0)
                    .then_some(S::Preserved)
            }
            A::ConfirmExtension => {
                (status == S::Preserved && f.extension_requested).then_some(S::Preserved)
            }
            A::Release => (status == S::Preserved).then_some(S::Released),
            A::Decide => (f.decision_pending
                && [S::Transmitted, S::Acknowledged, S::ClarificationRequested].contains(&status))
            .then_some(status),
            A::NotifyDelay => (f.decision_pending
                && f.delay_notice_left
                && [S::Transmitted, S::Acknowledged, S::ClarificationRequested].contains(&status))
            .then_some(status),
            A::ConfirmProduction => (f.confirmation_pending
                && [S::Transmitted, S::Acknowledged, S::Preserved].contains(&status))
            .then_some(status),
        }
    }

    fn all_facts() -> Vec<Facts> {
        let mut out = Vec::new();
        for kind in RequestKind::ALL {
            for emergency in [false, true] {
                for emergency_path in [false, true] {
                    for approved in [false, true] {
                        for extension_requested in [false, true] {
                            for extensions_left in [0, 1] {
                                for pending in 0..8u8 {
                                    out.push(Facts {
                                        kind: *kind,
                                        emergency,
                                        emergency_path,
                                        approved,
                                        extension_requested,
                                        extensions_left,
                                        decision_pending: pending & 1 != 0,
                                        delay_notice_left: pending & 2 != 0,
                                        confirmation_pending: pending & 4 != 0,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn all_relations() -> Vec<Relations> {
        let mut out = Vec::new();
        for creator in [false, true] {
            for approver in [false, true] {
                for responder in [false, true] {
                    out.push(Relations {
                        creator,
                        approver,
                        responder,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn every_state_action_and_party_follows_the_table() {
        let mut cells = 0;
        for status in Status::ALL {
            for action in Action::ALL {
                for relations in all_relations() {
                    for facts in all_facts() {
                        let got = decide(*status, *action, relations, &facts);
                        cells += 1;
                        if !relations.is(action.party()) {
                            assert!(
                                matches!(got, Err(Refusal::Forbidden(_))),
                                "{status} {action} {relations:?}: {got:?}"
                            );
                            continue;
                        }
                        match expected(*status, *action, &facts) {
                            Some(next) => assert_eq!(got, Ok(next), "{status} {action} {facts:?}"),
                            None => assert!(
                                matches!(got, Err(Refusal::Conflict(_))),
                                "{status} {action} {facts:?}: {got:?}"
                            ),
                        }
                    }
                }
            }
        }
        assert_eq!(cells, 14 * 19 * 8 * 96 * 8);
    }

    #[test]
    fn parties_per_action() {
        assert_eq!(A::Submit.party(), Party::Creator);
        assert_eq!(A::Approve.party(), Party::Approver);
        assert_eq!(A::Return.party(), Party::Approver);
        assert_eq!(A::Reject.party(), Party::Approver);
        assert_eq!(A::Preserve.party(), Party::Responder);
        assert_eq!(A::ConfirmExtension.party(), Party::Responder);
        assert_eq!(A::RequestExtension.party(), Party::Creator);
        assert_eq!(A::AnswerClarification.party(), Party::Creator);
        assert_eq!(A::Decide.party(), Party::Responder);
        assert_eq!(A::NotifyDelay.party(), Party::Responder);
        assert_eq!(A::ConfirmProduction.party(), Party::Creator);
    }

    #[test]
    fn a_second_extension_is_refused_with_a_reason() {
        let facts = Facts {
            kind: RequestKind::Preservation,
            emergency: false,
            emergency_path: false,
            approved: true,
            extension_requested: false,
            extensions_left: 0,
            decision_pending: false,
            delay_notice_left: false,
            confirmation_pending: false,
        };
        let creator = Relations {
            creator: true,
            ..Default::default()
        };
        assert_eq!(
            decide(S::Preserved, A::RequestExtension, creator, &facts),
            Err(Refusal::Conflict(
                "the legal basis allows no further extension".into()
            ))
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(*s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Ok(*a));
        }
    }
}

/// Whole lives of a request: random sequences of steps by random callers,
/// with the facts moving as the service moves them.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const RESPONDER_STEPS: [Action; 9] = [
        Action::Decide,
        Action::NotifyDelay,
        Action::Acknowledge,
        Action::Preserve,
        Action::ConfirmExtension,
        Action::AskClarification,
        Action::Fulfil,
        Action::Refuse,
        Action::ReportMoved,
    ];

    fn relations() -> impl Strategy<Value = Relations> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(creator, approver, responder)| {
            Relations {
                creator,
                approver,
                responder,
            }
        })
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            proptest::sample::select(RequestKind::ALL),
            any::<bool>(),
            any::<bool>(),
            0u32..3,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(kind, emergency, emergency_path, extensions_left, decision, confirmation)| {
                    Facts {
                        kind,
                        emergency,
                        emergency_path,
                        approved: false,
                        extension_requested: false,
                        extensions_left,
                        decision_pending: decision,
                        delay_notice_left: decision,
                        confirmation_pending: confirmation && kind == RequestKind::Preservation,
                    }
                },
            )
    }

    /// What the service records after a step that was allowed.
    fn advance(facts: &mut Facts, action: Action) {
        match action {
            Action::Approve => facts.approved = true,
            Action::RequestExtension => facts.extension_requested = true,
            Action::ConfirmExtension => {
                facts.extension_requested = false;
                facts.extensions_left -= 1;
            }
            Action::Decide => facts.decision_pending = false,
            Action::NotifyDelay => facts.delay_notice_left = false,
            Action::ConfirmProduction => facts.confirmation_pending = false,
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Long on purpose: the model of the rules it checks every step against.
        #[test]
        fn every_life_keeps_the_rules(
            start in facts(),
            steps in proptest::collection::vec(
                (
                    any::<proptest::sample::Index>(),
                    proptest::bool::weighted(0.7),
                    proptest::bool::weighted(0.85),
                    relations(),
                ),
                1..60,
            ),
        ) {
            let mut facts = start;
            let mut status = Status::Draft;
            let mut transmitted = false;
            for (pick, among_allowed, as_its_party, mut relations) in steps {
                // Mostly a step that the right caller could take now, so that
                // lives get far; otherwise any step.
                let everyone = Relations { creator: true, approver: true, responder: true };
                let allowed: Vec<Action> = Action::ALL
                    .iter()
                    .copied()
                    .filter(|&a| decide(status, a, everyone, &facts).is_ok())
                    .collect();
                let action = if among_allowed && !allowed.is_empty() {
                    *pick.get(&allowed)
                } else {
                    *pick.get(Action::ALL)
                };
                // Mostly the right caller, so that lives get far; sometimes anyone.
                if as_its_party {
                    match action.party() {
                        Party::Creator => relations.creator = true,
                        Party::Approver => relations.approver = true,
                        Party::Responder => relations.responder = true,
                    }
                }
                let before = status;
                match decide(status, action, relations, &facts) {
                    Ok(next) => {
                        // Only the party of the action acts.
                        prop_assert!(relations.is(action.party()));
                        // Nothing leaves a closed request.
                        prop_assert!(
                            ![Status::Withdrawn, Status::Rejected, Status::Expired].contains(&before),
                            "{} from {}", action, before
                        );
                        // Responders act only on what was transmitted to them.
                        if RESPONDER_STEPS.contains(&action) {
                            prop_assert!(transmitted, "{} before transmission", action);
                        }
                        // Preservation is preserved, the others fulfilled.
                        if next == Status::Preserved && before != Status::Preserved {
                            prop_assert_eq!(facts.kind, RequestKind::Preservation);
                        }
                        if next == Status::Fulfilled {
                            prop_assert_ne!(facts.kind, RequestKind::Preservation);
                        }
                        // A request goes back to draft only when returned.
                        if next == Status::Draft {
                            prop_assert_eq!((before, action), (Status::PendingApproval, Action::Return));
                        }
                        // Transmission before approval only on an emergency path.
                        if action == Action::Transmit && !facts.approved {
                            prop_assert!(facts.emergency && facts.emergency_path);
                        }
                        // Extensions stay within what the basis allows.
                        if action == Action::RequestExtension {
                            prop_assert!(facts.extensions_left > 0 && !facts.extension_requested);
                        }
                        if action == Action::Transmit {
                            transmitted = true;
                        }
                        advance(&mut facts, action);
                        status = next;
                    }
                    Err(Refusal::Forbidden(reason)) => {
                        // Refused as the wrong party only when it is the wrong party.
                        prop_assert!(!relations.is(action.party()), "{}", reason);
                    }
                    Err(Refusal::Conflict(reason)) => {
                        prop_assert!(relations.is(action.party()));
                        prop_assert!(!reason.is_empty());
                    }
                }
            }
        }
    }
}
