"""The monthly progress report (进展情况统计表, the notice's attachment due on the 23rd of every month) and the
final summary (due by 15 November), computed AS OF the report's cut-off so that a past report regenerated at
any later time gives the same figures.

Reporting rules (the notice names the figures, not how to count them; decided here):

Cut-off. A monthly report is taken at the end of the 23rd of its month in the bureau's time zone (TIMEZONE,
Asia/Shanghai): whatever happened and reached the server before 00:00 on the 24th counts. The final summary is
taken at the end of 15 November of the campaign's year (the year its last phase ends). All figures are
cumulative from the start of the campaign to the cut-off. Before its cut-off a report is provisional (so
marked) and dated today; afterwards it is dated on the cut-off day.

Two clocks. Every record carries the time it happened (finished_at of an inspection, found_at of a hazard,
``at`` of a hazard event: device clocks) and the time the server had it (submitted_received_at, the event's
received_at, a review's decided_at: server clock). A record counts only when both are before the cut-off.
The server's clock is what makes a filed report reproducible: a tablet that syncs after the 23rd, or a
rectification reported later but dated earlier, changes no past report and shows in the next (cumulative)
one. The device's clock keeps out what is dated after the cut-off (a tablet whose clock runs fast).

Counting inspection: by a regulator (any kind but the enterprise's own 'self'), submitted (sealed) before the
cut-off, not returned by a review decided before it, and not superseded by a correction (corrects_id) that
itself counts. A draft never counts; a returned record is corrected by a new one, which counts instead.

Hazards found: a hazard whose 'found' event is on record before the cut-off, that was not deleted by then and,
when it was recorded in an inspection, whose inspection was submitted by then (a draft's findings may still be
edited or dropped on the tablet). Hazards of a returned inspection count: the visit found them, and they are
followed to closure like any other. Every source counts (the form asks for all hazards found); the report
also splits them by source: regulators (county or city inspections) and the enterprises' own ledgers.

State as of the cut-off: each hazard's event log up to the cut-off (both clocks), in its own order (time, then
receipt, then id), is replayed through the state machine (server.domain.hazards.apply_event, the steps of
replay), which gives the state, the deadline and the listing then. One pass over the scope's events (a county
holds some 60,000) yields every moment a report needs: the cut-off and the ends of the phases. A log the server
held at some moment was valid then, and any prefix of a valid log is valid, so the replay never refuses; if
stored data were ever corrupt, the hazard keeps the state of its last good event. Rectified = accepted or closed
at the cut-off; rectification rate = rectified / found. Overdue at the cut-off = not yet reported fixed (found,
planned or rejected) with a deadline before the cut-off day (the dashboard's rule on that day).

Inspection groups (section 1): a group is a distinct set of inspectors (law-enforcement officers, role
'inspector') who made at least one counting inspection together; experts who came along do not make another
group. People = distinct inspectors; experts = distinct experts (role 'expert'). A participant is the user
account when there is one, else the name and badge number. In the city's report each county's row counts the
teams that inspected that county's enterprises; the total counts each team and person once.

Supervising departments (section 2): inspections by the county (every counting kind but 'city_sampling') and
by the city (kind 'city_sampling'), in 家次 (visits); enterprises covered = distinct enterprises with a counting
inspection; in scope = enterprises of the region not deleted by the cut-off; coverage = covered / in scope;
清零 = enterprises cleared as of the cut-off (server.domain.clearance with the latest counting inspection and
key-item hazard states as of the cut-off).

Enterprises self-inspected (section 3): enterprises with a submitted self-assessment (an inspection of kind
'self') or at least one hazard in their self-inspection ledger (source 'self_ledger') found by the cut-off:
either is the record of a self-inspection. Funds = the sum of funds_yuan of the hazards found.

Per phase: coverage = enterprises with a counting inspection finished within the phase's days (bureau time).
清零 is a state, not a count of events, so a phase's 清零 is that state when the phase closed (its last day), or
at the cut-off for the phase running then: the phase's outcome, which is what its deadline (e.g. county
coverage and 清零 by 31 August) is judged on. It uses what the server had by the report's cut-off: the latest
inspection finished by that day, hazards found and events dated by that day. It is shown only once a
regulator's inspection had been finished by that day ("—" before: nothing can be cleared without one), and not
for phases that had not begun. (The dashboard's coverage per phase counts by UTC days and today's statuses, so
it may differ from the report's by an inspection finished between 00:00 and 08:00 bureau time, or returned
since the cut-off.)

What is not versioned, and so shows as it is now: an enterprise's region and sector flags, a hazard's
descriptive fields (description, measures, responsible person, funds; frozen once its inspection is sealed,
but an enterprise may still edit its own ledger entries), and the registry itself: an enterprise added after
the cut-off counts in scope, because the registry records no date from which an enterprise is under
supervision (created_at is the import time, which for the demo county is after its back-dated activity).

Ids are read as text (``key()``: hex on SQLite, the dashed form on PostgreSQL) and only compared with each other;
they are turned back into UUIDs only to bind an IN list: building some 100,000 uuid.UUID objects per report
would cost a sixth of its time.

Cached. The pages and the JSON keep each report's counted figures (ReportCache, a StampedCache per scope, period,
report day and campaign phases) until the next write of a synced row moves the change counter, and each
workbook drawn of them per heading and audit head: a report is counted once per write, not once per view. The
heading (who files it, the phone, provisional or not) is made anew on every view. The counting itself shares
what moments have in common: one replay of the event log for every moment, and one 清零 verdict per distinct
set of inputs (server.domain.clearance reads only the applicable items, the answers and the linked hazards'
states).

Patched after a write. A count keeps what it read, by enterprise (its rows, visits, hazards and their statuses
replayed at every moment the report may need, the visits' people, self-assessments, hazards outside the campaign,
and the 清零 verdicts at each moment), for the newest few reports of the cache. The next count after a write reads
only the enterprises whose rows, inspections, answers, reviews, hazards or hazard events took a change number
since (the change counter numbers writes in commit order), replays their hazards and decides their 清零 again, and
counts the figures from the merged reading: the same figures as a count from scratch (tests with random writes
compare them). A catalogue written, more than PATCH_LIMIT enterprises written, or a correction of another
enterprise's inspection (never made by the app) reads everything again.

Stale while recounted. A page (and the JSON) may show figures older than the data: after a write, the last count
of the same report (scope, period, day, phases) is shown at once, labelled with the moment it was counted (on the
page in the reader's language; ``stale`` and ``counted_at`` in the JSON), while one background job per report
("report_recount", found through the job table by any server) counts it again; the page reloads when the newer
count is there. With no earlier count the request counts it itself. The workbook, the document filed upward, is
never stale: it is always counted at the change counter of its request (server.job_kinds.report_for_page).

Where each part lives: ``period`` (the cut-off), ``units`` (the reporting scope, one row per county), ``as_of``
(what counts as of a moment), ``clearance`` (清零 as of a moment), ``figures`` (the form and its figures),
``build`` (building a report), ``phases`` (per phase), ``majors`` (the itemised major hazards) and ``xlsx``
(the form as a workbook, imported on its own). The names other modules use are imported here.
"""

