"""A small Salesforce Data Export built in code, in the documented format (one CSV per object, API field names,
every value quoted): two currencies with dated rates, a role tree without ManagerId, accented stage names in
Windows-1252, all-zero ids, tasks on records that are not deals, deleted rows, and a history with a regression and
an amount change. Shared by the import tests (tests/unit/ingest/test_salesforce_export.py) and the Import page's
AppTest; every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

AS_OF = date(2026, 6, 30)
ZERO = "000000000000000AAA"


def sfid(prefix: str, n: int) -> str:
    """An 18-character Salesforce id with a key prefix: sfid('006', 1) = '006000000000001AAA'."""
    return f"{prefix}{n:012d}AAA"


VERA, MAX, ANA, LI, ZOE, TOM, KIM = (sfid("005", n) for n in range(1, 8))
R_VP, R_MGR, R_AE, R_SDR, R_LEAD = (sfid("00E", n) for n in range(1, 6))
OPP = {n: sfid("006", n) for n in range(1, 12)}
AC1, AC2, AC3 = (sfid("001", n) for n in range(1, 4))
P1, P2 = sfid("01t", 1), sfid("01t", 2)
CASE, LEAD1, LEAD2, LEAD3, CONTACT = sfid("500", 1), sfid("00Q", 1), sfid("00Q", 2), sfid("00Q", 3), sfid("003", 1)
QUEUE = sfid("00G", 1)


def table(header: list[str], rows: list[list[str]]) -> str:
    """CSV text as Salesforce writes it: a header of API names, every value quoted, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ----------------------------------------------------------------------------- the main org (Windows-1252)

ROLES = table(["Id", "Name", "ParentRoleId"], [
    [R_VP, "VP Sales", ""],
    [R_MGR, "Sales Manager", R_VP],
    [R_AE, "Account Executive", R_MGR],
    [R_SDR, "Sales Development Rep", R_LEAD],
    [R_LEAD, "Team Lead", R_VP],
])
# Managers: Vera tops the tree. Max's ManagerId is the all-zero id (empty) -> the one holder of VP Sales, Vera.
# Ana has none -> the one Sales Manager, Max. Li's own ManagerId (Vera) wins over the role tree. Zoé's parent role
# (Team Lead) has two holders, Tom and Kim -> no manager. Tom and Kim -> Vera. From the role tree: Max, Ana, Tom, Kim.
USERS = table(["Id", "Name", "UserRoleId", "ManagerId", "IsActive", "Division"], [
    [VERA, "Vera Vogt", R_VP, "", "1", "EMEA"],
    [MAX, "Max Müller", R_MGR, ZERO, "1", "EMEA"],
    [ANA, "Ana Ruiz", R_AE, "", "1", "LATAM"],
    [LI, "Li Wei", R_AE, VERA, "1", "APAC"],
    [ZOE, "Zoé Blanc", R_SDR, "", "0", "EMEA"],
    [TOM, "Tom Berg", R_LEAD, "", "1", "EMEA"],
    [KIM, "Kim Lee", R_LEAD, "", "1", "APAC"],
])
STAGE_LIST = table(["Id", "MasterLabel", "ApiName", "SortOrder", "IsActive", "IsClosed", "IsWon",
                    "DefaultProbability", "ForecastCategoryName"], [
    [sfid("01J", 1), "Prospección", "Prospección", "1", "1", "0", "0", "10", "Pipeline"],
    [sfid("01J", 2), "Calificación", "Calificación", "2", "1", "0", "0", "20", "Pipeline"],
    [sfid("01J", 3), "Négociation", "Négociation", "3", "1", "0", "0", "60", "Best Case"],
    [sfid("01J", 5), "Cerrada perdida", "Cerrada perdida", "5", "1", "1", "0", "0", "Omitted"],
    [sfid("01J", 4), "Cerrada ganada", "Cerrada ganada", "4", "1", "1", "1", "100", "Closed"],
])
OPP_HEADER = ["Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "Type",
              "LeadSource", "IsClosed", "IsWon", "ForecastCategoryName", "CurrencyIsoCode", "OwnerId", "CreatedDate"]
