// contract model: the picture of every device, built from the contract's topics, for the control UI.
//
// Input (msg.topic):
//   labdcs/v1/<device>/meta | online | ack, labdcs/v1/<device>/<channel>/state,
//   labdcs/v1/<device>/alarm/<alarm>   payload: the message as a string ("" removes a retained one)
//   labdcs-ui/command   payload: a command record from the "command" node (sent or refused)
//   tick                checks for commands whose ack is overdue
// Output: { payload: snapshot } at most every SNAPSHOT_MS, to the control UI (ui-template).
// Nothing about devices is configured here: a device appears when its retained meta arrives.
//
// The topic is the identity, as in every reader of the contract (labdcs.contract.identity): the
// device, channel and alarm are the topic's; a payload naming others is refused, as is one over the
// contract's size budget (before parsing), and a state of a channel the device's meta does not
// declare. A device keeps at most MAX_CHANNELS_PER_DEVICE states before its meta arrives and
// MAX_ALARMS_PER_DEVICE alarms, and there are at most MAX_DEVICES. Refusals are counted (model.refused, by why) and shown in the node's status.
// tests/nodered/test_contract_model.py checks these numbers against labdcs.contract.limits.

const PREFIX = 'labdcs/v1/'
const SNAPSHOT_MS = 250
const ACK_TIMEOUT_MS = 10000
const MAX_COMMANDS = 30
const MAX_BYTES = { meta: 1048576, online: 16384, ack: 16384, alarm: 16384, state: 131072 }
const MAX_CHANNELS_PER_DEVICE = 128
const MAX_DEVICES = 4096
const MAX_ALARMS_PER_DEVICE = 544

const model = flow.get('model') || { devices: {}, commands: [], malformed: 0 }
model.refused = model.refused || {}

/** Count a refusal by why; the first ones (and every thousandth) are logged, a flood is not. */
function refuse (why, text) {
    model.refused[why] = (model.refused[why] || 0) + 1
    const count = model.refused[why]
    if (count <= 10 || count % 1000 === 0) {
        node.warn(`refused (${why}, ${count} so far): ${text}`)
    }
    return false
}

/** Why a payload names another device, alarm or channel than its topic (or declares one twice). */
function mismatch (kind, id, alarm, message) {
    if (['meta', 'ack', 'alarm'].includes(kind) && message.device !== id) {
        return `the ${kind} names device '${message.device}' but came on the topic of device '${id}'`
    }
    if (kind === 'alarm' && message.alarm !== alarm) {
        return `the alarm names alarm '${message.alarm}' but came on the topic of alarm '${alarm}'`
    }
    if (kind === 'meta') {
        const ids = (Array.isArray(message.channels) ? message.channels : []).map((c) => c && c.id)
        if (new Set(ids).size !== ids.length || ids.length > MAX_CHANNELS_PER_DEVICE) {
            return `the meta of '${id}' declares a channel twice or more than ${MAX_CHANNELS_PER_DEVICE} channels`
        }
    }
    return null
}

/** Why a state is not taken: its channel is not in the device's meta (of that kind), or too many. */
function undeclared (entry, channel, message) {
    if (entry.meta) {
        const declared = (entry.meta.channels || []).find((c) => c.id === channel)
        if (!declared) {
            return `'${entry.id}' does not declare a channel '${channel}' in its meta`
        }
        if (declared.kind !== message.kind) {
            return `'${entry.id}/${channel}' is a ${declared.kind} channel in its meta, not a ${message.kind} one`
        }
        return null
    }
    if (!(channel in entry.states) && Object.keys(entry.states).length >= MAX_CHANNELS_PER_DEVICE) {
        return `'${entry.id}' has no meta and ${MAX_CHANNELS_PER_DEVICE} channels already`
    }
    return null
}

function device (id) {
    if (!model.devices[id]) {
        model.devices[id] = { id, meta: null, online: null, reason: null, states: {}, alarms: {} }
    }
    return model.devices[id]
}

/** A retained topic emptied (device removed from the bench): forget it; drop a device left empty. */
function forget (id, kind, channel, alarm) {
    const entry = model.devices[id]
    if (!entry) {
        return
    }
    if (kind === 'meta') {
        entry.meta = null
    } else if (kind === 'online') {
        entry.online = null
    } else if (kind === 'state') {
        delete entry.states[channel]
    } else if (kind === 'alarm') {
        delete entry.alarms[alarm]
    }
    if (!entry.meta && entry.online === null && !Object.keys(entry.states).length && !Object.keys(entry.alarms).length) {
        delete model.devices[id]
    }
}

