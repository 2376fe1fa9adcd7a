# %% [markdown]
# # Capacity fade of an experiment: from the manager's API into pandas
#
# A notebook in the percent format (each `# %%` is a cell: VS Code, PyCharm and Jupytext open it
# as a notebook; `python docs/examples/capacity_fade.py` runs it whole). It reads an experiment's
# per-cycle statistics through `labdcs.manager_api`, the typed client generated from the
# manager's OpenAPI document, with a read token of your own:
#
# ```console
# $ labdcs users token create --scope read --name notebook --out ~/.labdcs-token
# $ LABDCS_MANAGER_URL=https://lab.example/ LABDCS_TOKEN_FILE=~/.labdcs-token \
#       python docs/examples/capacity_fade.py
# ```
#
# `EXPERIMENT` names the experiment (default: the latest one that has cycles); the plot goes to
# `CAPACITY_FADE_PNG` (default `capacity-fade.png`).

# %%
import os

import matplotlib

matplotlib.use("Agg")  # no display needed; in a notebook, drop this line to see the figure inline
import matplotlib.pyplot as plt
import pandas as pd

from labdcs.experiments.manager_client import find_manager
from labdcs.manager_api.api.experiments import cycles_api_experiments_experiment_id_cycles_get as cycles
from labdcs.manager_api.api.experiments import list_experiments_api_experiments_get as experiments
from labdcs.manager_api.models import CycleStat, Experiment, PageExperiment

manager = find_manager(admin=False)  # LABDCS_MANAGER_URL, LABDCS_TOKEN_FILE or LABDCS_TOKEN

# %% [markdown]
# ## The experiment
# Typed answers: `Experiment` and `CycleStat` are classes of the generated client, so an editor
# completes their fields and mypy checks them.

# %%
wanted = os.environ.get("EXPERIMENT")
if wanted:
    from labdcs.manager_api.api.experiments import get_experiment_api_experiments_experiment_id_get as one

    experiment = manager.one(Experiment, one.sync_detailed, wanted)
else:
    page = manager.one(PageExperiment, experiments.sync_detailed, limit=50)
    experiment = next(e for e in page.items if e.cycles)
print(f"{experiment.id}: {experiment.name} on cell {experiment.cell}, {experiment.cycles} cycles")

# %% [markdown]
# ## Per-cycle statistics as a DataFrame

# %%
stats = manager.many(CycleStat, cycles.sync_detailed, experiment.id)
frame = pd.DataFrame([s.to_dict() for s in stats]).set_index("cycle_index").sort_index()
frame["retention_pct"] = 100 * frame["discharge_capacity"] / frame["discharge_capacity"].iloc[0]
print(frame[["discharge_capacity", "charge_capacity", "retention_pct"]].to_string())

# %% [markdown]
# ## Capacity fade

# %%
figure, axis = plt.subplots(figsize=(7, 4))
axis.plot(frame.index, frame["discharge_capacity"], marker="o", label="discharge")
axis.plot(frame.index, frame["charge_capacity"], marker=".", linestyle="--", label="charge")
axis.set_xlabel("cycle")
axis.set_ylabel("capacity (Ah)")
axis.set_title(f"{experiment.name}: capacity fade")
axis.legend()
figure.tight_layout()
target = os.environ.get("CAPACITY_FADE_PNG", "capacity-fade.png")
figure.savefig(target, dpi=100)
print(f"plot written to {target}")
