"""Every action id, callback id and block id the bot renders or listens for, in one place."""

# Slash command
REQUEST_COMMAND = "/request"

# Request modal
REQUEST_MODAL = "request_modal"
B_PRODUCT, A_PRODUCT = "product", "product_select"
B_OTHER_PRODUCT, A_OTHER_PRODUCT = "other_product", "other_product_input"
B_SEATS, A_SEATS = "seats", "seats_input"
B_ESTIMATE, A_ESTIMATE = "estimate", "estimate_input"
B_CHANNEL, A_CHANNEL = "channel", "channel_select"
B_JUSTIFICATION, A_JUSTIFICATION = "justification", "justification_input"
B_NEEDED_BY, A_NEEDED_BY = "needed_by", "needed_by_date"
OTHER_PRODUCT_VALUE = "__other__"

# Approval message
B_DECISION = "decision"
APPROVE = "approve_request"
DENY = "deny_request"

# Deny modal
DENY_MODAL = "deny_modal"
B_DENY_REASON, A_DENY_REASON = "deny_reason", "deny_reason_input"

# Conversational intake and App Home
OPEN_REQUEST = "open_request_modal"
B_HOME_ACTIONS = "home_actions"
B_HOME_NOTICE = "home_notice"  # what the viewer just did on the Home (approved, refused, …)

# Reuse first: the requester's choice, the seat holder's answer, the justification modal
REUSE_TAKE_SEAT = "reuse_take_seat"
REUSE_RECLAIM = "reuse_reclaim"
REUSE_BUY = "reuse_buy"
REUSE_CONTINUE = "reuse_continue"  # continue despite an approved alternative: asks why first
REUSE_ALTERNATIVE = "reuse_alternative"  # one button per alternative: `reuse_alternative:<n>`
REUSE_WITHDRAW = "reuse_withdraw"
B_REUSE_CHOICES = "reuse_choices"
RECLAIM_KEEP = "reclaim_keep"
RECLAIM_RELEASE = "reclaim_release"
B_RECLAIM_ANSWER = "reclaim_answer"
JUSTIFY_MODAL = "reuse_justify_modal"
B_JUSTIFY, A_JUSTIFY = "reuse_justification", "reuse_justification_input"
# Conversational intake: "Did you mean …?" opens the modal for one candidate: `intake_candidate:<n>`
INTAKE_CANDIDATE = "intake_candidate"
B_INTAKE_ACTIONS = "intake_actions"

# Request modal (issue 5): who pays and how sensitive the data is
B_COST_CENTER, A_COST_CENTER = "cost_center", "cost_center_input"
B_CLASSIFICATION, A_CLASSIFICATION = "data_classification", "data_classification_select"
# Request modal: a product we own gets its seats on a contract of their own (not co-termed)
B_SEPARATE_CONTRACT, A_SEPARATE_CONTRACT = "separate_contract", "separate_contract_check"
SEPARATE_CONTRACT_VALUE = "separate"

# Approval chain: the buttons of a step (value `<request id>|<seq>`) and the requester's buttons
REQUEST_CHANGES = "request_changes"
DELEGATE = "delegate_step"
WITHDRAW = "withdraw_request"  # value: the request id; a Block Kit `confirm` asks first
EDIT_REQUEST = "edit_request"  # value: the request id
B_REQUESTER_ACTIONS = "requester_actions"
B_HOME_DECIDE_PREFIX = "home_decide_"  # + `<request id>_<seq>`: one actions block per waiting step
B_HOME_MINE_PREFIX = "home_mine_"  # + `<request id>`: one row of "My requests"
B_HOME_OVER_BUDGET_PREFIX = "home_over_budget_"  # + `<request id>_<seq>`: a waiting step's budget warning

# Request changes modal: the comment is required
CHANGES_MODAL = "changes_modal"
B_CHANGES_COMMENT, A_CHANGES_COMMENT = "changes_comment", "changes_comment_input"

# Delegate modal: who takes the step, and an optional note
DELEGATE_MODAL = "delegate_modal"
B_DELEGATE_TO, A_DELEGATE_TO = "delegate_to", "delegate_to_select"
B_DELEGATE_NOTE, A_DELEGATE_NOTE = "delegate_note", "delegate_note_input"

# Edit modal (after "request changes"): the request's fields, prefilled from the database row;
# seats, estimate, justification and channel reuse the request modal's block and action ids.
EDIT_MODAL = "edit_modal"

# Renewal reminder: its buttons (value: a `payloads.RenewalRef`)
B_RENEWAL_ACTIONS = "renewal_actions"
RENEW = "renewal_renew"
CANCEL = "renewal_cancel"
RENEGOTIATE = "renewal_renegotiate"
SNOOZE = "renewal_snooze"
RENEWAL_BUTTONS = (RENEW, CANCEL, RENEGOTIATE, SNOOZE)

# Renew modal: the new term's seats and price (both optional: blank keeps the current term's)
RENEW_MODAL = "renewal_renew_modal"
B_RENEW_SEATS, A_RENEW_SEATS = "renew_seats", "renew_seats_input"
B_RENEW_PRICE, A_RENEW_PRICE = "renew_price", "renew_price_input"

# Cancel confirmation modal
CANCEL_MODAL = "renewal_cancel_modal"

# Snooze modal
SNOOZE_MODAL = "renewal_snooze_modal"
B_SNOOZE_DAYS, A_SNOOZE_DAYS = "snooze_days", "snooze_days_select"

# App Home: "Upcoming renewals" (ITAM only)
B_HOME_RENEWALS = "home_renewals"
B_HOME_ENDING = "home_renewals_ending"

# Discovery digest in the ITAM channel: one actions block per product, buttons valued by the
# discovery key (`product:figma`, `known:ChatGPT`, `unknown:…`)
B_DISCOVERY_PREFIX = "discovery_"  # + the row's position in the digest
DISCOVERY_ADOPT = "discovery_adopt"
DISCOVERY_BLOCK = "discovery_block"
DISCOVERY_IGNORE = "discovery_ignore"
# Block modal: why, and the approved catalog products to use instead
DISCOVERY_BLOCK_MODAL = "discovery_block_modal"
B_DISCOVERY_REASON, A_DISCOVERY_REASON = "discovery_reason", "discovery_reason_input"
B_DISCOVERY_ALTERNATIVES, A_DISCOVERY_ALTERNATIVES = "discovery_alternatives", "discovery_alternatives_select"
# Ignore modal: why, and for how many days
DISCOVERY_IGNORE_MODAL = "discovery_ignore_modal"
B_DISCOVERY_DAYS, A_DISCOVERY_DAYS = "discovery_days", "discovery_days_input"
# A payer's DM: both open the request modal (value: a `payloads.Prefill`)
B_DISCOVERY_DM = "discovery_dm"
DISCOVERY_GET_SEAT = "discovery_get_seat"
DISCOVERY_OPEN_REQUEST = "discovery_open_request"