function onContract (topic, text) {
    const levels = topic.slice(PREFIX.length).split('/')
    let kind
    let channel = null
    let alarm = null
    if (levels.length === 2 && ['meta', 'online', 'ack'].includes(levels[1])) {
        kind = levels[1]
    } else if (levels.length === 3 && levels[1] === 'alarm') {
        kind = 'alarm'
        alarm = levels[2]
    } else if (levels.length === 3 && levels[2] === 'state') {
        kind = 'state'
        channel = levels[1]
    } else {
        return false // another topic kind of a later contract release: not for this UI
    }
    const id = levels[0]
    if (text === '') {
        forget(id, kind, channel, alarm)
        return true
    }
    const size = typeof Buffer === 'undefined' ? text.length : Buffer.byteLength(text, 'utf8')
    if (size > MAX_BYTES[kind]) {
        return refuse('oversize', `${topic}: ${size} bytes, more than the contract's ${MAX_BYTES[kind]}`)
    }
    let message
    try {
        message = JSON.parse(text)
        if (typeof message !== 'object' || message === null || Array.isArray(message)) {
            throw new Error('not a JSON object')
        }
    } catch (err) {
        model.malformed += 1
        node.warn(`malformed message on ${topic}: ${err.message}`)
        return false
    }
    const forged = mismatch(kind, id, alarm, message)
    if (forged) {
        return refuse('identity', `${topic}: ${forged}`)
    }
    if (kind === 'ack') {
        const record = model.commands.find((c) => c.id === message.id && c.device === id)
        if (!record || record.result === 'accepted' || record.result === 'rejected' || record.result === 'failed') {
            return false // not ours, or a repeated ack (QoS 1): the first one is the answer
        }
        record.result = message.result
        record.reason = message.reason || null
        record.answered = message.ts || Date.now()
        return true
    }
    if (!model.devices[id] && Object.keys(model.devices).length >= MAX_DEVICES) {
        return refuse('devices', `${topic}: ${MAX_DEVICES} devices known already`)
    }
    const entry = device(id)
    if (kind === 'state') {
        const why = undeclared(entry, channel, message)
        if (why) {
            return refuse('undeclared', `${topic}: ${why}`)
        }
    }
    if (kind === 'alarm' && !(alarm in entry.alarms) && Object.keys(entry.alarms).length >= MAX_ALARMS_PER_DEVICE) {
        return refuse('alarms', `${topic}: '${id}' has ${MAX_ALARMS_PER_DEVICE} alarms already`)
    }
    if (kind === 'meta') {
        entry.meta = message
        for (const known of Object.keys(entry.states)) {
            if (undeclared(entry, known, entry.states[known])) {
                delete entry.states[known] // no longer declared: its state goes with it
            }
        }
    } else if (kind === 'online') {
        entry.online = message.online === true
        entry.reason = message.reason || (message.online === false && message.ts === undefined ? 'connection lost' : null)
    } else if (kind === 'state') {
        entry.states[channel] = message
    } else if (kind === 'alarm') {
        entry.alarms[alarm] = message
    }
    return true
}

function onCommand (record) {
    // A published command is already recorded by the command node (before publishing, so that an
    // immediate ack finds it); a refused one is recorded here.
    if (!model.commands.some((c) => c.id === record.id)) {
        model.commands.unshift(record)
    }
    model.commands.length = Math.min(model.commands.length, MAX_COMMANDS)
    return true
}

function onTick () {
    let changed = false
    const now = Date.now()
    for (const record of model.commands) {
        if (record.result === 'pending' && now - record.sent > ACK_TIMEOUT_MS) {
            record.result = 'timeout'
            record.reason = `no ack within ${ACK_TIMEOUT_MS / 1000} s: is the device service running?`
            changed = true
        }
    }
    return changed
}

function channelView (meta, entry) {
    const units = {}
    const types = {}
    const descriptions = {}
    for (const quantity of meta.quantities || []) {
        units[quantity.name] = quantity.unit
        types[quantity.name] = quantity.type || 'number'
        descriptions[quantity.name] = quantity.description || ''
    }
    const commands = {}
    for (const command of meta.commands || []) {
        commands[command.verb] = {
            value: command.value,
            unit: command.unit || '',
            min: command.min,
            max: command.max,
            description: command.description || ''
        }
    }
    return {
        id: meta.id,
        label: meta.label || '',
        kind: meta.kind,
        units,
        types,
        descriptions,
        quantities: (meta.quantities || []).map((q) => q.name),
        limits: meta.limits || null,
        commands,
        state: entry.states[meta.id] || null,
        inhibitedBy: []
    }
}

/** Every interlock rule's retained state by rule name: [{ interlock, state }] (two interlocks may
 *  both have a rule of that name). */
function ruleStates () {
    const rules = {}
    for (const entry of Object.values(model.devices)) {
        for (const [name, state] of Object.entries(entry.states)) {
            if (state.kind === 'rule') {
                (rules[name] = rules[name] || []).push({ interlock: entry.id, state })
            }
        }
    }
    return rules
}

