"""Every error code the server sends, each with its one HTTP status and its meaning, and the small
set of domain errors that carry them; api/errors.py renders them, docs/errors.md lists them."""

from __future__ import annotations

from enum import StrEnum, unique
from typing import ClassVar


@unique
class ErrorCode(StrEnum):
    """A stable snake_case code, sent as `{"error": {"code", "message"}}` with `status`.

    One table: the HTTP status and the one-line meaning of each code live here, and
    docs/errors.md is generated from it (tests/domain/test_errors.py).
    """

    status: int
    meaning: str

    def __new__(cls, value: str, status: int, meaning: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.meaning = meaning
        return member

    # One code a line, as a table reads, past the line length where the meaning needs it.
    # fmt: off
    # 400: the request itself is not valid -----------------------------------------------------
    ACCOUNT_TYPE_INVALID = "account_type_invalid", 400, "not one of the pack's public-account types"
    APPEAL_TARGET_INVALID = "appeal_target_invalid", 400, "an appeal names a sanction_id or a case_id"
    BIO_INVALID = "bio_invalid", 400, "the bio contains control characters"
    BIO_TOO_LONG = "bio_too_long", 400, "the bio is longer than the limit"
    BODY_INVALID = "body_invalid", 400, "a post's body is empty or contains control characters"
    BODY_TOO_LONG = "body_too_long", 400, "a post's body is longer than the limit"
    CASE_IDS_INVALID = "case_ids_invalid", 400, "a bulk decision names too few, too many or repeated cases"
    CATEGORY_INVALID = "category_invalid", 400, "not one of the pack's categories"
    CATEGORY_NOT_APPLICABLE = "category_not_applicable", 400, "a category given with a decision that takes none"
    CATEGORY_REQUIRED = "category_required", 400, "mark_false needs a correction category"
    CLIENT_ID_INVALID = "client_id_invalid", 400, "client_id is empty, too long or has characters it may not"
    CONTENT_CLASS_INVALID = "content_class_invalid", 400, "not one of the pack's content classes"
    CORRECTION_NOT_APPLICABLE = "correction_not_applicable", 400, "a correction given with a decision or category that takes none"
    CORRECTION_REQUIRED = "correction_required", 400, "a finding in a correction category needs the correction's statement"
    CURSOR_INVALID = "cursor_invalid", 400, "since is not a cursor this server gave out"
    DATE_INVALID = "date_invalid", 400, "not an ISO date or date-time"
    DECISION_INVALID = "decision_invalid", 400, "not one of the decisions the request can make"
    DESCRIPTION_INVALID = "description_invalid", 400, "the description contains control characters"
    DESCRIPTION_TOO_LONG = "description_too_long", 400, "the description is longer than the limit"
    DETAIL_INVALID = "detail_invalid", 400, "a report's detail contains control characters"
    DETAIL_TOO_LONG = "detail_too_long", 400, "a report's detail is longer than the limit"
    DIRECT_SELF = "direct_self", 400, "a direct conversation with oneself"
    DISPLAY_NAME_INVALID = "display_name_invalid", 400, "the display name is empty or contains control characters"
    DISPLAY_NAME_TOO_LONG = "display_name_too_long", 400, "the display name is longer than the limit"
    ENDS_AT_INVALID = "ends_at_invalid", 400, "a sanction's end given twice, for a kind that has none, without a time zone, past or too far ahead"
    ENDS_AT_REQUIRED = "ends_at_required", 400, "a sanction of this kind needs its end: ends_at or days"
    ENTITY_NAME_INVALID = "entity_name_invalid", 400, "the registered entity name contains control characters"
    ENTITY_NAME_TOO_LONG = "entity_name_too_long", 400, "the registered entity name is longer than the limit"
    EXPORT_INVALID = "export_invalid", 400, "not one of the regulator exports"
    FRAME_INVALID = "frame_invalid", 400, "a WebSocket frame that is JSON but not a frame the server knows"
    HANDLE_INVALID = "handle_invalid", 400, "a handle of the wrong length or characters"
    INVALID_REQUEST = "invalid_request", 400, "a field is missing or of the wrong type; the message names it"
    LEXICON_INVALID = "lexicon_invalid", 400, "a lexicon or allowlist file has problems; the message lists them by line"
    LIMIT_INVALID = "limit_invalid", 400, "a page limit out of its range"
    MALFORMED_JSON = "malformed_json", 400, "the body (or a WebSocket frame) is not valid JSON"
    MEMBER_ID_INVALID = "member_id_invalid", 400, "member_id goes with remove_rights only"
    NAME_INVALID = "name_invalid", 400, "a name that is empty, too long, has control characters or no letter or digit"
    NEWS_LICENCE_INVALID = "news_licence_invalid", 400, "the news licence contains control characters"
    NEWS_LICENCE_TOO_LONG = "news_licence_too_long", 400, "the news licence is longer than the limit"
    PASSWORD_INVALID = "password_invalid", 400, "a password of the wrong length"
    PERIOD_INVALID = "period_invalid", 400, "since after until, or a period that is not day, week or month"
    PROFILE_UNCHANGED = "profile_unchanged", 400, "a profile change that names nothing to change"
    REASON_INVALID = "reason_invalid", 400, "a report reason the pack does not know, or a decision's reason of the wrong length"
    REFERENCE_INVALID = "reference_invalid", 400, "a reveal names what it is for: case:<id>, appeal:<id> or request:<reference>"
    RESCAN_SINCE_INVALID = "rescan_since_invalid", 400, "a rescan's since is not in the past or has no time zone"
    ROLE_INVALID = "role_invalid", 400, "not one of the staff roles"
    SAME_USER = "same_user", 400, "an identity link between a user and itself"
    SANCTION_KIND_INVALID = "sanction_kind_invalid", 400, "a sanction the subject cannot take"
    SEQ_OUT_OF_RANGE = "seq_out_of_range", 400, "an audit-log seq outside the tree"
    SIZES_OUT_OF_ORDER = "sizes_out_of_order", 400, "a consistency proof's first size is not within the second"
    SOURCE_INVALID = "source_invalid", 400, "not one of the review sources"
    STATE_INVALID = "state_invalid", 400, "not one of the states the list is filtered by"
    STATEMENT_INVALID = "statement_invalid", 400, "a statement (an appeal's or a correction's) of the wrong length"
    SUBJECT_TYPE_INVALID = "subject_type_invalid", 400, "not one of the subjects a sanction applies to"
    SURFACE_INVALID = "surface_invalid", 400, "not one of the moderation surfaces"
    TARGET_TYPE_INVALID = "target_type_invalid", 400, "not one of the things a report can be about"
    TERM_INVALID = "term_invalid", 400, "a lexicon term that is not valid; the message says why"
    TEXT_EMPTY = "text_empty", 400, "a message with no text"
    TEXT_INVALID = "text_invalid", 400, "a message's text contains control characters"
    TIMEOUT_INVALID = "timeout_invalid", 400, "a long-poll timeout out of its range"
    TITLE_INVALID = "title_invalid", 400, "a title that is empty, too long or has control characters"
    TITLE_TOO_LONG = "title_too_long", 400, "a post's title is longer than the limit"
    TREE_SIZE_INVALID = "tree_size_invalid", 400, "an audit-log tree size below 1"
    TREE_SIZE_TOO_LARGE = "tree_size_too_large", 400, "an audit-log tree size beyond the rows the log has"
    VERDICT_INVALID = "verdict_invalid", 400, "an appeal's verdict is uphold or reverse"
    # group life
    ANNOUNCEMENT_INVALID = "announcement_invalid", 400, "a group announcement contains control characters"
    ANNOUNCEMENT_TOO_LONG = "announcement_too_long", 400, "a group announcement is longer than the limit"
    AVATAR_INVALID = "avatar_invalid", 400, "a group avatar reference of the wrong length or characters"
    GROUP_UNCHANGED = "group_unchanged", 400, "a group change that names nothing to change"
    TRANSFER_TO_SELF = "transfer_to_self", 400, "the owner handed the group to themselves"

    # messages (replies, mentions, recall, read state)
    READ_SEQ_INVALID = "read_seq_invalid", 400, "seq is beyond the conversation's last message"
    # contacts
    CONTACT_SELF = "contact_self", 400, "a friend request to, a remark on or a block of the caller's own account"
    GREETING_INVALID = "greeting_invalid", 400, "a greeting contains control characters"
    GREETING_TOO_LONG = "greeting_too_long", 400, "a greeting is longer than the limit"
    # media
    FILENAME_INVALID = "filename_invalid", 400, "a filename longer than max_filename_chars, or with nothing but separators and control characters"
    IMAGE_INVALID = "image_invalid", 400, "an image that does not decode whole: truncated, malformed, or another format than its first bytes say"
    MEDIA_EMPTY = "media_empty", 400, "an upload of no bytes"
    MEDIA_IDS_INVALID = "media_ids_invalid", 400, "more media than max_media_per_item, or the same one twice"
    UPLOAD_INCOMPLETE = "upload_incomplete", 400, "the upload's body ended before it was whole: the client went away"
    # the image hash bank
    CATEGORY_MAP_INVALID = "category_map_invalid", 400, "a hash list's category mapping is not label=category, or names a category the pack does not have"
    HASH_LIST_INVALID = "hash_list_invalid", 400, "an image hash list has problems (its name, its encoding, a line that is no PDQ hash, a label mapped to no category); the message lists them by line, and nothing was imported"
    PDQ_HASH_INVALID = "pdq_hash_invalid", 400, "not a PDQ hash: 64 hexadecimal digits"
    # search
    QUERY_EMPTY = "query_empty", 400, "a search query with no letter, digit or character to look for"
    QUERY_TOO_LONG = "query_too_long", 400, "a search query longer than 100 characters"

    # 401: no valid session ----------------------------------------------------------------------
    ACCOUNT_INACTIVE = "account_inactive", 401, "the account is no longer active or no longer exists"
    AUTH_REQUIRED = "auth_required", 401, 'a WebSocket\'s first frame was not {"type": "auth", "token"}'
    AUTH_TIMEOUT = "auth_timeout", 401, "a WebSocket sent no auth frame in time"
    LOGIN_FAILED = "login_failed", 401, "the handle or the password is wrong"
    TOKEN_EXPIRED = "token_expired", 401, "the session has expired"
    TOKEN_INVALID = "token_invalid", 401, "the token is not one the server gave"
    TOKEN_MISSING = "token_missing", 401, "no Authorization: Bearer header"
    TOKEN_REVOKED = "token_revoked", 401, "the session was logged out"

    # 403: the caller may not ------------------------------------------------------------------
    ACCOUNT_CLOSED = "account_closed", 403, "the account is closed by a sanction"
    CASE_ABOUT_SELF = "case_about_self", 403, "a case about a reviewer's own account or content is another reviewer's"
    CASE_ESCALATED = "case_escalated", 403, "the case is escalated: only an administrator claims or decides it"
    CREDIT_TOO_LOW = "credit_too_low", 403, "the account's credit band does not allow this yet"
    GROUP_CLOSED = "group_closed", 403, "the group is closed by a sanction"
    GROUP_POSTING_SUSPENDED = "group_posting_suspended", 403, "posting in the group is suspended by a sanction"
    IDENTITY_BLACKLISTED = "identity_blacklisted", 403, "the identity is blacklisted and may not register"
    IDENTITY_CLOSED = "identity_closed", 403, "an account of the identity was closed; it may not register again yet"
    NOT_OPERATOR = "not_operator", 403, "only the public account's operator may do this"
    PUBLICATION_LIMITED = "publication_limited", 403, "the account's publication is limited by a sanction"
    READ_ONLY_ROLE = "read_only_role", 403, "a read-only role (the auditor) asked to change something"
    ROLE_REQUIRED = "role_required", 403, "the caller's role lacks the permission; the message names the roles"
    SAME_REVIEWER = "same_reviewer", 403, "an appeal is decided by another reviewer than the one who decided"
    UPDATES_SUSPENDED = "updates_suspended", 403, "the account's updates are suspended by a sanction"
    # account security
    PASSWORD_WRONG = "password_wrong", 403, "a password change gave the wrong current password"
    PASSWORD_CHANGED_MEANWHILE = "password_changed_meanwhile", 409, "another change of the password came first"

    # messages (replies, mentions, recall, read state)
    MENTION_EVERYONE_FORBIDDEN = "mention_everyone_forbidden", 403, "only a group's owner and admins may mention everyone"
    RECALL_NOT_SENDER = "recall_not_sender", 403, "only its sender may recall a message"
    # group life
    GROUP_ADMIN_REQUIRED = "group_admin_required", 403, "only the group's owner or an admin may do this"
    GROUP_OWNER_REQUIRED = "group_owner_required", 403, "only the group's owner may do this"
    MEMBER_MUTED = "member_muted", 403, "the caller is muted in the group: no sends or other writes into it"

    # 404: nothing of that name for the caller -------------------------------------------------
    APPEAL_NOT_FOUND = "appeal_not_found", 404, "no such appeal"
    CASE_NOT_FOUND = "case_not_found", 404, "no such review case (for an appeal: none about the caller's content)"
    CONVERSATION_NOT_FOUND = "conversation_not_found", 404, "no such conversation, or the caller is not a member"
    FORWARD_NOT_FOUND = "forward_not_found", 404, "no such forward of a post"
    GROUP_NOT_FOUND = "group_not_found", 404, "no such group"
    IDENTITY_NOT_FOUND = "identity_not_found", 404, "no identity on file for the user"
    INVITATION_NOT_FOUND = "invitation_not_found", 404, "no invitation of the caller's to that group"
    NO_CHECKPOINT = "no_checkpoint", 404, "no audit-log checkpoint has been written yet"
    NOT_FOUND = "not_found", 404, "no route at this path"
    POST_NOT_FOUND = "post_not_found", 404, "no such post"
    POST_REMOVED = "post_removed", 404, "the post was removed by moderation"
    PUBLIC_ACCOUNT_NOT_FOUND = "public_account_not_found", 404, "no such public account"
    REFUTING_POST_NOT_FOUND = "refuting_post_not_found", 404, "a correction's refuting post is not a published post"
    RESCAN_NOT_FOUND = "rescan_not_found", 404, "no such rescan"
    SANCTION_NOT_FOUND = "sanction_not_found", 404, "no such sanction (for an appeal: none of the caller's)"
    SOURCE_POST_NOT_FOUND = "source_post_not_found", 404, "a re-post's source post, or its original, is gone"
    TARGET_NOT_FOUND = "target_not_found", 404, "a report's target does not exist"
    TERM_NOT_FOUND = "term_not_found", 404, "no such operator lexicon term"
    USER_NOT_FOUND = "user_not_found", 404, "no such user"
    # account security
    SESSION_NOT_FOUND = "session_not_found", 404, "no live session of the caller's with that id"

    # messages (replies, mentions, recall, read state)
    MESSAGE_NOT_FOUND = "message_not_found", 404, "no such message in this conversation for the caller"
    REPLY_TARGET_NOT_FOUND = "reply_target_not_found", 404, "the message replied to is not one the sender can see in this conversation"
    # group life
    JOIN_LINK_NOT_FOUND = "join_link_not_found", 404, "no such join link"
    JOIN_REQUEST_NOT_FOUND = "join_request_not_found", 404, "no pending request of that user to join the group"
    MEMBER_NOT_FOUND = "member_not_found", 404, "the user is not a member of the group"
    # contacts
    CONTACT_NOT_FOUND = "contact_not_found", 404, "the user is not among the caller's friends"
    FRIEND_REQUEST_NOT_FOUND = "friend_request_not_found", 404, "no open friend request from that user to the caller"
    # media
    MEDIA_NOT_FOUND = "media_not_found", 404, "no such media object, or none the caller may read"
    IMAGE_HASH_NOT_FOUND = "image_hash_not_found", 404, "the image hash bank holds no such hash"

    # 405 ----------------------------------------------------------------------------------------
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "the route does not take this HTTP method"

    # 409: the state of things does not allow it ----------------------------------------------
    APPEAL_DECIDED = "appeal_decided", 409, "the appeal is already decided"
    APPEAL_EXISTS = "appeal_exists", 409, "the decision was already appealed"
    APPEAL_THE_SANCTION = "appeal_the_sanction", 409, "the case gave a sanction: appeal the sanction, which covers both"
    AUDIT_LOG_BROKEN = "audit_log_broken", 409, "the audit log no longer hashes to what was signed: rows edited, removed or rolled back"
    CASE_ALREADY_ESCALATED = "case_already_escalated", 409, "the case is already escalated"
    CASE_ALREADY_SANCTIONED = "case_already_sanctioned", 409, "the case has already given its strike"
    CASE_CLAIMED = "case_claimed", 409, "another reviewer has claimed the case"
    CASE_DECIDED = "case_decided", 409, "the case is already decided"
    CASE_NOT_A_VIOLATION = "case_not_a_violation", 409, "only a case that found a violation gives a strike"
    CASE_NOT_ABOUT_SUBJECT = "case_not_about_subject", 409, "the case is not about the sanction's subject"
    CASE_NOT_REMOVED = "case_not_removed", 409, "only a removal can be appealed by its case"
    CHECKPOINT_UNTRUSTED = "checkpoint_untrusted", 409, "an audit-log checkpoint's signature cannot be trusted"
    CLAIMED = "claimed", 409, "another reviewer has claimed the identity"
    CLIENT_ID_REUSED = "client_id_reused", 409, "client_id was already used for a different message"
    HANDLE_TAKEN = "handle_taken", 409, "another account has this handle"
    IDENTITY_LIMIT = "identity_limit", 409, "the identity already holds the most accounts allowed"
    IDENTITY_NOT_CHECKABLE = "identity_not_checkable", 409, "only a format-checked identity the provider has not answered for is checked again"
    IDENTITY_NOT_LINKED = "identity_not_linked", 409, "the identity is linked to no other"
    IDENTITY_NOT_ON_FILE = "identity_not_on_file", 409, "the user has no identity on file"
    IDENTITY_NOT_PENDING = "identity_not_pending", 409, "the identity is not waiting for review"
    MESSAGE_NOT_STORED = "message_not_stored", 409, "the message could not be stored; sending it again may work"
    NAME_TAKEN = "name_taken", 409, "a public account already has this name"
    NO_VERIFIER = "no_verifier", 409, "the server has no identity-verification provider"
    NOT_A_MANAGER = "not_a_manager", 409, "the member is not the group's owner or an admin"
    NOT_ENOUGH_TRAINING_DATA = "not_enough_training_data", 409, "too few decided messages and posts to train a classifier on"
    PHONE_ALREADY_VERIFIED = "phone_already_verified", 409, "the phone is already confirmed"
    PUBLIC_ACCOUNT_LIMIT = "public_account_limit", 409, "the identity holds the most public accounts of this kind allowed"
    PUBLIC_ACCOUNT_STATE = "public_account_state", 409, "the public account is not in the state this needs"
    RECIPIENT_INACTIVE = "recipient_inactive", 409, "the other member of the direct conversation is deregistered or its account closed: messages reach nobody"
    RESCAN_RUNNING = "rescan_running", 409, "a rescan is running already; one runs at a time"
    ROTATION_INCOMPLETE = "rotation_incomplete", 409, "identities are still sealed under older keys: rotate again"
    SANCTION_NOT_ACTIVE = "sanction_not_active", 409, "the sanction is already lifted, ended or reversed"
    # group life
    ALREADY_MEMBER = "already_member", 409, "the user is already a member of the group"
    NOT_A_GROUP = "not_a_group", 409, "the conversation is a direct one, not a group"
    OWNER_MUST_TRANSFER = "owner_must_transfer", 409, "the owner leaves only after transferring ownership, or by dissolving the group"
    # contacts
    ALREADY_FRIENDS = "already_friends", 409, "the two are friends already"

    # 413: too large -----------------------------------------------------------------------------
    BODY_TOO_LARGE = "body_too_large", 413, "the request body is over the limit (max_request_body_bytes)"
    MESSAGE_TOO_LARGE = "message_too_large", 413, "a message's text is over the byte limit"
    IMAGE_TOO_LARGE = "image_too_large", 413, "an image of more pixels than max_image_pixels (a decompression bomb)"
    MEDIA_TOO_LARGE = "media_too_large", 413, "an upload over its kind's byte limit (max_image_bytes, max_file_bytes)"
    HASH_LIST_TOO_LARGE = "hash_list_too_large", 413, "an image hash list over max_hash_list_bytes: import it with the command line"

    # 415: not a format taken ----------------------------------------------------------------------
    MEDIA_TYPE_UNSUPPORTED = "media_type_unsupported", 415, "the upload's bytes are none of the formats taken (media_formats), whatever its name says"

    # 416: a range past the end ------------------------------------------------------------------
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable", 416, "a Range that starts past the end of the file"

    # 422: refused by policy -----------------------------------------------------------------------
    AGREEMENT_OUTDATED = "agreement_outdated", 422, "accept the current user agreement first"
    AGREEMENT_REQUIRED = "agreement_required", 422, "registration needs the current agreement_version"
    APPEAL_WINDOW_CLOSED = "appeal_window_closed", 422, "the window to appeal the decision has closed"
    CODE_EXPIRED = "code_expired", 422, "the SMS code has expired"
    CODE_INVALID = "code_invalid", 422, "the SMS code is wrong"
    CONTENT_BLOCKED = "content_blocked", 422, "the text matches content the policy blocks"
    MEDIA_BLOCKED = "media_blocked", 422, "an attached image is a copy of one the image hash bank holds, which the policy blocks"
    DSA_STATEMENTS_OFF = "dsa_statements_off", 422, "the policy pack files no DSA statements of reasons"
    ENTITLEMENT_NOT_ALLOWED = "entitlement_not_allowed", 422, "a news entitlement the account's category may not be given"
    ENTITY_NAME_REQUIRED = "entity_name_required", 422, "an organisation's account needs its registered name"
    GROUP_JOIN_LIMIT = "group_join_limit", 422, "the person already belongs to the most groups allowed"
    GROUP_TOO_LARGE = "group_too_large", 422, "the group would pass its member limit"
    ID_BIRTH_DATE_INVALID = "id_birth_date_invalid", 422, "the identity number carries an impossible birth date"
    ID_CHECKSUM = "id_checksum", 422, "the identity number fails its checksum"
    ID_NUMBER_INVALID = "id_number_invalid", 422, "the identity number is not of its document's form"
    ID_REGION_UNKNOWN = "id_region_unknown", 422, "the identity number names no known region of issue"
    ID_TYPE_INVALID = "id_type_invalid", 422, "not one of the identity document types"
    ID_TYPE_NOT_ACCEPTED = "id_type_not_accepted", 422, "the identity document type is not accepted by the pack"
    IDENTITY_INVALID = "identity_invalid", 422, "an identity field of the wrong length or with control characters"
    IDENTITY_NOT_MATCHED = "identity_not_matched", 422, "the provider could not match the legal name with the identity number"
    IDENTITY_UNVERIFIED = "identity_unverified", 422, "this needs an identity verified to the level the pack asks"
    LEGAL_NAME_INVALID = "legal_name_invalid", 422, "the legal name is not written as the document needs"
    NAME_CONTACT_DETAILS = "name_contact_details", 422, "a name may not contain phone numbers, accounts or other contact details"
    NAME_RESTRICTED = "name_restricted", 422, "a name uses terms reserved for others"
    NAME_URL = "name_url", 422, "a name may not contain web addresses"
    NEWS_NOT_ENTITLED = "news_not_entitled", 422, "the account is not entitled to publish or re-post this news"
    NOT_DELIVERED = "not_delivered", 422, "a held item reached no one: remove or approve it, not mark_false"
    NOT_REMOVABLE = "not_removable", 422, "a user, group or public account is upheld and sanctioned, not removed"
    NOT_UPHOLDABLE = "not_upholdable", 422, "a violating message or post is removed, not upheld"
    PHONE_INVALID = "phone_invalid", 422, "the phone number is not valid"
    PHONE_UNCONFIRMED = "phone_unconfirmed", 422, "this needs the phone confirmed with an SMS code"
    PUBLIC_ACCOUNT_NOT_APPROVED = "public_account_not_approved", 422, "the public account is not approved: it neither publishes nor takes subscribers"
    PUBLIC_ACCOUNT_SUSPENDED = "public_account_suspended", 422, "the public account is suspended"
    REASON_REQUIRED = "reason_required", 422, "a staff action needs a reason of the right length"
    REFERENCE_UNRELATED = "reference_unrelated", 422, "the case or appeal a reveal names is not about the user revealed"
    REFUTING_POST_NOT_ENTITLED = "refuting_post_not_entitled", 422, "a refuting post must come from an account entitled to news"
    REGISTRATION_NUMBER_INVALID = "registration_number_invalid", 422, "the registration number is not valid for its type"
    REGISTRATION_NUMBER_REQUIRED = "registration_number_required", 422, "an organisation's account needs its registration number and type"
    REGISTRATION_NUMBER_TYPE_NOT_ACCEPTED = "registration_number_type_not_accepted", 422, "not one of the registration number types accepted"
    UNDERAGE = "underage", 422, "the identity's holder is under the minimum age"
    WARNING_REQUIRED = "warning_required", 422, "the pack allows this suspension only after a prior warning"
    # group life
    JOIN_LINK_EXPIRED = "join_link_expired", 422, "the join link has expired"
    JOIN_LINK_REVOKED = "join_link_revoked", 422, "the join link was revoked"
    LINK_JOIN_CLOSED = "link_join_closed", 422, "past link_join_max_members the group is joined by invitation only"

    # messages (replies, mentions, recall, read state)
    MENTION_NOT_MEMBER = "mention_not_member", 422, "a mention names someone who is not a member of the conversation"
    RECALL_WINDOW_PASSED = "recall_window_passed", 422, "the message is older than the pack's recall window (messaging.recall_seconds)"
    # contacts
    GREETING_LIMIT = "greeting_limit", 422, "the caller sent as many greetings as the pack allows before the request is answered"
    MESSAGES_NOT_ACCEPTED = "messages_not_accepted", 422, "the recipient does not take direct messages from the caller: a friend request first, where the pack asks for friendship"

    # 429: too many, try later ------------------------------------------------------------------
    BROADCAST_QUOTA = "broadcast_quota", 429, "the public account's post quota for the period is used up"
    REPORT_RATE_LIMITED = "report_rate_limited", 429, "too many unfounded reports: fewer a day for now"
    TOO_MANY_FORWARDS = "too_many_forwards", 429, "the account forwarded as many posts as the limits allow for now"
    TOO_MANY_REPORTS = "too_many_reports", 429, "the reporter filed as many reports as the limits allow for now"
    TOO_MANY_ATTEMPTS = "too_many_attempts", 429, "too many wrong SMS codes: ask for a new one"
    TOO_MANY_CODES = "too_many_codes", 429, "too many SMS codes asked for"
    TOO_MANY_GROUPS = "too_many_groups", 429, "too many new groups today"
    TOO_MANY_REGISTRATIONS = "too_many_registrations", 429, "too many registrations from this address"
    TOO_MANY_MESSAGES = "too_many_messages", 429, "the sender sent as many messages as the limits allow for now"
    TOO_MANY_LONG_POLLS = "too_many_long_polls", 429, "the caller has as many long polls waiting as allowed"
    TOO_MANY_SOCKETS = "too_many_sockets", 429, "the caller has as many WebSockets open as allowed (a WebSocket error frame)"
    TOO_MANY_REVEALS = "too_many_reveals", 429, "this reviewer revealed as many identities as an hour allows"
    TOO_MANY_LOGIN_ATTEMPTS = "too_many_login_attempts", 429, "too many failed logins from this address; wait retry_after seconds"
    # contacts
    TOO_MANY_LOOKUPS = "too_many_lookups", 429, "the caller looked people up by phone as often as the limits allow for now"
    # media
    TOO_MANY_UPLOADS = "too_many_uploads", 429, "the account uploaded as many media objects as the limits allow for now"
    TOO_MANY_SEARCHES = "too_many_searches", 429, "the caller searched as often as the limits allow for now"

    # messages (typing indicators)
    TOO_MANY_TYPING = "too_many_typing", 429, "typing indicators are sent more often than the limits allow (a WebSocket error frame)"

    # 431: the request's head is too large ------------------------------------------------------
    HEADERS_TOO_LARGE = "headers_too_large", 431, "the request's headers are over the limit (max_header_bytes, max_headers)"

    # 500, 503 and 507 -------------------------------------------------------------------------
    INTERNAL_ERROR = "internal_error", 500, "something failed on the server's side; it is logged"
    VERIFIER_UNAVAILABLE = "verifier_unavailable", 503, "the identity-verification provider did not answer; try later"
    DATABASE_UNAVAILABLE = "database_unavailable", 503, "the database does not answer: nothing of the request was written; try again after Retry-After seconds"
    STORAGE_FULL = "storage_full", 507, "the server's disk is full: nothing of the request was written; try again later"
    # fmt: on


class DomainError(Exception):
    """Base of every refusal a user can be shown. `code` is stable; the message is for people.

    Each kind is one HTTP status, and a code is raised only as the kind of its status, so an
    `except NotFound` catches exactly the 404 codes.
    """

    status: ClassVar[int]

    def __init__(self, message: str, *, code: ErrorCode, subjects: tuple[str, ...] = ()) -> None:
        if code.status != self.status:
            raise TypeError(f"{code} is a {code.status} code, not a {type(self).__name__}")
        super().__init__(message)
        self.message = message
        self.code = code
        # What the refusal names from a fixed vocabulary (a content_blocked's categories), for
        # a message in another language to name too.
        self.subjects = subjects


class InvalidInput(DomainError):
    status = 400


class Unauthenticated(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class TooLarge(DomainError):
    status = 413


class UnsupportedMedia(DomainError):
    status = 415


class RangeNotSatisfiable(DomainError):
    """A byte range of a file that starts past its end; `size` is the file's, for the
    `Content-Range: bytes */<size>` the answer carries."""

    status = 416

    def __init__(self, message: str, *, code: ErrorCode, size: int) -> None:
        super().__init__(message, code=code)
        self.size = size


class PolicyRefusal(DomainError):
    status = 422


class Throttled(DomainError):
    status = 429

    def __init__(self, message: str, *, code: ErrorCode, retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds until trying again can succeed


class Unavailable(DomainError):
    """Something outside Townhall the request needs did not answer; trying later may work."""

    status = 503

    def __init__(self, message: str, *, code: ErrorCode, retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds after which trying again is worth it, if known


class StorageFull(DomainError):
    """The server's storage has no room left: the request wrote nothing, and the same request
    succeeds once the operator frees space (no restart needed)."""

    status = 507
