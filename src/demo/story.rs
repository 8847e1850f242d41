//! The worked case of the demo: one grooming investigation that shows every
//! feature. It is built through the same parsing and use cases as the API, so
//! it is exactly what a client driving the API would have made (docs/api.md
//! walks the same story with curl). Times are set relative to the moment it is
//! loaded, so that its clocks are live.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::api::requests::{RequestIn, parse_transition};
use crate::db::DbConn;
use crate::domain::access::Viewer;
use crate::domain::audit::Actor;
use crate::domain::requests::{OffenceCategory, Priority};
use crate::domain::workflow::Action;
use crate::error::Error;
use crate::repo;
use crate::repo::requests::RequestRow;
use crate::service::cases::{self, NewCase};
use crate::service::deadlines::Rules;
use crate::service::evidence::{self, Delivered};
use crate::service::requests as service;
use crate::store::EvidenceStore;

/// The reference of the worked case in the GB agency.
pub const CASE_REFERENCE: &str = "OCPU-2026-0117";

const FACTS: &str = "Between October and November an adult using the Chatterbox account \
sunny_day_2011 groomed a 12-year-old girl in Manchester, obtained sexual images of her and \
threatened to share them. The girl's parents reported it on 18 November.";

/// A person of the demo world, as the access rules and the audit trail see them.
struct Person {
    viewer: Viewer,
    actor: Actor,
}

fn person(conn: &mut DbConn, email: &str) -> Result<Person, Error> {
    let missing = || Error::internal(format!("the demo account {email} is missing"));
    let user = repo::users::find_by_email(conn, email)?.ok_or_else(missing)?;
    let found = repo::users::find_active_with_organisation(conn, &user.id)?.ok_or_else(missing)?;
    Ok(Person {
        viewer: found.viewer().map_err(Error::internal)?,
        actor: Actor::user(&user.id, user.organisation_id.as_deref()),
    })
}

/// What the story made, for the terminal.
pub struct Told {
    pub case_reference: String,
    pub requests: Vec<(String, String, &'static str)>,
}

struct Story<'a> {
    rules: &'a Rules<'a>,
    store: &'a EvidenceStore,
}

impl Story<'_> {
    fn draft(
        &self,
        conn: &mut DbConn,
        who: &Person,
        case_id: &str,
        parent: Option<&RequestRow>,
        body: Value,
    ) -> Result<RequestRow, Error> {
        let input: RequestIn =
            serde_json::from_value(body).map_err(crate::api::error::serde_error)?;
        let (_, drafted) = input.parse()?;
        match parent {
            None => service::create(
                conn,
                &who.viewer,
                &who.actor,
                self.rules,
                case_id,
                drafted,
                None,
            ),
            Some(parent) => service::follow_up(
                conn,
                &who.viewer,
                &who.actor,
                self.rules,
                &parent.id,
                drafted,
            ),
        }
    }

    fn step(
        &self,
        conn: &mut DbConn,
        who: &Person,
        row: RequestRow,
        action: Action,
        mut body: Value,
    ) -> Result<RequestRow, Error> {
        body["version"] = json!(row.version);
        let (version, input) = parse_transition(action, body)?;
        service::transition(
            conn,
            &who.viewer,
            &who.actor,
            self.rules,
            &row.id,
            action,
            version,
            input,
        )
    }

    /// Submitted by the officer, approved by the central authority, transmitted.
    fn send(
        &self,
        conn: &mut DbConn,
        officer: &Person,
        ca: &Person,
        row: RequestRow,
    ) -> Result<RequestRow, Error> {
        let row = self.step(conn, officer, row, Action::Submit, json!({}))?;
        let row = self.step(conn, ca, row, Action::Approve, json!({}))?;
        self.step(conn, officer, row, Action::Transmit, json!({}))
    }
}

fn instant(at: chrono::DateTime<Utc>) -> Value {
    json!(at.to_rfc3339())
}

/// The people and the case of the story, and what its preservations share.
struct Scene<'a> {
    story: Story<'a>,
    officer: Person,
    ca: Person,
    chatterbox: Person,
    polder: Person,
    irish_ca: Person,
    pixelshare: String,
    case_id: String,
    now: chrono::DateTime<Utc>,
    /// The body of the case's preservations, before the responder and the
    /// identifiers.
    base: Value,
}

fn org_of(p: &Person) -> String {
    p.viewer.organisation_id.clone().unwrap_or_default()
}