# Amounts in the reporting currency USD (rates below): EUR is 0.8 per USD before 1 April 2026, 0.9 from then on.
#   O1 Ana  USD 10,000 won 2026-02-15                -> 10,000
#   O2 Ana  EUR 16,000 won 2026-03-10  / 0.8         -> 20,000
#   O3 Li   EUR  9,000 won 2026-04-01  / 0.9 (new rate starts that day) -> 10,000
#   O4 Li   USD 18,000 won 2026-06-01                -> 18,000
#   O5 Tom  EUR  4,500 open, converts on the snapshot date 2026-06-30 / 0.9 -> 5,000
#   O6 Tom  USD  3,000 lost 2026-05-05               -> 3,000
#   O7 Ana  deleted (IsDeleted = 1): left out
#   O8 Ana  EUR    900 open, account all-zero / 0.9  -> 1,000
#   O9 Li   GBP    500 open: GBP's rate is 0         -> no amount
#   O10 Tom JPY 70,000 open: JPY has no rate at all  -> no amount
#   O11 Tom CHF    100 open: CHF's rate is -1.2      -> no amount
# Bookings: Ana 10,000 + 20,000 = 30,000; Li 10,000 + 18,000 = 28,000 (summed as written, Li would lead 27,000
# to 26,000). Open pipeline 5,000 + 1,000 = 6,000 over the 3 deals that have an amount of the 6 open ones.
OPPS = table(OPP_HEADER, [
    [OPP[1], "0", AC1, "Café Olé", "Cerrada ganada", "10000", "100", "2026-02-15", "New Customer", "Web", "1",
     "1", "Closed", "USD", ANA, "2026-01-05T09:00:00.000Z"],
    [OPP[2], "0", AC2, "Müller", "Cerrada ganada", "16000.00", "100", "2026-03-10", "", "Partner", "1", "1",
     "Closed", "EUR", ANA, "2026-01-05T10:00:00.000Z"],
    [OPP[3], "0", AC2, "Müller 2", "Cerrada ganada", "9000", "100", "2026-04-01", "", "Web", "1", "1", "Closed",
     "EUR", LI, "2026-02-01T10:00:00.000Z"],
    [OPP[4], "0", AC1, "Café 2", "Cerrada ganada", "18000", "100", "2026-06-01", "", "", "1", "1", "Closed",
     "USD", LI, "2026-03-01T10:00:00.000Z"],
    [OPP[5], "0", AC1, "Café 3", "Négociation", "4500", "60", "2026-08-31", "", "Web", "0", "0", "Best Case",
     "EUR", TOM, "2026-05-02T10:00:00.000Z"],
    [OPP[6], "0", AC2, "Müller 3", "Cerrada perdida", "3000", "0", "2026-05-05", "", "Web", "1", "0", "Omitted",
     "USD", TOM, "2026-04-01T10:00:00.000Z"],
    [OPP[7], "1", AC1, "Gone", "Cerrada ganada", "99999", "100", "2026-03-01", "", "Web", "1", "1", "Closed",
     "USD", ANA, "2026-01-02T10:00:00.000Z"],
    [OPP[8], "0", ZERO, "No account", "Prospección", "900", "10", "2026-09-30", "", "Web", "0", "0", "Pipeline",
     "EUR", ANA, "2026-06-01T10:00:00.000Z"],
    [OPP[9], "0", AC1, "Pounds", "Calificación", "500", "20", "2026-09-30", "", "Web", "0", "0", "Pipeline",
     "GBP", LI, "2026-06-02T10:00:00.000Z"],
    [OPP[10], "0", AC1, "Yen", "Calificación", "70000", "20", "2026-09-30", "", "Web", "0", "0", "Pipeline",
     "JPY", TOM, "2026-06-03T10:00:00.000Z"],
    [OPP[11], "0", AC1, "Francs", "Calificación", "100", "20", "2026-09-30", "", "Web", "0", "0", "Pipeline",
     "CHF", TOM, "2026-06-04T10:00:00.000Z"],
])
# O2 goes Prospección -> Négociation -> back to Calificación (a regression) -> its amount changes (no move) ->
# Cerrada ganada: 4 moves. O5: Prospección -> Revisión (a stage OpportunityStage.csv lacks) -> Négociation: 3 moves.
# The deleted row is left out. 7 stage changes, 1 row that is not a move.
HISTORY = table(["Id", "OpportunityId", "CreatedById", "CreatedDate", "StageName", "Amount", "ExpectedRevenue",
                 "CloseDate", "Probability", "ForecastCategory", "IsDeleted"], [
    [sfid("008", 3), OPP[2], ANA, "2026-02-01T10:00:00.000Z", "Calificación", "12000", "2400", "2026-03-31", "20",
     "Pipeline", "0"],
    [sfid("008", 1), OPP[2], ANA, "2026-01-05T10:00:00.000Z", "Prospección", "12000", "1200", "2026-03-31", "10",
     "Pipeline", "0"],
    [sfid("008", 2), OPP[2], ANA, "2026-01-20T10:00:00.000Z", "Négociation", "12000", "7200", "2026-03-31", "60",
     "BestCase", "0"],
    [sfid("008", 4), OPP[2], ANA, "2026-02-10T10:00:00.000Z", "Calificación", "16000", "3200", "2026-03-31", "20",
     "Pipeline", "0"],
    [sfid("008", 5), OPP[2], ANA, "2026-03-10T10:00:00.000Z", "Cerrada ganada", "16000", "16000", "2026-03-10",
     "100", "Closed", "0"],
    [sfid("008", 6), OPP[5], TOM, "2026-05-02T10:00:00.000Z", "Prospección", "4000", "400", "2026-08-31", "10",
     "Pipeline", "0"],
    [sfid("008", 7), OPP[5], TOM, "2026-05-20T10:00:00.000Z", "Revisión", "4500", "1800", "2026-08-31", "40",
     "Pipeline", "0"],
    [sfid("008", 8), OPP[5], TOM, "2026-06-10T10:00:00.000Z", "Négociation", "4500", "2700", "2026-08-31", "60",
     "BestCase", "0"],
    [sfid("008", 9), OPP[7], ANA, "2026-01-02T10:00:00.000Z", "Prospección", "99999", "9999", "2026-03-01", "10",
     "Pipeline", "1"],
])
ACCOUNTS = table(["Id", "IsDeleted", "Name", "Industry", "BillingCountry"], [
    [AC1, "0", "Café Olé SA", "Food", "Colombia"],
    [AC2, "0", "Müller GmbH", "Manufacturing", "Germany"],
    [AC3, "1", "Old Co", "", ""],
])
PRODUCTS = table(["Id", "Name", "Family", "IsDeleted"], [[P1, "Plataforma", "Software", "0"],
                                                         [P2, "Soporte", "Services", "0"]])
