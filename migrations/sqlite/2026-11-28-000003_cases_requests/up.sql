-- Cases and the requests filed against them.
CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES organisations (id),
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    offence_categories TEXT NOT NULL,
    summary TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX cases_agency_reference_idx ON cases (agency_id, reference);

CREATE TABLE requests (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL REFERENCES cases (id),
    agency_id TEXT NOT NULL REFERENCES organisations (id),
    issuing_jurisdiction TEXT NOT NULL REFERENCES jurisdictions (code),
    created_by TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    route TEXT NOT NULL,
    responder_id TEXT NOT NULL REFERENCES organisations (id),
    executing_jurisdiction TEXT NOT NULL REFERENCES jurisdictions (code),
    data_categories TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    date_from TIMESTAMP,
    date_to TIMESTAMP,
    facts TEXT,
    necessity TEXT,
    relevance TEXT,
    custodian TEXT,
    follow_up_intent BOOLEAN NOT NULL,
    emergency BOOLEAN NOT NULL,
    emergency_justification TEXT,
    non_disclosure BOOLEAN NOT NULL,
    parent_id TEXT REFERENCES requests (id),
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    submitted_at TIMESTAMP,
    approved_at TIMESTAMP,
    approved_by TEXT REFERENCES users (id),
    transmitted_at TIMESTAMP,
    answered_at TIMESTAMP,
    preserved_until TIMESTAMP,
    extension_requested BOOLEAN NOT NULL,
    extensions_granted INTEGER NOT NULL,
    response TEXT NOT NULL,
    internal_notes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX requests_agency_idx ON requests (agency_id, id);
CREATE INDEX requests_responder_idx ON requests (responder_id, id);
CREATE INDEX requests_issuing_idx ON requests (issuing_jurisdiction, id);
CREATE INDEX requests_case_idx ON requests (case_id);
CREATE INDEX requests_parent_idx ON requests (parent_id);