/// Tells the story unless its case exists already; everything in one
/// transaction of the caller's.
pub fn tell(
    conn: &mut DbConn,
    rules: &Rules<'_>,
    store: &EvidenceStore,
) -> Result<Option<Told>, Error> {
    let officer = person(conn, "officer@gb-police.demo.test")?;
    let agency = org_of(&officer);
    if repo::cases::find_by_reference(conn, &agency, CASE_REFERENCE)?.is_some() {
        return Ok(None);
    }
    let case = cases::create(
        conn,
        &officer.actor,
        &agency,
        NewCase {
            reference: CASE_REFERENCE.into(),
            title: "Operation Lantern: grooming and sextortion of a 12-year-old".into(),
            offence_categories: vec![OffenceCategory::Grooming, OffenceCategory::SexualExtortion],
            summary: FACTS.into(),
            priority: Priority::High,
        },
    )?;
    let now = Utc::now();
    let days = TimeDelta::days;
    let base = json!({
        "kind": "preservation",
        "legal_basis": "provider-voluntary",
        "facts": FACTS,
        "necessity": "Chatterbox keeps connection logs for 25 days: without preservation the \
                      IP history that identifies the offender is deleted.",
        "relevance": "The account sent the messages; the IP address logged in when it did.",
        "date_from": instant(now - days(40)),
        "date_to": instant(now - days(10)),
        "follow_up_intent": true,
        "non_disclosure": true,
    });
    let scene = Scene {
        story: Story { rules, store },
        ca: person(conn, "ca@gb-ca.demo.test")?,
        chatterbox: person(conn, "legal@chatterbox.demo.test")?,
        polder: person(conn, "legal@polderhosting.demo.test")?,
        irish_ca: person(conn, "ca@ie-ca.demo.test")?,
        pixelshare: repo::organisations::find_by_name(conn, "US", "Pixelshare Inc. (demo)")?
            .ok_or_else(|| Error::internal("the demo provider Pixelshare is missing"))?
            .id,
        officer,
        case_id: case.id,
        now,
        base,
    };
    let chat = scene.preserved_then_moved(conn)?;
    let told = vec![
        scene.follow_up(conn, &chat.0)?,
        scene.production(conn, &chat.0)?,
        scene.awaiting_approval(conn)?,
        scene.refused(conn)?,
    ];
    Ok(Some(Told {
        case_reference: case.reference,
        requests: std::iter::once(chat)
            .chain(told)
            .map(|(row, what)| (row.reference, row.status.to_string(), what))
            .collect(),
    }))
}

