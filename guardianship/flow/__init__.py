"""Guardian consent before use: one function per use case of the flow.

1. A person the table (`jurisdictions`) shows to be a minor enters the flow: at sign-up, when
   their profile changes, or when staff find them (`minor_account_open`, `minor_status_refresh`,
   `minor_flag_by_staff`). Their MinorAccount waits for a guardian (`awaiting_guardian`, or
   `suspended` when staff found them) until `decide_by`; meanwhile they reach only the waiting
   page (`minor_middleware`) and give no consent themselves (`consent.services`).
2. They name a guardian; the guardian gets a signed, expiring, single-use link
   (`guardian_invite`). The guardian signs in with their own verified adult account, sees what
   the portal collects about the minor and why, and accepts (`guardian_accept`: the
   verification method of the minor's region starts, see `verification`) or declines.
3. Once verified, the guardian approves with their choices for the minor's optional purposes
   (`guardian_approve`: ledger events with actor and method `guardian`).
4. A decline, or no approval by `decide_by` (`minor_accounts_sweep`), erases the minor's data
   through the requests engine: a recorded `delete` request with actor system, after the minor
   is told (`minor_erasure_start`, `minor_erasure_notify`). Someone who comes of age while
   waiting is never erased for want of a guardian: the wait ends (`minor_wait_end_at_majority`).

Every state change is audited with ids only. Mail goes out after commit through Celery tasks
(guardianship.tasks); the rows are the truth and the periodic sweep picks up what a lost task left.

The package is split by sub-domain: `entry` (who waits for a guardian), `invitation` (links,
eligibility, acceptance, approval, decline), `steps` (each verification method's steps),
`erasure` (erasure and the sweep) and `mail`; everything is imported from here.
"""

from guardianship.flow.common import (
    APPROVAL_SALT,
    GUARDIAN_ROLE,
    INVITATION_SALT,
    INVITATIONS_PER_DAY,
    NEEDS_GUARDIAN,
    PROVIDER_SALT,
    UNDECIDED,
    WAITING,
    ErasureReason,
    LinkRefused,
    live_guardianship,
    masked_email,
    minor_account_for,
    waiting_status,
)
from guardianship.flow.entry import (
    FlagResult,
    minor_account_open,
    minor_correction_refusal,
    minor_flag_by_staff,
    minor_status_refresh,
    minor_wait_end_at_majority,
)
from guardianship.flow.erasure import (
    SweepResult,
    guardian_document_reviews_overdue,
    minor_accounts_sweep,
    minor_erasure_notify,
    minor_erasure_start,
)
from guardianship.flow.invitation import (
    ApprovalPurposes,
    SignedLink,
    approval_purposes,
    approval_token,
    guardian_accept,
    guardian_approve,
    guardian_decline,
    guardian_eligibility_problem,
    guardian_invitation_resend,
    guardian_invite,
    guardian_next_step,
    invitation_open,
    invitation_token,
    link_open,
    provider_state,
)
from guardianship.flow.mail import guardian_email_send, minor_email_send
from guardianship.flow.steps import (
    guardian_document_review,
    guardian_document_upload,
    guardian_document_viewed,
    guardian_provider_complete,
    guardian_provider_start,
    guardian_second_confirmation_send,
)

__all__ = [
    "APPROVAL_SALT",
    "GUARDIAN_ROLE",
    "INVITATIONS_PER_DAY",
    "INVITATION_SALT",
    "NEEDS_GUARDIAN",
    "PROVIDER_SALT",
    "UNDECIDED",
    "WAITING",
    "ApprovalPurposes",
    "ErasureReason",
    "FlagResult",
    "LinkRefused",
    "SignedLink",
    "SweepResult",
    "approval_purposes",
    "approval_token",
    "guardian_accept",
    "guardian_approve",
    "guardian_decline",
    "guardian_document_review",
    "guardian_document_reviews_overdue",
    "guardian_document_upload",
    "guardian_document_viewed",
    "guardian_eligibility_problem",
    "guardian_email_send",
    "guardian_invitation_resend",
    "guardian_invite",
    "guardian_next_step",
    "guardian_provider_complete",
    "guardian_provider_start",
    "guardian_second_confirmation_send",
    "invitation_open",
    "invitation_token",
    "link_open",
    "live_guardianship",
    "masked_email",
    "minor_account_for",
    "minor_account_open",
    "minor_accounts_sweep",
    "minor_correction_refusal",
    "minor_email_send",
    "minor_erasure_notify",
    "minor_erasure_start",
    "minor_flag_by_staff",
    "minor_status_refresh",
    "minor_wait_end_at_majority",
    "provider_state",
    "waiting_status",
]
