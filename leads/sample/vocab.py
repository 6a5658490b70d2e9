"""Built-in word lists and market tables the synthetic counties are drawn from (all made up or public aggregates)."""

from __future__ import annotations

FIRST_NAMES = (
    "JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID", "ELIZABETH",
    "WILLIAM", "BARBARA", "RICHARD", "SUSAN", "JOSEPH", "JESSICA", "THOMAS", "KAREN", "CHARLES", "SARAH",
    "CHRISTOPHER", "LISA", "DANIEL", "NANCY", "MATTHEW", "SANDRA", "ANTHONY", "BETTY", "MARK", "ASHLEY",
    "DONALD", "EMILY", "STEVEN", "KIMBERLY", "ANDREW", "MARGARET", "PAUL", "DONNA", "JOSHUA", "MICHELLE",
    "KENNETH", "CAROL", "KEVIN", "AMANDA", "BRIAN", "MELISSA", "TIMOTHY", "DEBORAH", "RONALD", "STEPHANIE",
    "GEORGE", "REBECCA", "JASON", "SHARON", "EDWARD", "LAURA", "JEFFREY", "CYNTHIA", "RYAN", "DOROTHY",
    "JACOB", "AMY", "NICHOLAS", "KATHLEEN", "GARY", "ANGELA", "ERIC", "SHIRLEY", "JONATHAN", "EMMA",
    "LUIS", "MARIA", "CARLOS", "ROSA", "JOSE", "ANA", "MIGUEL", "CARMEN", "NGUYEN", "MEI",
)  # fmt: skip

LAST_NAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
    "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN",
    "LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON",
    "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES",
    "GREEN", "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS",
    "GOMEZ", "PHILLIPS", "EVANS", "TURNER", "DIAZ", "PARKER", "CRUZ", "EDWARDS", "COLLINS", "REYES",
    "STEWART", "MORRIS", "MORALES", "MURPHY", "COOK", "ROGERS", "GUTIERREZ", "ORTIZ", "MORGAN", "COOPER",
    "PETERSON", "BAILEY", "REED", "KELLY", "HOWARD", "RAMOS", "KIM", "COX", "WARD", "RICHARDSON",
    "WATSON", "BROOKS", "CHAVEZ", "WOOD", "JAMES", "BENNETT", "GRAY", "MENDOZA", "RUIZ", "HUGHES",
    "PRICE", "ALVARADO", "CASTILLO", "SANDERS", "PATEL", "MYERS", "LONG", "ROSS", "FOSTER", "JIMENEZ",
    "VANDERBILT-HOLLINGSWORTH", "MONTGOMERY-FITZPATRICK", "CHRISTODOULOPOULOS", "WASHINGTON-LAFAYETTE",
)  # fmt: skip

STREET_NAMES = (
    "OAK", "MAPLE", "PINE", "CEDAR", "ELM", "MAGNOLIA", "CYPRESS", "PALM", "WILLOW", "BIRCH",
    "HICKORY", "SYCAMORE", "DOGWOOD", "LAUREL", "POPLAR", "ASPEN", "SPRUCE", "CHESTNUT", "WALNUT", "JUNIPER",
    "MAIN", "CHURCH", "MILL", "LAKE", "RIVER", "HILL", "PARK", "SPRING", "MEADOW", "FOREST",
    "SUNSET", "SUNRISE", "HARBOR", "BAY", "OCEAN", "CORAL", "SHELL", "SAND", "DUNE", "LAGOON",
    "WASHINGTON", "LINCOLN", "JEFFERSON", "MADISON", "MONROE", "JACKSON", "FRANKLIN", "HAMILTON", "ADAMS", "GRANT",
    "FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH", "NINTH", "TENTH",
    "HIGHLAND", "VALLEY", "CANYON", "MESA", "VISTA", "SIERRA", "MOUNTAIN", "RIDGE", "SUMMIT", "CREST",
    "ORCHARD", "VINEYARD", "PRAIRIE", "FIELD", "GROVE", "GARDEN", "ORANGE", "LEMON", "LIME", "CITRUS",
    "BLUEBIRD", "CARDINAL", "ROBIN", "SPARROW", "HERON", "PELICAN", "EAGLE", "FALCON", "HAWK", "OSPREY",
    "COLONIAL", "HERITAGE", "LIBERTY", "INDEPENDENCE", "PATRIOT", "PIONEER", "FRONTIER", "MISSION", "PRESIDIO",
    "RANCHO", "MARTIN LUTHER KING", "OLD MILL", "COUNTRY CLUB", "SAINT JAMES", "LA PALOMA", "EL CAMINO",
    "BEL AIR", "SAN PEDRO", "SANTA ROSA", "DEL MAR", "LOS ALAMOS", "VAN BUREN", "MC KINLEY", "DE SOTO",
    "BRIARWOOD", "FOXGLOVE", "HONEYSUCKLE", "JASMINE", "LAVENDER", "PRIMROSE", "ROSEWOOD", "THISTLE", "VIOLET",
    "WISTERIA", "AZALEA", "CAMELLIA", "GARDENIA", "HIBISCUS", "IRIS", "LILAC", "LOTUS", "ORCHID", "PEONY",
    "TULIP", "ZINNIA", "BRAMBLE", "HEATHER", "IVY", "FERN", "MOSS", "CLOVER", "SAGE", "BASIL",
)  # fmt: skip

