//! Hand-kept from the SQLite migrations with portable SQL types only: printing it
//! from PostgreSQL would emit `Timestamptz`, which does not compile through the
//! connection enum.

diesel::table! {
    jurisdictions (code) {
        code -> Text,
        name -> Text,
        timezone -> Text,
        memberships -> Text,
        created_at -> Timestamp,
        holidays -> Text,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        jurisdiction -> Text,
        contact_email -> Nullable<Text>,
        retention_days -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        organisation_id -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        org_admin -> Bool,
    }
}

diesel::table! {
    account_links (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        reset_factor -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_proposals (id) {
        id -> Text,
        organisation_id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        org_admin -> Bool,
        proposed_by -> Text,
        proposed_at -> Timestamp,
        expires_at -> Timestamp,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (email) {
        email -> Text,
        failures -> Integer,
        window_started_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    portal_sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    second_factors (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
        pending_sealed -> Nullable<Text>,
        pending_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_challenges (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        need -> Text,
        via -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(organisations -> jurisdictions (jurisdiction));
diesel::joinable!(second_factors -> users (user_id));
diesel::joinable!(sign_in_challenges -> users (user_id));
diesel::joinable!(portal_sessions -> users (user_id));
diesel::joinable!(request_reads -> requests (request_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(account_proposals -> organisations (organisation_id));
diesel::joinable!(webhooks -> organisations (organisation_id));
diesel::joinable!(outbox -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_chains,
    audit_checkpoints,
    audit_events,
    cases,
    deadlines,
    evidence,
    outbox,
    requests,
    jurisdictions,
    organisations,
    users,
    login_throttle,
    refresh_tokens,
    portal_sessions,
    request_reads,
    second_factors,
    recovery_codes,
    sign_in_challenges,
    account_links,
    account_proposals,
    request_identifiers,
    webhooks,
);

diesel::table! {
    audit_chains (chain) {
        chain -> Text,
        head_seq -> BigInt,
        head_hash -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        chain -> Text,
        seq -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
        log_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_log_blocks (block) {
        block -> BigInt,
        root -> Text,
    }
}

diesel::table! {
    audit_checkpoints (seq) {
        seq -> BigInt,
        tree_size -> BigInt,
        issued_at -> Timestamp,
        document -> Text,
        frontier -> Text,
    }
}

diesel::joinable!(audit_events -> audit_chains (chain));

diesel::table! {
    cases (id) {
        id -> Text,
        agency_id -> Text,
        reference -> Text,
        title -> Text,
        offence_categories -> Text,
        summary -> Text,
        priority -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    requests (id) {
        id -> Text,
        reference -> Text,
        case_id -> Text,
        agency_id -> Text,
        issuing_jurisdiction -> Text,
        created_by -> Text,
        kind -> Text,
        legal_basis -> Text,
        route -> Text,
        responder_id -> Text,
        executing_jurisdiction -> Text,
        data_categories -> Text,
        identifiers -> Text,
        date_from -> Nullable<Timestamp>,
        date_to -> Nullable<Timestamp>,
        facts -> Nullable<Text>,
        necessity -> Nullable<Text>,
        relevance -> Nullable<Text>,
        custodian -> Nullable<Text>,
        follow_up_intent -> Bool,
        emergency -> Bool,
        emergency_justification -> Nullable<Text>,
        non_disclosure -> Bool,
        parent_id -> Nullable<Text>,
        status -> Text,
        version -> BigInt,
        submitted_at -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        transmitted_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        preserved_until -> Nullable<Timestamp>,
        extension_requested -> Bool,
        extensions_granted -> Integer,
        response -> Text,
        internal_notes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cybertipline_submitted_at -> Nullable<Timestamp>,
        responder_due_at -> Nullable<Timestamp>,
        responder_acted_at -> Nullable<Timestamp>,
        issuer_due_at -> Nullable<Timestamp>,
        executes_id -> Nullable<Text>,
    }
}

diesel::table! {
    request_identifiers (value_key, request_id) {
        value_key -> Text,
        request_id -> Text,
    }
}

diesel::table! {
    request_reads (user_id, request_id) {
        user_id -> Text,
        request_id -> Text,
        read_at -> Timestamp,
    }
}

diesel::table! {
    deadlines (id) {
        id -> Text,
        request_id -> Text,
        agency_id -> Text,
        issuing_jurisdiction -> Text,
        responder_id -> Text,
        submitted -> Bool,
        transmitted -> Bool,
        kind -> Text,
        started_at -> Nullable<Timestamp>,
        due_at -> Timestamp,
        status -> Text,
        explanation -> Text,
        due_local -> Text,
        timezone -> Text,
        citation -> Text,
        verification -> Text,
        missed_noticed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        kind -> Text,
        request_id -> Nullable<Text>,
        recipient_user_id -> Nullable<Text>,
        recipient_email -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        webhook_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        organisation_id -> Text,
        url -> Text,
        events -> Text,
        secret_sealed -> Text,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    evidence (id) {
        id -> Text,
        request_id -> Text,
        filename -> Text,
        media_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        uploaded_by -> Text,
        uploader_organisation_id -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::joinable!(evidence -> requests (request_id));
diesel::joinable!(deadlines -> requests (request_id));
diesel::joinable!(request_identifiers -> requests (request_id));
diesel::joinable!(cases -> organisations (agency_id));
diesel::joinable!(requests -> cases (case_id));
