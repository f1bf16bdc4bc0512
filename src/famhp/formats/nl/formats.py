"""Dutch as written in Belgium (issue 13): 03/02/2026, as the French and English pages write it; Django's Dutch
defaults follow the Netherlands (3-2-2026). Whatever is not set here comes from Django's own Dutch formats."""

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
