"""Readers of cycler files into the one normalised form, :class:`~labdcs.experiments.readers.table.Table`."""
