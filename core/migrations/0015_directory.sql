-- Single sign-on: company identities linked to accounts, and the directory mapping an admin edits
-- (job title or department → suggested skills and languages; groups → roles).

-- One row per identity at a provider (issuer + subject, both from the ID token), with the
-- directory fields it last brought. `welcomed_at` is NULL until the person confirmed skills.
CREATE TABLE sso_identities (
    issuer VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    user_id INTEGER NOT NULL,
    email VARCHAR NOT NULL,
    job_title VARCHAR,
    department VARCHAR,
    directory_groups VARCHAR[],
    locale VARCHAR,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP NOT NULL,
    welcomed_at TIMESTAMP,
    PRIMARY KEY (issuer, subject)
);

-- A company sign-in issued before this time is refused (set at log out), so a saved identity
-- cookie does not sign in again. Guarded: another branch may add columns to users too.
ALTER TABLE users ADD COLUMN IF NOT EXISTS sso_valid_after TIMESTAMP;
-- true for an account company sign-in created: its password is random and known to nobody, so
-- it signs in with the company account only (no password to change). NULL counts as false.
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_unknown BOOLEAN;

-- field: title | department | either; match_kind: contains | exact (both case-insensitive).
-- skills and languages: comma-separated catalog codes (either may be empty, not both).
CREATE SEQUENCE directory_rules_id_seq START 1;
CREATE TABLE directory_rules (
    id INTEGER PRIMARY KEY DEFAULT nextval('directory_rules_id_seq'),
    field VARCHAR NOT NULL,
    match_kind VARCHAR NOT NULL,
    pattern VARCHAR NOT NULL,
    skills VARCHAR NOT NULL,
    languages VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A directory group (as the groups claim spells it) → a role it grants. A role named here
-- follows the directory at every sign-in; roles named nowhere stay as admins set them.
CREATE TABLE directory_group_roles (
    group_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_name, role)
);

-- A starting mapping for common titles; admins change it on the Directory page.
INSERT INTO directory_rules (field, match_kind, pattern, skills, languages, created_at) VALUES
    ('title', 'contains', 'software', 'coding', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'developer', 'coding', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'paralegal', 'law', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'counsel', 'law', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('department', 'contains', 'legal', 'law', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'designer', 'arts', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'accountant', 'finance', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'nurse', 'medicine', '', TIMESTAMP '2026-12-02 00:00:00'),
    ('title', 'contains', 'scientist', 'science', '', TIMESTAMP '2026-12-02 00:00:00');