# (roll abbreviation, spelled out) -- USPS Publication 28 forms
STREET_SUFFIXES = (
    ("ST", "STREET"), ("AVE", "AVENUE"), ("DR", "DRIVE"), ("LN", "LANE"), ("CT", "COURT"),
    ("BLVD", "BOULEVARD"), ("RD", "ROAD"), ("WAY", "WAY"), ("PL", "PLACE"), ("CIR", "CIRCLE"),
)  # fmt: skip
DIRECTIONS = (("", ""), ("N", "NORTH"), ("S", "SOUTH"), ("E", "EAST"), ("W", "WEST"))
DIRECTION_WEIGHTS = (0.7, 0.075, 0.075, 0.075, 0.075)

SUBDIVISION_FIRST = (
    "SUNSET", "OAK", "PALM", "LAKE", "RIVER", "PINE", "CEDAR", "MAPLE", "WILLOW", "CYPRESS",
    "HIDDEN", "ROYAL", "COUNTRY", "SILVER", "GOLDEN", "EAGLE", "FOX", "DEER", "QUAIL", "HERON",
)  # fmt: skip
SUBDIVISION_SECOND = (
    "PARK", "MEADOWS", "ESTATES", "HILLS", "GROVE", "CREEK", "POINTE", "RIDGE", "TRAILS", "LANDING",
    "GARDENS", "VILLAGE", "SHORES", "COVE", "CROSSING", "HEIGHTS", "PLACE", "OAKS", "WOODS", "RESERVE",
)  # fmt: skip

ENTITY_WORDS = (
    "ACME", "SUMMIT", "BLUE SKY", "KEYSTONE", "PINNACLE", "HORIZON", "CARDINAL", "NORTHSTAR", "GULF COAST",
    "LONE STAR", "GOLDEN STATE", "SUNBELT", "PALMETTO", "REDWOOD", "CORNERSTONE", "BRIGHTWATER",
)  # fmt: skip
ENTITY_KINDS = ("HOLDINGS LLC", "PROPERTIES LLC", "INVESTMENTS LLC", "REALTY LLC", "HOMES LLC")

# Servicers / foreclosing lenders: a fixed list so that loan feeds and filings share exact spellings.
LENDERS = (
    "WELLS FARGO BANK NA",
    "NATIONSTAR MORTGAGE LLC",
    "DEUTSCHE BANK NATIONAL TRUST COMPANY, AS TRUSTEE",
    "U.S. BANK NATIONAL ASSOCIATION",
    "LAKEVIEW LOAN SERVICING LLC",
    "JPMORGAN CHASE BANK NA",
    "BANK OF AMERICA NA",
    "PENNYMAC LOAN SERVICES LLC",
    "FREEDOM MORTGAGE CORPORATION",
    "ROCKET MORTGAGE LLC",
    "CARRINGTON MORTGAGE SERVICES LLC",
    "NEWREZ LLC",
    "SELECT PORTFOLIO SERVICING INC",
    "THE BANK OF NEW YORK MELLON, AS TRUSTEE",
    "MIDFIRST BANK",
)
LENDER_WEIGHTS = (0.12, 0.1, 0.06, 0.07, 0.08, 0.09, 0.08, 0.07, 0.07, 0.08, 0.05, 0.05, 0.03, 0.02, 0.03)

CA_TRUSTEES = (
    "QUALITY LOAN SERVICE CORP",
    "CLEAR RECON CORP",
    "BARRETT DAFFIN FRAPPIER TREDER & WEISS LLP",
    "AFFINIA DEFAULT SERVICES LLC",
    "PRESTIGE DEFAULT SERVICES LLC",
    "THE WOLF FIRM",
    "ZBS LAW LLP",
    "NBS DEFAULT SERVICES LLC",
)

FL_GOVERNMENT_PLAINTIFFS = (
    "HILLSBOROUGH COUNTY",
    "CITY OF TAMPA",
    "STATE OF FLORIDA DEPARTMENT OF REVENUE",
    "CITY OF PLANT CITY",
)
FL_SALE_BUYERS = ("CLERK OF COURT",)