/// The story's chapters, in the order they are told.
impl Scene<'_> {
    /// Preservation at Chatterbox (IE), confirmed; Chatterbox then reports
    /// that the images sit with a Dutch host.
    fn preserved_then_moved(&self, conn: &mut DbConn) -> Result<(RequestRow, &'static str), Error> {
        let mut body = self.base.clone();
        body["responder_id"] = json!(org_of(&self.chatterbox));
        body["data_categories"] = json!(["subscriber", "identification", "content"]);
        body["identifiers"] = json!([
            {"type": "account", "value": "sunny_day_2011"},
            {"type": "ip", "value": "198.51.100.23", "port": 40112, "observed_at": instant(self.now - TimeDelta::days(12))}
        ]);
        let chat = self
            .story
            .draft(conn, &self.officer, &self.case_id, None, body)?;
        let chat = self.story.send(conn, &self.officer, &self.ca, chat)?;
        let chat = self.story.step(
            conn,
            &self.chatterbox,
            chat,
            Action::Acknowledge,
            json!({"provider_reference": "CB-LE-20931"}),
        )?;
        let chat = self
            .story
            .step(conn, &self.chatterbox, chat, Action::Preserve, json!({}))?;
        let polder_id = org_of(&self.polder);
        let chat = self.story.step(
            conn,
            &self.chatterbox,
            chat,
            Action::ReportMoved,
            json!({"to_provider_id": polder_id, "to_jurisdiction": "NL",
                   "note": "Images sent in these chats were stored on Polder Hosting's object storage \
                            (bucket media-8812); we preserved what we hold."}),
        )?;
        Ok((
            chat,
            "preservation at Chatterbox (IE): confirmed; data-moved report to NL",
        ))
    }

    /// The follow-up at the Dutch host the report named, confirmed.
    fn follow_up(
        &self,
        conn: &mut DbConn,
        chat: &RequestRow,
    ) -> Result<(RequestRow, &'static str), Error> {
        let mut body = self.base.clone();
        body["responder_id"] = json!(org_of(&self.polder));
        body["data_categories"] = json!(["subscriber", "content"]);
        body["identifiers"] = json!([{"type": "account", "value": "media-8812"}]);
        body["necessity"] =
            json!("Polder Hosting deletes content 14 days after an account closes.");
        let dutch = self
            .story
            .draft(conn, &self.officer, &self.case_id, Some(chat), body)?;
        let dutch = self.story.send(conn, &self.officer, &self.ca, dutch)?;
        // Polder keeps the data only 40 days: its own date governs the expiry.
        let dutch = self.story.step(
            conn,
            &self.polder,
            dutch,
            Action::Preserve,
            json!({"preserved_until": instant(self.now + TimeDelta::days(40))}),
        )?;
        Ok((
            dutch,
            "follow-up preservation at Polder Hosting (NL): confirmed until a date of its own, which governs",
        ))
    }

    /// The production that follows the Irish preservation, through the
    /// Irish central authority, answered with evidence. Ireland is not a
    /// Budapest Party: between the UK and Ireland mutual assistance runs under
    /// the 1959 Council of Europe Convention (ETS 030).
    fn production(
        &self,
        conn: &mut DbConn,
        chat: &RequestRow,
    ) -> Result<(RequestRow, &'static str), Error> {
        let production = json!({
            "kind": "production",
            "legal_basis": "coe-mla-1959",
            "executing_jurisdiction": "IE",
            "data_categories": ["subscriber", "content"],
            "identifiers": [{"type": "account", "value": "sunny_day_2011"}],
            "date_from": instant(self.now - TimeDelta::days(40)),
            "date_to": instant(self.now - TimeDelta::days(10)),
            "facts": FACTS,
            "necessity": "The subscriber record and the messages identify the offender and prove the offence.",
            "relevance": "The account sent the messages to the victim.",
            "custodian": "Chatterbox Messaging Ltd, Dublin: preserved under our request, their reference CB-LE-20931.",
        });
        let produced =
            self.story
                .draft(conn, &self.officer, &self.case_id, Some(chat), production)?;
        let produced = self.story.send(conn, &self.officer, &self.ca, produced)?;
        let produced = self.story.step(
            conn,
            &self.irish_ca,
            produced,
            Action::Acknowledge,
            json!({"provider_reference": "IE-MLA-2026-311"}),
        )?;
        // The Irish authority has Chatterbox produce it under an Irish order,
        // and passes what Chatterbox delivers on.
        let order = crate::service::execution::order(
            conn,
            &self.irish_ca.viewer,
            &self.irish_ca.actor,
            self.story.rules,
            &produced.id,
            crate::service::execution::Order {
                responder_id: org_of(&self.chatterbox),
                facts: Some(
                    "Produce the subscriber record of the account named, for the period named, \
                     under this order of the Irish central authority."
                        .into(),
                ),
            },
        )?;
        let order = self.story.step(
            conn,
            &self.chatterbox,
            order,
            Action::Acknowledge,
            json!({"provider_reference": "CB-LE-20977"}),
        )?;
        let export = format!(
            "account,created_at,email,last_login_ip,last_login_at\n\
             sunny_day_2011,2024-03-02T18:11:09Z,sunny.day.2011@mail.example,198.51.100.23,{}\n",
            (self.now - TimeDelta::days(12)).to_rfc3339()
        );
        let (sha256, size) = self
            .story
            .store
            .put(export.as_bytes())
            .map_err(Error::internal)?;
        let delivered = evidence::record(
            conn,
            &self.chatterbox.viewer,
            &self.chatterbox.actor,
            &order.id,
            Delivered {
                filename: "chatterbox-subscriber-record.csv".into(),
                media_type: "text/csv".into(),
                size: size as i64,
                sha256,
            },
            u64::MAX,
        )?;
        self.story
            .step(conn, &self.chatterbox, order, Action::Fulfil, json!({}))?;
        evidence::relay(
            conn,
            &self.irish_ca.viewer,
            &self.irish_ca.actor,
            &produced.id,
            &delivered.id,
            u64::MAX,
        )?;
        let produced = self.story.step(
            conn,
            &self.irish_ca,
            produced,
            Action::Fulfil,
            json!({"note": "Produced by Chatterbox under our order, and passed on."}),
        )?;
        Ok((
            produced,
            "production through the Irish central authority, executed through Chatterbox: evidence delivered",
        ))
    }

    /// A second account at Pixelshare (US), still waiting for approval while
    /// the provider's deletion clock runs out: it heads the at-risk board.
    fn awaiting_approval(&self, conn: &mut DbConn) -> Result<(RequestRow, &'static str), Error> {
        let mut body = self.base.clone();
        body["responder_id"] = json!(self.pixelshare);
        body["data_categories"] = json!(["subscriber", "identification"]);
        body["identifiers"] = json!([
            {"type": "account", "value": "sunny.day.11"},
            {"type": "ip", "value": "203.0.113.77", "port": 51820, "observed_at": instant(self.now - TimeDelta::days(40))}
        ]);
        body["necessity"] = json!("Pixelshare keeps login IP addresses for 45 days.");
        let waiting = self
            .story
            .draft(conn, &self.officer, &self.case_id, None, body)?;
        let waiting = self
            .story
            .step(conn, &self.officer, waiting, Action::Submit, json!({}))?;
        Ok((
            waiting,
            "preservation at Pixelshare (US): awaiting approval, data deleted in 5 days",
        ))
    }

    /// A third account, refused by Chatterbox with a ground.
    fn refused(&self, conn: &mut DbConn) -> Result<(RequestRow, &'static str), Error> {
        let mut body = self.base.clone();
        body["responder_id"] = json!(org_of(&self.chatterbox));
        body["data_categories"] = json!(["subscriber"]);
        body["identifiers"] = json!([{"type": "account", "value": "lantern_kid_22"}]);
        let refused = self
            .story
            .draft(conn, &self.officer, &self.case_id, None, body)?;
        let refused = self.story.send(conn, &self.officer, &self.ca, refused)?;
        let refused = self.story.step(
            conn,
            &self.chatterbox,
            refused,
            Action::Refuse,
            json!({"ground": "account_not_found",
                   "explanation": "No Chatterbox account has ever been registered as lantern_kid_22."}),
        )?;
        Ok((
            refused,
            "preservation at Chatterbox: refused, account not found",
        ))
    }
}
