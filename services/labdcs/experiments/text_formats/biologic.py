"""BioLogic EC-Lab ``.mpt`` text export (``Nb header lines : N``; ``I/mA``; decimal commas), with or
without its header; the binary ``.mpr`` is :mod:`labdcs.experiments.readers.biologic_mpr`."""

from __future__ import annotations

from labdcs.experiments.formats import Column, Format, Layout, date_time, header_value, number, pick, scaled


class BiologicMpt(Format):
    name = "biologic"
    vendor = "BioLogic EC-Lab"
    description = "BioLogic EC-Lab .mpt text export (time/s, Ewe/V, I/mA), with or without its header"
    delimiter = "\t"
    candidates = {
        "time": {"time/s": number()},
        "voltage": {"Ewe/V": number(), "Ecell/V": number(), "<Ewe>/V": number(), "<Ecell>/V": number()},
        "current": {"I/mA": scaled(1e-3), "<I>/mA": scaled(1e-3), "I/A": number(), "<I>/A": number()},
        "temperature": {"Temperature/°C": number(), "Temperature/C": number()},
        "cycle": {"cycle number": number()},
        "step": {"Ns": number()},
        "charge_capacity": {"Q charge/mA.h": scaled(1e-3), "Q charge/A.h": number()},
        "discharge_capacity": {"Q discharge/mA.h": scaled(1e-3), "Q discharge/A.h": number()},
        "charge_energy": {"Energy charge/W.h": number(), "Energy we charge/W.h": number()},
        "discharge_energy": {"Energy discharge/W.h": number(), "Energy we discharge/W.h": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:5])
        if "EC-Lab ASCII FILE" in text or "Nb header lines" in text:
            return True
        first = head[0] if head else ""  # exported without its header: the column names first
        return first.startswith("mode\t") or ("time/s" in first and "\t" in first and "/V" in first)

    def adjust(self, layout: Layout, header: list[str]) -> None:
        for key in ("Acquisition started on", "Technique started on"):
            value = header_value(layout, key)
            if value:
                try:
                    layout.start = (date_time(value), f"header '{key}'")
                    break
                except ValueError:
                    continue
        layout.integration = "right"
        channel = header_value(layout, "Run on channel")
        layout.channel = channel.split("(")[0].strip() if channel else None
        found = pick(header, {"freq/Hz": number()})
        if found is not None:
            layout.extra["frequency"] = Column("frequency", found[1], found[0], number())