from __future__ import annotations

from server.services.progress_report.as_of import load_hazards, statuses_as_of
from server.services.progress_report.build import ReportCache, _hazard_counts, build_report, set_report_phone
from server.services.progress_report.figures import (
    COLUMNS,
    FILLED_BY,
    FILLED_ON,
    FORM_TITLE,
    ITEM_COLUMN,
    MAJOR_TITLE,
    PHONE,
    SECTIONS,
    UNIT,
    ProgressReport,
    UnitFigures,
)
from server.services.progress_report.period import (
    Period,
    local_end_of,
    parse_period,
    report_cutoff,
    report_months,
)
from server.services.progress_report.units import ReportUnit, enterprises_in_scope, report_scope

__all__ = [
    "COLUMNS",
    "FILLED_BY",
    "FILLED_ON",
    "FORM_TITLE",
    "ITEM_COLUMN",
    "MAJOR_TITLE",
    "PHONE",
    "SECTIONS",
    "UNIT",
    "Period",
    "ProgressReport",
    "ReportCache",
    "ReportUnit",
    "UnitFigures",
    "_hazard_counts",
    "build_report",
    "enterprises_in_scope",
    "load_hazards",
    "local_end_of",
    "parse_period",
    "report_cutoff",
    "report_months",
    "report_scope",
    "set_report_phone",
    "statuses_as_of",
]
