"""The enterprise's self-inspection ledger (隐患自查台账) in and out of Excel: template, import, export.

A ledger entry is a Hazard of the enterprise with ``source = self_ledger`` (the same rows the PWA's
``ledger_entry`` sync entity writes). Its state comes only from its event log, so the import writes through
``record_hazard`` / ``append_event`` and never sets a state.

Where each column goes (headers as in the template; common variants and English are accepted too):

=========================  ==================================================================
序号 / 编号                 Hazard.ledger_no
检查时间 / 排查日期          Hazard.found_at, the time of the 'found' event
检查人 / 排查人              terms["checked_by"]
隐患部位 / 地点              Hazard.place
隐患描述 / 隐患内容          Hazard.description
隐患等级                    Hazard.level (一般事故隐患 → general, 重大事故隐患 → major)
关联检查事项                Hazard.item_code (a catalogue item code such as ST-6)
整改措施                    terms["measures"]
责任人                      terms["responsible_person"]
整改期限                    the 'found' event's deadline (so Hazard.deadline, its projection)
整改资金（元）/（万元）       Hazard.funds_yuan, in yuan exactly: the header's unit, or the cell's own ("3万元")
隐患类别                    terms["category"]
整改状态 / 整改情况          terms["ledger_state"] (未整改/整改中/已整改/已验收, as the ledger says; the hazard's
                           state still comes only from its events: a state claiming a fix with no completion
                           date is noted, one denying a fix that has a completion date is a row error)
备注                        terms["remarks"]
完成日期 / 整改完成时间       terms["completed_on"] (ISO date) and a 'rectification_reported' event
整改完成人                  terms["completed_by"]
复查日期 / 复查人            terms["recheck_on"] (ISO date) / terms["recheck_by"]
验收情况 / 验收结论          terms["acceptance"] (also the 'accepted' event's comment)
验收人 / 验收日期            terms["accepted_by"] / terms["accepted_on"] (ISO date)
治理方案                    Hazard.treatment_plan
措施/责任/资金/时限/预案到位  Hazard.five_in_place {measures, responsibility, funds, time_limit,
                           contingency_plan}; one column 五到位 listing them (or 是/否) also works
报告监管部门日期             Hazard.reported_to_regulator_on
报告职代会日期               Hazard.reported_to_workers_congress_on
是否停产                    Hazard.stop_production
=========================  ==================================================================

The terms keys are the catalogue's 五定 keys (responsible_person, measures, completed_by, accepted_by) plus
the ledger's own facts (checked_by, completed_on, recheck_on, recheck_by, acceptance, accepted_on, category,
ledger_state, remarks).

Dates written without a year ("5月12日", "5.12") take, for the check date, the year the sheet's title names,
else the year of the nearest row above (then below) whose check date has one, else the campaign's; a later
date of the row (deadline, completion…) takes the check date's year, or the next when that would put it
before the check. Each such row is listed in a note saying which year was used. A row whose check date falls
outside the campaign's dates is imported like any other and listed apart (it is the enterprise's record;
campaign figures leave it out). A column nobody recognises is named in a note; when the required columns
are not recognised at all, the portal asks the user what each column is and remembers the answer
(Enterprise.ledger_column_map).

Events a row makes, in time order: 'found' at the check date with the deadline; 'rectification_reported'
at the completion date; for a GENERAL hazard with an acceptance date and an acceptor, 'accepted' (the
enterprise accepts its own general hazards). A MAJOR hazard stays reported until the regulator accepts it
(the report says so in a note). An acceptance without a completion date records the completion at the
acceptance date (noted). A ledger gives days, not times: each event is stamped at noon, in the bureau's time
zone, of its day (found 12:00, reported 12:01, accepted 12:02, so same-day steps keep their order, and never
before an event already logged that day). A date before the step before it is refused, as the state
machine refuses it.

Identity and re-import: an entry's id is uuid5 of (enterprise id, ledger number) or, with no number, of
(check date, place, description), normalised (NFKC, no spaces, lower case); a stored entry with the same
number or the same date/place/description (one made on a tablet, say) is the same entry. Re-importing the
same file changes nothing; a later file appends only the events not yet in the log; a changed description
or terms updates the hazard's fields (listed in the ``ledger.import`` audit event) but never rewrites past
events: a different check date for a known number is a row error, a changed level too (the regulator's
business), and a changed deadline only a note (extensions are made on the web). A blank cell keeps what is
stored. Every cell of a row is checked, and the row's dates replayed through the state machine, before
anything of it is written: a bad row is reported (row, column, reason in Chinese and English), never
half-written.
"""

from __future__ import annotations

from server.services.ledger_excel.columns import (
    COLUMNS,
    NOT_IMPORTED,
    Column,
    Progress,
    entry_id,
    header_spec,
)
from server.services.ledger_excel.importer import (
    ColumnPreview,
    import_ledger,
    mappable_fields,
    preview_columns,
)
from server.services.ledger_excel.report import LedgerImportReport, Note
from server.services.ledger_excel.workbook import XLSX_MIMETYPE, export_ledger, ledger_template

__all__ = [
    "COLUMNS",
    "NOT_IMPORTED",
    "XLSX_MIMETYPE",
    "Column",
    "ColumnPreview",
    "LedgerImportReport",
    "Note",
    "Progress",
    "entry_id",
    "export_ledger",
    "header_spec",
    "import_ledger",
    "ledger_template",
    "mappable_fields",
    "preview_columns",
]
