"""Election pages for members: the election and its calendar, the roll and objections to it, nominations,
the ballot (its tracker shown once), the posted result with its objections, the printed notice, and the
published ballots with the tracker check and the CSV to recount."""
from council.elections import bp, counting, desk, pages  # noqa: F401  (desk: the officials' pages; counting: the poll subject)
