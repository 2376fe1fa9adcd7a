"""The experiment queue: starts queued experiments on idle stations and follows them to their end.

It reads only the MQTT contract: a cycler's retained ``meta`` registers the station (channels and
limits), ``online`` says whether it can take work, each channel's ``state`` says whether it is idle
and where a run is, and ``stats`` carries the per-cycle statistics. To start an experiment it sends
``load_protocol`` (the protocol with the experiment's capacity bound, and the experiment id) then
``start`` through :class:`~labdcs.client.ContractClient`, which waits for each ack; a refusal ends
the experiment in ERROR with the station's reason. The station tags every state with the
experiment id, so the time series of one experiment are one InfluxDB tag.

Everything arriving from the broker goes through one worker thread (paho's thread only queues), so
store writes never race; progress is written at most once per ``progress_period`` per experiment,
status changes at once.

The topic is the identity (:mod:`labdcs.contract.identity`): a station is registered under its
meta's topic, states and stats are taken only from the channels its meta declares, and a stats or
state naming an experiment that runs elsewhere is refused, counted in :attr:`QueueWorker.refused` and
written to the experiment's audit (an attempted forgery of its data). The per-channel table holds
declared channels only and forgets a station's channels when its meta is cleared.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass

from labdcs.client import ContractClient, NoAck
from labdcs.contract import topics
from labdcs.contract.codec import ContractError, IdentityError, OversizeError, decode
from labdcs.contract.identity import Declared, foreign_run
from labdcs.contract.models import (
    Ack,
    AckResult,
    CyclerChannelState,
    CyclerRunState,
    CyclerStats,
    DeviceKind,
    DeviceMeta,
    Online,
    StatsScope,
    Verb,
)
from labdcs.contract.topics import TopicInfo, TopicKind
from labdcs.experiments.documents import (
    CycleStat,
    Experiment,
    Limits,
    Progress,
    Station,
    StationChannel,
    Status,
    now_ms,
)
from labdcs.experiments.store import NotFound, Store, StoreError
from labdcs.mqtt.connection import MessageHandler
from labdcs.protocols import Protocol
from labdcs.settings import MqttSettings

log = logging.getLogger(__name__)

_RUN_TO_STATUS = {
    CyclerRunState.RUNNING: Status.RUNNING,
    CyclerRunState.PAUSED: Status.PAUSED,
    CyclerRunState.FINISHED: Status.FINISHED,
    CyclerRunState.ABORTED: Status.ABORTED,
    CyclerRunState.ERROR: Status.ERROR,
}
_IDLE_STATES = (CyclerRunState.IDLE, CyclerRunState.FINISHED, CyclerRunState.ABORTED, CyclerRunState.ERROR)
_VERBS = {"pause": Verb.PAUSE, "resume": Verb.RESUME, "stop": Verb.STOP}
#: s between two audit entries for forgeries of one experiment by one station (the count goes on).
FORGERY_AUDIT_PERIOD_S = 60.0
#: The principal of what the queue does on its own (load and start a run, record its end); its
#: commands go out under the manager's broker login, claiming this name.
QUEUE_PRINCIPAL = "experiments-queue"


class CommandRefused(StoreError):
    """A pause/resume/stop that cannot be sent or that the station rejected."""


@dataclass
class _Channel:
    state: CyclerChannelState | None = None
    last_progress: float = 0.0


class QueueWorker:
    """Runs in a thread of ``labdcs experiments serve``: :meth:`start`, :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        mqtt: MqttSettings,
        *,
        progress_period: float = 1.0,
        tick: float = 0.5,
        command_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.client = ContractClient(mqtt, name="experiments")
        self.progress_period = progress_period
        self.tick = tick
        self.command_timeout = command_timeout
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=100_000)
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._online: dict[str, bool] = {}
        self.declared = Declared()
        #: Messages refused, by why: oversize, identity (names another device), undeclared (a channel
        #: the meta does not declare), forgery (an experiment that runs elsewhere).
        self.refused: Counter[str] = Counter()
        self._forgery_audited: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        #: Also handed every message as it arrives, from paho's thread (the live monitor).
        self.taps: list[MessageHandler] = []
        for topic_filter in (topics.ALL_META, topics.ALL_ONLINE, topics.ALL_STATE, topics.ALL_STATS):
            self.client.connection.subscribe(topic_filter, self._enqueue)

    @property
    def channel_count(self) -> int:
        """Station channels followed now (declared by a retained meta, see the module docstring)."""
        return len(self._channels)

    @property
    def inbox_size(self) -> int:
        """Messages received and not handled yet."""
        return self._inbox.qsize()

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self._recover()
        self.client.connection.start()  # connects in the background; the broker may come later
        self._thread = threading.Thread(target=self._run, name="experiments-queue", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.client.stop()

    def _recover(self) -> None:
        """Claims left by a previous process that stopped between claim and start go back in the queue."""
        stale, _ = self.store.experiments(status=[Status.QUEUED.value], limit=0)
        for experiment in stale:
            if experiment.claimed is not None:
                self.store.release_claim(experiment.id)

    # --- incoming messages ------------------------------------------------------------------------

    def _enqueue(self, topic: str, payload: bytes, retained: bool) -> None:
        for tap in self.taps:
            tap(topic, payload, retained)
        try:
            self._inbox.put_nowait((topic, payload))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                topic, payload = self._inbox.get(timeout=self.tick / 2)
            except queue.Empty:
                pass
            else:
                try:
                    self._handle(topic, payload)
                except Exception:
                    log.exception("queue: cannot handle a message on %s", topic)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.tick
                try:
                    self._start_waiting()
                except Exception:
                    log.exception("queue: cannot start waiting experiments")

    def _drain(self) -> None:
        """Handle every message already received (in the worker thread, like :meth:`_run`)."""
        for _ in range(self._inbox.qsize()):
            try:
                topic, payload = self._inbox.get_nowait()
            except queue.Empty:
                return
            try:
                self._handle(topic, payload)
            except Exception:
                log.exception("queue: cannot handle a message on %s", topic)

    def _handle(self, topic: str, payload: bytes) -> None:
        if not payload:
            self._on_cleared(topic)
            return
        try:
            info, message = decode(topic, payload)
        except (OversizeError, IdentityError) as exc:
            self._refuse("oversize" if isinstance(exc, OversizeError) else "identity", str(exc))
            return
        except ContractError as exc:
            log.debug("ignored: %s", exc)
            return
        if info.kind in (TopicKind.STATE, TopicKind.STATS) and isinstance(
            message, CyclerChannelState | CyclerStats
        ):
            undeclared = self.declared.undeclared(info, message)
            if undeclared is not None:
                self._refuse("undeclared", undeclared)
                return
        if info.kind is TopicKind.META and isinstance(message, DeviceMeta):
            self._on_meta(info.device, message)
        elif info.kind is TopicKind.ONLINE and isinstance(message, Online):
            self._online[info.device] = message.online
            self.store.set_station_online(info.device, message.online)
        elif info.kind is TopicKind.STATE and isinstance(message, CyclerChannelState):
            assert info.channel is not None
            self._on_state(info, message)
        elif info.kind is TopicKind.STATS and isinstance(message, CyclerStats):
            self._on_stats(info, message)

    def _refuse(self, why: str, reason: str) -> None:
        self.refused[why] += 1
        count = self.refused[why]
        if count <= 10 or count % 1000 == 0:  # a flood is counted, not logged line by line
            log.warning("queue: refused (%s, %d so far): %s", why, count, reason)

    def _on_cleared(self, topic: str) -> None:
        """A cleared meta (the device is gone): forget its channels; a cleared state: that channel."""
        info = topics.parse(topic)
        if info is None:
            return
        if info.kind is TopicKind.META:
            self.declared.update(info.device, None)
            self._online.pop(info.device, None)
            for key in [key for key in self._channels if key[0] == info.device]:
                del self._channels[key]
        elif info.kind is TopicKind.STATE and info.channel is not None:
            self._channels.pop((info.device, info.channel), None)

    def _on_meta(self, device: str, meta: DeviceMeta) -> None:
        """Register the station under its topic's id (never the payload's, see the module docstring)."""
        gone = self.declared.update(device, meta if meta.kind is DeviceKind.CYCLER else None)
        for channel_id in gone:
            self._channels.pop((device, channel_id), None)
        if meta.kind is not DeviceKind.CYCLER:
            return
        channels = []
        for channel in meta.channels:
            limits = channel.cycler_limits
            channels.append(
                StationChannel(
                    id=channel.id,
                    label=channel.label,
                    limits=Limits(
                        v_min=limits.v_min,
                        v_max=limits.v_max,
                        i_charge_max=limits.i_max if limits.i_max > 0 else None,
                        i_discharge_max=-limits.i_min if limits.i_min < 0 else None,
                        t_max_c=limits.t_max,
                    )
                    if limits
                    else Limits(),
                    capacity_ah=limits.capacity if limits else None,
                )
            )
        identity = meta.identity
        devices = [f"{identity.manufacturer} {identity.model} {identity.serial}".strip()] if identity else []
        station = Station(
            id=device,
            model=meta.model,
            description=meta.description,
            driver=meta.driver,
            devices=devices,
            channels=channels,
            online=self._online.get(device, True),
        )
        self.store.upsert_station(station)

    def _on_state(self, info: TopicInfo, state: CyclerChannelState) -> None:
        device, channel_id = info.device, info.channel
        assert channel_id is not None
        channel = self._channels.setdefault((device, channel_id), _Channel())
        channel.state = state
        if state.experiment is None:
            return
        try:
            experiment = self.store.experiment(state.experiment)
        except NotFound:
            return  # a run started by someone else: not ours to record
        if self._forged(info, experiment):
            return
        if experiment.status.ended:
            return
        status = _RUN_TO_STATUS.get(state.run_state)
        changes: dict[str, object] = {}
        if status is not None and experiment.started is None:
            # The first state of the run, whatever the status already says (the queue marks it
            # running when the station accepts start): the start on the station's clock.
            changes["started"] = int(state.ts - state.test_time * 1000)
        if status is not None and status is not experiment.status:
            changes["status"] = status.value
            if status.ended:
                changes["finished"] = state.ts
                changes["end_reason"] = state.step_end_reason
                changes["claimed"] = None
        now = time.monotonic()
        if changes or (status is not None and now - channel.last_progress >= self.progress_period):
            channel.last_progress = now
            changes["progress"] = Progress(
                ts=state.ts,
                cycle_index=state.cycle_index,
                step_index=state.step_index,
                step_type=state.step_type,
                test_time=state.test_time,
                voltage=state.voltage,
                current=state.current,
                temperature=state.temperature,
                charge_capacity=state.charge_capacity,
                discharge_capacity=state.discharge_capacity,
            ).model_dump(mode="json")
            self.store.update_experiment(experiment.id, changes)
        if "status" in changes:
            log.info("experiment %s: %s", experiment.id, changes["status"])
            if status is not None and status.ended:
                self.store.audit(
                    "end", experiment.id, None, status.value, state.step_end_reason, principal=QUEUE_PRINCIPAL
                )

    def _forged(self, info: TopicInfo, experiment: Experiment) -> bool:
        """True (refused, counted, audited) when the message names an experiment that runs elsewhere."""
        assert info.channel is not None
        reason = foreign_run(info, experiment.id, experiment.station, experiment.channel)
        if reason is None:
            return False
        self._refuse("forgery", reason)
        key = (info.device, experiment.id)
        now = time.monotonic()
        if now - self._forgery_audited.get(key, -FORGERY_AUDIT_PERIOD_S) >= FORGERY_AUDIT_PERIOD_S:
            if len(self._forgery_audited) >= 1000:
                self._forgery_audited.clear()
            self._forgery_audited[key] = now
            self.store.audit(f"forged {info.kind.value}", experiment.id, info.device, "refused", reason)
        return True

    def _on_stats(self, info: TopicInfo, stats: CyclerStats) -> None:
        if stats.scope is not StatsScope.CYCLE or stats.experiment is None:
            return
        try:
            experiment = self.store.experiment(stats.experiment)
        except NotFound:
            return
        if self._forged(info, experiment):
            return
        # The document keeps the message's cycle figures under the same names.
        figures = stats.model_dump(include=set(CycleStat.model_fields) & set(CyclerStats.model_fields))
        figures["experiment"] = stats.experiment
        self.store.put_cycle(CycleStat(id=f"{stats.experiment}:{stats.cycle_index}", **figures))

    # --- starting ---------------------------------------------------------------------------------

    def idle(self, device: str, channel_id: str) -> bool:
        """The station channel can take a new run: online, not in fault, not running or paused."""
        channel = self._channels.get((device, channel_id))
        if not self._online.get(device) or channel is None or channel.state is None:
            return False
        state = channel.state
        return state.fault is None and state.run_state in _IDLE_STATES

    def _start_waiting(self) -> None:
        """One store query per tick; the idle channels that have queued work are looked at further."""
        waiting = self.store.queued_channels()
        for device, channel_id in waiting:
            if not self.idle(device, channel_id):
                continue
            if self.store.active_experiment(device, channel_id) is not None:
                continue
            experiment = self.store.claim_next(device, channel_id)
            if experiment is not None:
                self._launch(experiment)

    def _launch(self, experiment: Experiment) -> None:
        """load_protocol + start; ERROR with the station's reason when it refuses."""
        try:
            protocol = Protocol.model_validate(self.store.protocol(experiment.protocol).document)
            cell = self.store.cell(experiment.cell)
            _, nominal = self.store.cell_envelope(cell)
        except (StoreError, ValueError) as exc:
            self._fail(experiment, f"cannot prepare the run: {exc}")
            return
        capacity = experiment.capacity_ah or protocol.parameters.capacity_ah or nominal
        bound = protocol.model_copy(
            update={"parameters": protocol.parameters.model_copy(update={"capacity_ah": capacity})}
        )
        for verb, extra in (
            (Verb.LOAD_PROTOCOL, {"protocol": bound.to_document(), "experiment": experiment.id}),
            (Verb.START, {"experiment": experiment.id}),
        ):
            try:
                ack = self.client.command(
                    experiment.station,
                    experiment.channel,
                    verb.value,
                    timeout=self.command_timeout,
                    user=QUEUE_PRINCIPAL,
                    **extra,
                )
            except (NoAck, ConnectionError) as exc:
                log.warning("experiment %s: %s not acknowledged (%s); will retry", experiment.id, verb, exc)
                self.store.release_claim(experiment.id)
                return
            self.store.audit(
                verb.value, experiment.id, None, ack.result.value, ack.reason, principal=QUEUE_PRINCIPAL
            )
            if ack.result is not AckResult.ACCEPTED:
                self._fail(experiment, f"station refused {verb.value}: {ack.reason}")
                return
        # The station publishes its first running state before it acks start: handle what has
        # arrived, so the experiment turns running together with its start time.
        self._drain()
        self.store.update_experiment(experiment.id, {"status": Status.RUNNING.value}, expect=[Status.QUEUED])
        log.info("experiment %s started on %s/%s", experiment.id, experiment.station, experiment.channel)

    def _fail(self, experiment: Experiment, reason: str) -> None:
        log.warning("experiment %s: %s", experiment.id, reason)
        self.store.update_experiment(
            experiment.id,
            {"status": Status.ERROR.value, "end_reason": reason, "finished": now_ms(), "claimed": None},
        )

    # --- operator commands ------------------------------------------------------------------------

    def command(
        self, experiment_id: str, action: str, user: str | None = None, principal: str | None = None
    ) -> Ack | None:
        """pause, resume or stop an experiment; stopping a queued one takes it out of the queue.
        ``principal``: the web login asking, ``user``: the person it named; both are audited, and the
        station's command claims them (the station audits the manager's broker login next to it)."""
        verb = _VERBS.get(action)
        if verb is None:
            raise CommandRefused(f"unknown action {action!r}; use pause, resume or stop")
        if action == "stop" and self.store.dequeue(experiment_id, user, principal):
            return None
        experiment = self.store.experiment(experiment_id)
        if not experiment.status.active:
            reason = f"experiment is {experiment.status.value}"
            self.store.audit(action, experiment_id, user, "rejected", reason, principal=principal)
            raise CommandRefused(
                f"cannot {action} experiment {experiment_id}: it is {experiment.status.value}"
            )
        try:
            # What the station's command claims: the web login, and the person it named ("admin for
            # alice"); the station audits it next to the manager's own broker login.
            claim = (
                f"{principal} for {user}" if principal and user and user != principal else principal or user
            )
            ack = self.client.command(
                experiment.station, experiment.channel, verb.value, timeout=self.command_timeout, user=claim
            )
        except (NoAck, ConnectionError) as exc:
            self.store.audit(action, experiment_id, user, "no answer", str(exc), principal=principal)
            raise CommandRefused(f"station {experiment.station} did not answer: {exc}") from None
        self.store.audit(action, experiment_id, user, ack.result.value, ack.reason, principal=principal)
        if ack.result is not AckResult.ACCEPTED:
            raise CommandRefused(f"station refused {action}: {ack.reason}")
        return ack