# O1's main product is P1 (7,000 of its 10,000); O3 has one line, P2.
LINE_ITEMS = table(["Id", "OpportunityId", "Product2Id", "Quantity", "UnitPrice", "TotalPrice", "IsDeleted"], [
    [sfid("00k", 1), OPP[1], P2, "1", "3000", "3000", "0"],
    [sfid("00k", 2), OPP[1], P1, "1", "7000", "7000", "0"],
    [sfid("00k", 3), OPP[3], P2, "3", "3000", "9000", "0"],
])
# T1 on deal O2; T2 on account AC1, dated by CompletedDateTime; T3 on a case (500...) with a lead as WhoId, dated by
# CreatedDate; T4 with the all-zero WhatId; T5 deleted. E1 on deal O5; E2 dated by ActivityDate (no
# ActivityDateTime). Activities: 6.
TASKS = table(["Id", "WhoId", "WhatId", "Subject", "ActivityDate", "Status", "OwnerId", "IsDeleted", "AccountId",
               "IsClosed", "CompletedDateTime", "CreatedDate", "TaskSubtype", "Type"], [
    [sfid("00T", 1), "", OPP[2], "Llamada", "2026-02-02", "Completed", ANA, "0", AC2, "1",
     "2026-02-02T15:00:00.000Z", "2026-02-01T09:00:00.000Z", "Call", "Call"],
    [sfid("00T", 2), "", AC1, "Correo", "", "Completed", ANA, "0", AC1, "1", "2026-03-01T09:00:00.000Z",
     "2026-02-25T09:00:00.000Z", "Email", ""],
    [sfid("00T", 3), LEAD1, CASE, "Seguimiento", "", "Open", LI, "0", "", "0", "", "2026-04-01T08:00:00.000Z",
     "Task", ""],
    [sfid("00T", 4), CONTACT, ZERO, "Réunion", "2026-05-05", "Completed", TOM, "0", "", "1", "",
     "2026-05-01T08:00:00.000Z", "Task", "Meeting"],
    [sfid("00T", 5), "", OPP[1], "Borrada", "2026-02-03", "Completed", ANA, "1", AC1, "1", "",
     "2026-02-01T08:00:00.000Z", "Call", "Call"],
])
EVENTS = table(["Id", "WhoId", "WhatId", "Subject", "ActivityDateTime", "ActivityDate", "StartDateTime", "OwnerId",
                "IsDeleted", "AccountId", "CreatedDate", "EventSubtype", "Type"], [
    [sfid("00U", 1), "", OPP[5], "Visita", "2026-06-12T14:00:00.000Z", "2026-06-12", "2026-06-12T14:00:00.000Z", TOM,
     "0", AC1, "2026-06-01T08:00:00.000Z", "Event", ""],
    [sfid("00U", 2), LEAD2, "", "Demo", "", "2026-06-15", "", KIM, "0", "", "2026-06-02T08:00:00.000Z", "Event",
     "Demo"],
])
# L2 converted into O1; L3 is owned by a queue (00G), which is not a user: kept, unlinked. The \x8d byte in L1's name
# is not a Windows-1252 character: replaced and counted.
LEADS = table(["Id", "IsDeleted", "LastName", "Company", "Status", "LeadSource", "OwnerId", "IsConverted",
               "ConvertedAccountId", "ConvertedOpportunityId", "CreatedDate"], [
    [LEAD1, "0", "Pérez\x8d", "Acme", "Working - Contacted", "Web", ZOE, "0", "", "", "2026-01-10T10:00:00.000Z"],
    [LEAD2, "0", "Gómez", "Café Olé SA", "Closed - Converted", "", ZOE, "1", AC1, OPP[1], "2026-01-02T10:00:00.000Z"],
    [LEAD3, "0", "Ng", "Globex", "Open - Not Contacted", "Event", QUEUE, "0", "", "", "2026-06-20T10:00:00.000Z"],
])
CURRENCIES = table(["Id", "IsoCode", "ConversionRate", "DecimalPlaces", "IsActive", "IsCorporate"], [
    [sfid("02A", 1), "USD", "1.000000", "2", "1", "1"],
    [sfid("02A", 2), "EUR", "0.850000", "2", "1", "0"],
    [sfid("02A", 3), "GBP", "0", "2", "1", "0"],
    [sfid("02A", 4), "CHF", "-1.2", "2", "1", "0"],
])
# Advanced currency management: EUR 0.8 until 1 April 2026 (NextStartDate is the first day it no longer applies),
# 0.9 from then on; the static 0.85 above is not used for EUR.
DATED = table(["Id", "IsoCode", "ConversionRate", "StartDate", "NextStartDate"], [
    [sfid("04w", 1), "USD", "1", "0001-01-01", "9999-12-31"],
    [sfid("04w", 2), "EUR", "0.8", "0001-01-01", "2026-04-01"],
    [sfid("04w", 3), "EUR", "0.9", "2026-04-01", "9999-12-31"],
])