/**
 * Who inhibits a power channel, and why, from its state's `inhibit` (which names the rules, or the
 * watchdog) and the rules' own retained states. The reason shown is the rule state's, not the copy
 * in the device's text: the device republishes its text only when the set of rules changes.
 * Returns [{ rule, interlock, status, reason }], then { rule: null, watchdog: true, reason } for
 * the watchdog; a text naming neither is passed on as { rule: null, watchdog: false, reason }.
 */
function inhibitors (deviceId, channelId, inhibit, rules) {
    const names = []
    const long = /interlock rules? (.+?) in force/.exec(inhibit) // "interlock rule 'a' in force (why)"
    if (long) {
        names.push(...[...long[1].matchAll(/'([^']+)'/g)].map((m) => m[1]))
    }
    names.push(...[...inhibit.matchAll(/(?:^|, )rule ([a-z0-9][a-z0-9_-]*)/g)].map((m) => m[1])) // "rule a, watchdog"
    const targets = (state) => (state.targets || []).some((t) => t.device === deviceId && t.channel === channelId)
    const watchdog = /(?:^|; |, )watchdog(?:: (.*))?$/.exec(inhibit)
    if (!names.length && !watchdog) {
        // A text this UI cannot read: the active rules that name the channel say the same.
        for (const [name, list] of Object.entries(rules)) {
            if (list.some(({ state }) => state.active && targets(state))) {
                names.push(name)
            }
        }
    }
    const found = [...new Set(names)].map((rule) => {
        const list = rules[rule] || []
        const known = list.find(({ state }) => targets(state)) || list[0]
        if (!known) {
            return { rule, interlock: null, status: null, reason: null } // its state has not arrived
        }
        const state = known.state
        return { rule, interlock: known.interlock, status: state.status, reason: state.reason || state.detail || null }
    })
    if (watchdog) {
        found.push({ rule: null, watchdog: true, reason: watchdog[1] || "the interlock's heartbeat is missing" })
    }
    if (!found.length) {
        found.push({ rule: null, watchdog: false, reason: inhibit })
    }
    return found
}

function snapshot () {
    const rules = ruleStates()
    const devices = Object.values(model.devices)
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((entry) => {
            const meta = entry.meta || {}
            const channels = (meta.channels || []).map((channel) => channelView(channel, entry))
            // States of channels the meta does not (yet) describe are shown as they are.
            for (const id of Object.keys(entry.states)) {
                if (!channels.some((c) => c.id === id)) {
                    channels.push(channelView({ id, kind: entry.states[id].kind }, entry))
                }
            }
            for (const channel of channels) {
                if (channel.state && typeof channel.state.inhibit === 'string' && channel.state.inhibit) {
                    channel.inhibitedBy = inhibitors(entry.id, channel.id, channel.state.inhibit, rules)
                }
            }
            return {
                id: entry.id,
                kind: meta.kind || null,
                model: meta.model || null,
                description: meta.description || '',
                described: Boolean(entry.meta),
                online: entry.online === true,
                reason: entry.reason,
                channels
            }
        })
    const severity = { critical: 0, error: 1, warning: 2, info: 3 }
    const alarms = Object.values(model.devices)
        .flatMap((entry) => Object.values(entry.alarms))
        .filter((alarm) => alarm.active)
        .sort((a, b) => (severity[a.severity] ?? 9) - (severity[b.severity] ?? 9) || a.raised - b.raised)
    return { devices, alarms, commands: model.commands, malformed: model.malformed, refused: model.refused, ts: Date.now() }
}

let changed
if (msg.topic === 'labdcs-ui/command') {
    changed = onCommand(msg.payload)
} else if (msg.topic === 'tick') {
    changed = onTick()
} else if (typeof msg.topic === 'string' && msg.topic.startsWith(PREFIX)) {
    changed = onContract(msg.topic, typeof msg.payload === 'string' ? msg.payload : String(msg.payload ?? ''))
}
flow.set('model', model)
// One snapshot per SNAPSHOT_MS at most. The time it was scheduled is kept rather than the timer,
// so that a timer lost to a redeploy cannot block the snapshots.
const scheduled = context.get('scheduled') || 0
if (changed && Date.now() - scheduled > 4 * SNAPSHOT_MS) {
    context.set('scheduled', Date.now())
    setTimeout(() => {
        context.set('scheduled', 0)
        node.send({ payload: JSON.parse(JSON.stringify(snapshot())) })
        const devices = Object.values(model.devices)
        const refused = Object.values(model.refused).reduce((sum, n) => sum + n, 0)
        node.status({
            fill: refused ? 'yellow' : 'green',
            shape: 'dot',
            text: `${devices.filter((d) => d.online).length}/${devices.length} devices online` +
                (refused ? `, ${refused} messages refused (see the log)` : '')
        })
    }, SNAPSHOT_MS)
}
return null
