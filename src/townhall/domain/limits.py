"""The input-size and capacity limits every rule checks against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_message_bytes: int = 8192
    max_request_body_bytes: int = 65_536
    max_group_members: int = 500
    max_group_title_chars: int = 128
    max_display_name_chars: int = 64
    max_client_id_chars: int = 64
    history_page_max: int = 200
    sync_page_max: int = 500
    sync_timeout_max_seconds: float = 60.0
    registrations_per_ip_per_hour: int = 20
    # `limits` rate strings: each window a failed login counts in (services/rate_limits.py).
    login_failures_per_account_and_address: str = "5/minute;20/hour;100/day"
    login_failures_per_address: str = "300/hour"
    sends_per_user: str = "20/second;600/minute;10000/day"
    forwards_per_user: str = "30/minute;1000/day"  # posts forwarded into conversations
    typing_per_user: str = "2/second;60/minute"  # typing indicators relayed, never stored
    reports_per_reporter: str = "10/minute;100/day"  # reports one account files
    reports_per_target: str = "20/hour"  # reports of one target that weigh in its case
    long_polls_per_user: int = 8
    sockets_per_user: int = 16
    identity_reveals_per_reviewer_per_hour: int = 20
    identity_reveals_alert_per_hour: int = 10
    max_public_account_name_chars: int = 30
    max_description_chars: int = 500
    max_post_title_chars: int = 128
    max_post_body_chars: int = 20_000
    timeline_page_max: int = 100
    # contacts
    max_greeting_chars: int = 100  # a friend request's greeting
    phone_lookups_per_user: str = "10/minute;50/day"  # finding people by phone number
    # media (domain/media.py): each kind's byte cap, an image's pixel cap (decompression bombs),
    # the formats taken, how many go with one message or post, a file's name, uploads an account
    # makes, and how many images this process decodes at once (each holds its pixels in memory)
    max_image_bytes: int = 20 * 1024 * 1024
    max_file_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    media_formats: tuple[str, ...] = ("jpeg", "png", "gif", "webp", "pdf", "text")
    max_media_per_item: int = 9
    max_filename_chars: int = 255
    uploads_per_user: str = "60/minute;1000/day"
    media_decodes_at_once: int = 2
    # an image hash list imported over the admin API (the command line has none)
    max_hash_list_bytes: int = 16 * 1024 * 1024
    searches_per_user: str = "5/second;200/minute"  # full-text searches of every kind