def main_org() -> dict[str, bytes]:
    """The main org, exported with the ISO-8859-1 (Windows-1252) encoding setting."""
    texts = {
        "UserRole.csv": ROLES, "User.csv": USERS, "OpportunityStage.csv": STAGE_LIST, "Opportunity.csv": OPPS,
        "OpportunityHistory.csv": HISTORY, "Account.csv": ACCOUNTS, "Product2.csv": PRODUCTS,
        "OpportunityLineItem.csv": LINE_ITEMS, "Task.csv": TASKS, "Event.csv": EVENTS,
        "CurrencyType.csv": CURRENCIES, "DatedConversionRate.csv": DATED,
    }
    out = {name: text.encode("cp1252") for name, text in texts.items()}
    out["Lead.csv"] = LEADS.replace("\x8d", "").encode("cp1252").replace(b"P\xe9rez", b"P\xe9rez\x8d")
    return out


def export_zip(files: dict[str, bytes], folder: str = "export") -> bytes:
    """The files as the .zip Salesforce sends: every object's CSV in a folder inside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{folder}/{name}", data)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- field history and fiscal periods

# OpportunityFieldHistory (Field, OldValue, NewValue per change, as the object reference documents it). O2 has
# OpportunityHistory rows, so its StageName row here is not used again. O3 and O6 have none: their moves come from
# here, each with a first move at the deal's CreatedDate into the stage its first change left:
#   O3  created 2026-02-01 10:00 in Prospección -> Calificación 02-10 -> Cerrada ganada 04-01   3 moves
#   O6  created 2026-04-01 10:00 in Calificación -> Cerrada perdida 05-05                        2 moves
# Close dates: O4 pushed 05-15 -> 05-31 -> 06-01 (2 pushes), O6 pulled in 06-30 -> 05-05: 3 changes, 2 pushed.
# Amounts: O4 15,000 -> 18,000: 1 change. The deleted row is left out.
FIELD_HISTORY = table(["Id", "IsDeleted", "OpportunityId", "CreatedById", "CreatedDate", "Field", "DataType",
                       "OldValue", "NewValue"], [
    [sfid("017", 1), "0", OPP[2], ANA, "2026-01-20T10:00:00.000Z", "StageName", "Picklist", "Prospección",
     "Négociation"],
    [sfid("017", 2), "0", OPP[3], LI, "2026-02-10T10:00:00.000Z", "StageName", "Picklist", "Prospección",
     "Calificación"],
    [sfid("017", 3), "0", OPP[3], LI, "2026-04-01T09:00:00.000Z", "StageName", "Picklist", "Calificación",
     "Cerrada ganada"],
    [sfid("017", 4), "0", OPP[4], LI, "2026-05-10T08:00:00.000Z", "CloseDate", "Date", "2026-05-15", "2026-05-31"],
    [sfid("017", 5), "0", OPP[4], LI, "2026-05-28T08:00:00.000Z", "CloseDate", "Date", "2026-05-31", "2026-06-01"],
    [sfid("017", 6), "0", OPP[4], LI, "2026-05-28T08:05:00.000Z", "Amount", "Currency", "15000", "18000"],
    [sfid("017", 7), "0", OPP[6], TOM, "2026-05-05T12:00:00.000Z", "StageName", "Picklist", "Calificación",
     "Cerrada perdida"],
    [sfid("017", 8), "0", OPP[6], TOM, "2026-05-05T12:00:00.000Z", "CloseDate", "Date", "2026-06-30", "2026-05-05"],
    [sfid("017", 9), "1", OPP[6], TOM, "2026-04-20T12:00:00.000Z", "StageName", "Picklist", "Calificación",
     "Négociation"],
])
# Fiscal years from 1 February: two years and the four quarters of the later one.
PERIODS = table(["Id", "FiscalYearSettingsId", "Type", "StartDate", "EndDate", "IsForecastPeriod", "QuarterLabel",
                 "PeriodLabel", "Number"], [
    [sfid("026", 1), sfid("022", 1), "Year", "2025-02-01", "2026-01-31", "0", "", "", "2025"],
    [sfid("026", 2), sfid("022", 2), "Year", "2026-02-01", "2027-01-31", "0", "", "", "2026"],
    [sfid("026", 3), sfid("022", 2), "Quarter", "2026-02-01", "2026-04-30", "1", "Q1", "", "1"],
    [sfid("026", 4), sfid("022", 2), "Quarter", "2026-05-01", "2026-07-31", "1", "Q2", "", "2"],
    [sfid("026", 5), sfid("022", 2), "Quarter", "2026-08-01", "2026-10-31", "1", "Q3", "", "3"],
    [sfid("026", 6), sfid("022", 2), "Quarter", "2026-11-01", "2027-01-31", "1", "Q4", "", "4"],
])


def with_field_history(history: bool = True) -> dict[str, bytes]:
    """The main org with OpportunityFieldHistory.csv and Period.csv; without OpportunityHistory.csv when not
    `history` (then every deal's moves come from the field history)."""
    out = main_org()
    if not history:
        del out["OpportunityHistory.csv"]
    out["OpportunityFieldHistory.csv"] = FIELD_HISTORY.encode("cp1252")
    out["Period.csv"] = PERIODS.encode("cp1252")
    return out
