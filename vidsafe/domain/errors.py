"""Why a request was refused or a job failed: the codes a client can see, and the one body every refusal has."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class ErrorCode(StrEnum):
    """Why a request was refused or a job failed: stable strings clients can switch on. The README's error
    table lists every member (a test keeps the two equal)."""

    # the uploaded, fetched or named video
    empty_file = "empty_file"
    file_too_large = "file_too_large"
    not_a_video = "not_a_video"
    no_video_stream = "no_video_stream"
    unreadable_media = "unreadable_media"
    partial_coverage = "partial_coverage"
    too_long = "too_long"
    frame_too_large = "frame_too_large"
    unsupported_codec = "unsupported_codec"
    unsupported_container = "unsupported_container"
    bad_frame_rate = "bad_frame_rate"
    too_many_frames = "too_many_frames"
    upload_timeout = "upload_timeout"
    upload_too_slow = "upload_too_slow"
    summary_rate_limited = "summary_rate_limited"
    invalid_range = "invalid_range"
    range_not_satisfiable = "range_not_satisfiable"
    not_multipart = "not_multipart"
    missing_file = "missing_file"
    malformed_upload = "malformed_upload"
    options_too_large = "options_too_large"
    path_not_allowed = "path_not_allowed"
    file_missing = "file_missing"
    url_not_allowed = "url_not_allowed"
    url_unresolvable = "url_unresolvable"
    download_failed = "download_failed"
    # the request itself
    invalid_request = "invalid_request"
    invalid_options = "invalid_options"
    module_unavailable = "module_unavailable"
    webhooks_disabled = "webhooks_disabled"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    job_not_found = "job_not_found"
    batch_not_found = "batch_not_found"
    face_not_found = "face_not_found"
    key_not_found = "key_not_found"
    key_name_taken = "key_name_taken"
    team_not_found = "team_not_found"
    team_name_taken = "team_name_taken"
    idempotency_mismatch = "idempotency_mismatch"
    body_too_large = "body_too_large"
    team_queue_full = "team_queue_full"
    team_quota_exceeded = "team_quota_exceeded"
    invalid_state = "invalid_state"
    invalid_cursor = "invalid_cursor"
    review_not_found = "review_not_found"
    claim_held = "claim_held"
    not_claimed = "not_claimed"
    person_not_found = "person_not_found"
    thumbnail_not_found = "thumbnail_not_found"
    frame_not_indexed = "frame_not_indexed"
    not_an_image = "not_an_image"
    no_face_found = "no_face_found"
    reviewer_not_found = "reviewer_not_found"
    media_gone = "media_gone"
    media_link_invalid = "media_link_invalid"
    media_link_expired = "media_link_expired"
    hash_list_not_found = "hash_list_not_found"
    hash_list_name_taken = "hash_list_name_taken"
    invalid_hash_list = "invalid_hash_list"
    term_bank_not_found = "term_bank_not_found"
    term_bank_name_taken = "term_bank_name_taken"
    invalid_terms = "invalid_terms"
    unknown_text_category = "unknown_text_category"
    too_many_term_banks = "too_many_term_banks"
    policy_version_not_found = "policy_version_not_found"
    category_in_use = "category_in_use"
    policy_too_large = "policy_too_large"
    too_many_rules = "too_many_rules"
    second_reviewer_needed = "second_reviewer_needed"
    escalated_by_you = "escalated_by_you"
    reason_required = "reason_required"
    rejudging_not_found = "rejudging_not_found"
    rejudging_running = "rejudging_running"
    summary_not_found = "summary_not_found"
    missing_api_key = "missing_api_key"
    invalid_api_key = "invalid_api_key"
    insufficient_scope = "insufficient_scope"
    # a dependency or the analysis
    queue_unavailable = "queue_unavailable"
    database_unavailable = "database_unavailable"
    inference_failed = "inference_failed"
    inference_unavailable = "inference_unavailable"
    internal_error = "internal_error"


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str


class ErrorBody(BaseModel):
    """What every refusal answers: ``{"detail": {"code", "message"}}``."""

    detail: ErrorDetail


class MediaError(Exception):
    """Input media that cannot be analysed; carries the code a client sees."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