# Per county: (city, weight, zip codes). Real place names and ZIP codes; everything at them is synthetic.
COUNTY_CITIES: dict[str, tuple[tuple[str, float, tuple[str, ...]], ...]] = {
    "fl_hillsborough": (
        ("TAMPA", 0.5, ("33602", "33603", "33604", "33609", "33610", "33611", "33612", "33613", "33614",
                        "33615", "33616", "33617", "33618", "33619", "33624", "33625", "33626", "33629",
                        "33634", "33647")),
        ("BRANDON", 0.08, ("33510", "33511")),
        ("RIVERVIEW", 0.08, ("33569", "33578", "33579")),
        ("PLANT CITY", 0.06, ("33563", "33565", "33566", "33567")),
        ("VALRICO", 0.05, ("33594", "33596")),
        ("LUTZ", 0.05, ("33548", "33549", "33558", "33559")),
        ("SEFFNER", 0.04, ("33584",)),
        ("RUSKIN", 0.05, ("33570", "33573")),
        ("APOLLO BEACH", 0.04, ("33572",)),
        ("ODESSA", 0.05, ("33556",)),
    ),
    "ca_riverside": (
        ("RIVERSIDE", 0.25, ("92501", "92503", "92504", "92505", "92506", "92507", "92508")),
        ("CORONA", 0.12, ("92879", "92880", "92881", "92882", "92883")),
        ("MORENO VALLEY", 0.12, ("92551", "92553", "92555", "92557")),
        ("TEMECULA", 0.08, ("92590", "92591", "92592")),
        ("MURRIETA", 0.08, ("92562", "92563")),
        ("HEMET", 0.07, ("92543", "92544", "92545")),
        ("MENIFEE", 0.07, ("92584", "92585", "92586", "92587")),
        ("INDIO", 0.05, ("92201", "92203")),
        ("PALM DESERT", 0.04, ("92211", "92260")),
        ("PERRIS", 0.05, ("92570", "92571")),
        ("LAKE ELSINORE", 0.04, ("92530", "92532")),
        ("BEAUMONT", 0.03, ("92223",)),
    ),
    "tx_harris": (
        ("HOUSTON", 0.55, ("77002", "77003", "77004", "77005", "77006", "77007", "77008", "77009", "77018",
                           "77019", "77024", "77025", "77026", "77027", "77035", "77036", "77040", "77041",
                           "77042", "77055", "77057", "77063", "77072", "77079", "77084", "77095")),
        ("PASADENA", 0.07, ("77502", "77503", "77504", "77505", "77506")),
        ("BAYTOWN", 0.05, ("77520", "77521")),
        ("KATY", 0.07, ("77449", "77450", "77494")),
        ("SPRING", 0.07, ("77373", "77379", "77388", "77389")),
        ("HUMBLE", 0.05, ("77338", "77346", "77396")),
        ("TOMBALL", 0.04, ("77375", "77377")),
        ("CYPRESS", 0.05, ("77429", "77433")),
        ("LA PORTE", 0.02, ("77571",)),
        ("FRIENDSWOOD", 0.03, ("77546",)),
    ),
}  # fmt: skip

# Absentee owners who live outside the county: (city, state, zip)
OUT_OF_AREA = (
    ("ATLANTA", "GA", "30303"), ("NEW YORK", "NY", "10016"), ("CHICAGO", "IL", "60614"),
    ("DALLAS", "TX", "75201"), ("AUSTIN", "TX", "78701"), ("SAN DIEGO", "CA", "92101"),
    ("LOS ANGELES", "CA", "90012"), ("IRVINE", "CA", "92618"), ("ORLANDO", "FL", "32801"),
    ("MIAMI", "FL", "33130"), ("PHOENIX", "AZ", "85004"), ("DENVER", "CO", "80202"),
    ("SEATTLE", "WA", "98101"), ("CHARLOTTE", "NC", "28202"), ("TORONTO", "ON", "M5V 2T6"),
)  # fmt: skip

# Freddie Mac PMMS 30-year fixed rate, annual mean of the weekly series, percent (2026: Jan-May).
PMMS_30Y_ANNUAL: dict[int, float] = {
    1995: 7.93, 1996: 7.81, 1997: 7.60, 1998: 6.94, 1999: 7.44, 2000: 8.05, 2001: 6.97, 2002: 6.54,
    2003: 5.83, 2004: 5.84, 2005: 5.87, 2006: 6.41, 2007: 6.34, 2008: 6.03, 2009: 5.04, 2010: 4.69,
    2011: 4.45, 2012: 3.66, 2013: 3.98, 2014: 4.17, 2015: 3.85, 2016: 3.65, 2017: 3.99, 2018: 4.54,
    2019: 3.94, 2020: 3.11, 2021: 2.96, 2022: 5.34, 2023: 6.81, 2024: 6.72, 2025: 6.60, 2026: 6.19,
}  # fmt: skip

# Approximate US house price index, annual, 2026 = 100 (shape of the FHFA all-transactions index).
HPI_ANNUAL: dict[int, float] = {
    1995: 31, 1996: 32, 1997: 33, 1998: 35, 1999: 37, 2000: 39, 2001: 42, 2002: 45, 2003: 48, 2004: 53,
    2005: 58, 2006: 61, 2007: 60, 2008: 55, 2009: 51, 2010: 49, 2011: 47, 2012: 48, 2013: 51, 2014: 54,
    2015: 57, 2016: 61, 2017: 65, 2018: 69, 2019: 73, 2020: 77, 2021: 89, 2022: 98, 2023: 97, 2024: 99,
    2025: 100, 2026: 100,
}  # fmt: skip
