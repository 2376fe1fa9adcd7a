"""The battery experiments manager: what lab staff use every day around the battery stations.

One job per module:

- :mod:`~labdcs.experiments.documents`: the documents (cell types, cells, stations, protocols,
  experiments, cycle statistics, data files, audit) as pydantic models, with schema versions;
- :mod:`~labdcs.experiments.store`: those documents in MongoDB (pymongo) or, natively, in an embedded
  MongoDB-API engine on SQLite (montydb), chosen by the connection URL (``store_base``: the engine,
  indexes, migrations, audit log; ``store_catalogue``: cell types, cells, stations, protocols);
- :mod:`~labdcs.experiments.queue`: starts queued experiments on idle stations over the MQTT contract
  and follows them (states, statistics);
- :mod:`~labdcs.experiments.series`: an experiment's time series in InfluxDB (read in chunks, write,
  delete);
- :mod:`~labdcs.experiments.formats`, :mod:`~labdcs.experiments.text_formats` and
  :mod:`~labdcs.experiments.importers`: what a text format is, the vendors' file layouts (one
  module each), detection from the content, reading; :mod:`~labdcs.experiments.readers`: the
  normalised columnar form (``table``), the text reader (``text``), binary detection (``sniff``),
  the time and sign policies (``verify``) and what is stored (``derive``);
- :mod:`~labdcs.experiments.importing`: atomic import of a file (time series + documents);
- :mod:`~labdcs.experiments.cycles`: cycle statistics computed from samples;
- :mod:`~labdcs.experiments.export`: streamed CSV in the Battery Data Format's column names;
- :mod:`~labdcs.experiments.report`: the self-contained HTML report;
- :mod:`~labdcs.experiments.harvester`: watched folders;
- :mod:`~labdcs.experiments.uploads`: the upload size limit (413 before a body is stored);
- :mod:`~labdcs.experiments.api` and :mod:`~labdcs.experiments.web`: the REST API and the web UI
  (its frame, favicon and shared JavaScript helpers in :mod:`~labdcs.experiments.web_base`),
  served by :mod:`~labdcs.experiments.server` (``labdcs experiments serve``).
"""
