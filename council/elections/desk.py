"""Election pages for officials: calling an election, appointing officials, ruling on roll objections,
publishing the candidates, the tellers' desk (written proxies, paper check-off) and paper batches, the count,
further rounds and closing the election."""
from council.elections import bp  # noqa: F401
