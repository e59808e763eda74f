"""Fill catalog entries from a small table: `python scripts/translate.py FILE.tsv`.

Each line of FILE.tsv is: msgid <TAB> zh_Hans <TAB> zh_Hant. Used by maintainers after
`make update-catalogs`; without a file it only lists what is still untranslated (exit 1 if any).
Reads and writes with Babel itself, so the files keep the layout `pybabel update` gives them.
"""
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent.parent / "council" / "translations"


def main(argv: list[str]) -> int:
    table = {}
    if len(argv) > 1:
        for line in Path(argv[1]).read_text(encoding="utf-8").splitlines():
            if line.strip():
                msgid, hans, hant = line.split("\t")
                table[msgid] = {"zh_Hans": hans, "zh_Hant": hant}
    missing = 0
    for locale in ("zh_Hans", "zh_Hant"):
        path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            if message.id in table:
                message.string = table[message.id][locale]
                message.flags.discard("fuzzy")
            if not message.string or message.fuzzy:
                missing += 1
                print(f"{locale}: untranslated: {message.id!r}")
        with path.open("wb") as handle:
            write_po(handle, catalog, width=76, omit_header=False, sort_output=True, no_location=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
